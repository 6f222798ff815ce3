"""Model cards: generated from what the platform knows, plus sections people wrote.

The generated parts (description, intended use, owners, signature, training metrics,
lineage, environment) are rebuilt every time. User-written sections are stored with the
version and kept; in the Markdown they sit between ``<!-- user: Title -->`` and
``<!-- /user -->`` markers, and editing a card file and passing it back keeps them.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from shipway.records import ModelVersion, RegisteredModel

USER_BLOCK = re.compile(r"<!-- user: (?P<title>.+?) -->\n(?P<body>.*?)\n?<!-- /user -->", re.S)


def build(
    model: RegisteredModel,
    version: ModelVersion,
    lineage: dict[str, Any],
    package: dict[str, Any],
    sections: dict[str, str],
) -> dict[str, Any]:
    """The card as JSON-ready data."""
    return {
        "model": model.name,
        "version": version.version,
        "uri": version.uri,
        "aliases": version.aliases,
        "description": version.description or model.description,
        "intended_use": model.tags.get("intended_use", ""),
        "owners": model.owners,
        "flavor": version.flavor,
        "signature": package.get("signature"),
        "input_example": package.get("input_example"),
        "predict_proba": package.get("predict_proba"),
        "classes": package.get("classes"),
        "metrics": lineage["run"]["metrics"],
        "params": lineage["run"]["params"],
        "lineage": {
            "run": {k: lineage["run"][k] for k in ("id", "name", "experiment", "user")},
            "git": lineage["git"],
            "inputs": lineage["inputs"],
            "parents": lineage["parents"],
        },
        "environment": package.get("requirements"),
        "created_at": version.created_at,
        "created_by": version.created_by,
        "sections": sections,
    }


def user_sections(markdown: str) -> dict[str, str]:
    """The user-written sections of a card file."""
    return {m["title"].strip(): m["body"].strip() for m in USER_BLOCK.finditer(markdown)}


def _when(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _signature_table(signature: Any) -> list[str]:
    if not signature:
        return ["No signature was recorded: inputs are not validated."]
    inputs = signature.get("inputs")
    lines = ["| input | type | nullable | values |", "|---|---|---|---|"]
    if isinstance(inputs, dict):  # a tensor
        return [f"Tensor input: `{inputs.get('dtype')}` with shape `{inputs.get('shape')}`."]
    for col in inputs or []:
        values = ", ".join(str(v) for v in col.get("categories") or [])
        lines.append(
            f"| {col.get('name')} | {col.get('type')} | {'yes' if col.get('nullable') else 'no'}"
            f" | {values} |"
        )
    outputs = signature.get("outputs") or []
    if outputs:
        lines += ["", "| output | type |", "|---|---|"]
        lines += [f"| {o.get('name')} | {o.get('type')} |" for o in outputs]
    return lines


def markdown(card: dict[str, Any]) -> str:
    lines = [f"# Model card: {card['model']} v{card['version']}", ""]
    if card["aliases"]:
        lines.append(f"Aliases: {', '.join(card['aliases'])}.  ")
    lines += [
        f"Registered {_when(card['created_at'])} by {card['created_by']}; flavor "
        f"`{card['flavor']}`; `{card['uri']}`.",
        "",
        "## Description",
        "",
        card["description"] or "_No description yet._",
        "",
        "## Intended use",
        "",
        card["intended_use"] or "_Not stated (set the registered model's `intended_use` tag)._",
        "",
        "## Owners",
        "",
        ", ".join(card["owners"]) or "_None recorded._",
        "",
        "## Signature",
        "",
        *_signature_table(card["signature"]),
        "",
    ]
    if card.get("classes"):
        lines += [f"Classes: {', '.join(str(c) for c in card['classes'])}.", ""]
    lines += ["## Training metrics", ""]
    if card["metrics"]:
        lines += ["| metric | value |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in sorted(card["metrics"].items())]
    else:
        lines.append("_No metrics were logged by the training run._")
    lineage = card["lineage"]
    git = lineage["git"]
    lines += [
        "",
        "## Lineage",
        "",
        f"- run `{lineage['run']['id']}` ({lineage['run']['name']}) in experiment "
        f"`{lineage['run']['experiment']}`, by {lineage['run']['user']}",
    ]
    if git.get("commit"):
        dirty = " (uncommitted changes)" if git.get("dirty") else ""
        lines.append(f"- code: commit `{git['commit']}` on `{git.get('branch')}`{dirty}")
    for item in lineage["inputs"]:
        lines.append(f"- data ({item['context']}): `{item['dataset']}`")
    for parent in lineage["parents"]:
        lines.append(f"- parent run `{parent['id']}` ({parent['name']})")
    env = card["environment"] or {}
    lines += ["", "## Environment", ""]
    if env:
        lines.append(f"Python {env.get('python', '?')}.")
        packages = env.get("packages") or {}
        lines += [f"- {name}=={ver}" for name, ver in sorted(packages.items())]
    else:
        lines.append("_Not recorded._")
    lines += _governance(card.get("governance"))
    for title, body in card["sections"].items():
        lines += ["", f"## {title}", "", f"<!-- user: {title} -->", body, "<!-- /user -->"]
    return "\n".join(lines) + "\n"


def _governance(governance: dict[str, Any] | None) -> list[str]:
    """The contract's view of the version (added by the contracts layer), and reviews."""
    if not governance:
        return []
    lines: list[str] = []
    if governance.get("contract_version"):
        lines += ["", "## Contract and sign-offs", ""]
        lines.append(
            f"Contract version {governance['contract_version']}: {governance['objective']}"
        )
        report = governance.get("gate_report")
        if report is None:
            lines.append("- gate report: none yet")
        else:
            old = "" if report["current"] else " (under an older contract version)"
            lines.append(f"- gate report #{report['id']}: {report['status']}{old}")
        for a in governance.get("approvals") or []:
            verb = "signed off" if a["decision"] == "approve" else "rejected"
            comment = f": {a['comment']}" if a["comment"] else ""
            lines.append(f"- {a['actor']} ({a['role']}) {verb} {_when(a['created_at'])}{comment}")
        production = governance.get("production") or {}
        if production.get("ready"):
            lines.append("- may be promoted to production")
        elif production.get("missing"):
            lines.append("- before production: " + "; ".join(production["missing"]))
    reviews = governance.get("reviews") or []
    if reviews:
        lines += ["", "## Reviews", ""]
        for r in reviews:
            stars = f"{r['rating']}/5 " if r.get("rating") else ""
            lines.append(f"- {r['actor']}, {_when(r['created_at'])}: {stars}{r['comment']}")
    return lines
