"""Data sheets: a profile, or the diff of two profiles, as Markdown for people to read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shipway.datasets.profile import KINDS, NUMERIC, Profile

# --- markdown ------------------------------------------------------------------------------

_SPARK = "▁▂▃▄▅▆▇█"


def profile_to_markdown(profile: Profile, title: str) -> str:
    """A data sheet: the schema, statistics by kind of column, and the top values."""
    columns = profile["columns"]
    lines = [
        f"# {_cell(title)}",
        "",
        f"Format: {profile['format']} · Rows: {_fmt(profile['rows'])} · Columns: {len(columns)}",
    ]
    for heading, kinds, header, row in _SECTIONS:
        selected = [c for c in columns if c["type"] in kinds]
        if selected:
            lines += ["", f"## {heading}", "", *_table(header, [row(c) for c in selected])]
    lines += _top_sections(profile)
    return "\n".join(lines) + "\n"


def _numeric_row(column: Profile) -> list[str]:
    quantiles = column.get("quantiles") or {}
    return [
        column["name"],
        *(_fmt(column.get(k)) for k in ("min", "max", "mean", "std")),
        *(_fmt(quantiles.get(str(q))) for q in (0.05, 0.5, 0.95)),
        _fmt(column["nan_count"] + column["inf_count"]) if "nan_count" in column else "—",
        _sparkline(column.get("histogram")),
    ]


_SECTIONS: list[tuple[str, tuple[str, ...], list[str], Callable[[Profile], list[str]]]] = [
    (
        "Schema",
        KINDS,
        ["column", "type", "arrow type", "nullable", "nulls", "null share"],
        lambda c: [
            *(c[k] for k in ("name", "type", "arrow_type")),
            *(_fmt(c[k]) for k in ("nullable", "null_count")),
            _pct(c["null_share"]),
        ],
    ),
    (
        "Numbers",
        NUMERIC,
        ["column", "min", "max", "mean", "std", "p5", "median", "p95", "NaN/inf", "histogram"],
        _numeric_row,
    ),
    (
        "Text and categories",
        ("string", "category"),
        ["column", "distinct", "shortest", "longest"],
        lambda c: [
            c["name"],
            _fmt(c.get("distinct_count")),
            _fmt(c.get("min_length")),
            _fmt(c.get("max_length")),
        ],
    ),
    (
        "Booleans",
        ("bool",),
        ["column", "true", "false", "true share"],
        lambda c: [c["name"], _fmt(c["true_count"]), _fmt(c["false_count"]), _pct(c["true_share"])],
    ),
    (
        "Dates and times",
        ("datetime",),
        ["column", "min", "max"],
        lambda c: [c["name"], _fmt(c.get("min")), _fmt(c.get("max"))],
    ),
]


def _top_sections(profile: Profile) -> list[str]:
    lines: list[str] = []
    for column in profile["columns"]:
        if not column.get("top"):
            continue
        valid = profile["rows"] - column["null_count"]
        lines += ["", f"### Top values of {_cell(column['name'])}", ""]
        lines += _table(
            ["value", "count", "share"],
            [
                [_fmt(t["value"]), _fmt(t["count"]), _pct(t["count"] / valid if valid else None)]
                for t in column["top"]
            ],
        )
    return ["", "## Top values", *lines] if lines else []


def diff_to_markdown(diff: Profile) -> str:
    """The diff as a report: row count, schema changes, drift, and every changed statistic."""
    rows, schema = diff["rows"], diff["schema"]
    lines = ["## Rows", "", f"{_fmt(rows['old'])} → {_fmt(rows['new'])} {_delta(rows)}"]
    if diff.get("format", {}).get("old") != diff.get("format", {}).get("new"):
        lines += ["", f"Format: {diff['format']['old']} → {diff['format']['new']}"]
    lines += ["", "## Schema", ""]
    schema_lines = [
        *(f"- added `{c['name']}` ({c['type']}, {c['arrow_type']})" for c in schema["added"]),
        *(f"- removed `{c['name']}` ({c['type']}, {c['arrow_type']})" for c in schema["removed"]),
        *(
            f"- `{c['name']}` changed type: {c['old']['arrow_type']} ({c['old']['type']}) → "
            f"{c['new']['arrow_type']} ({c['new']['type']})"
            for c in schema["type_changed"]
        ),
        *(
            f"- `{c['name']}` nullability: nullable {_yes(c['old']['nullable'])}, "
            f"{_fmt(c['old']['null_count'])} nulls → nullable {_yes(c['new']['nullable'])}, "
            f"{_fmt(c['new']['null_count'])} nulls"
            for c in schema["nullability_changed"]
        ),
    ]
    lines += schema_lines or ["No schema changes."]
    drift = sorted(
        (c for c in diff["columns"] if c.get("psi") is not None), key=lambda c: -c["psi"]
    )
    if drift:
        lines += ["", "## Distribution drift (PSI)", ""]
        lines += _table(
            ["column", "PSI", "level", "bins"],
            [[c["name"], f"{c['psi']:.4f}", c["psi_level"], c["psi_method"]] for c in drift],
        )
    changed = [
        [c["name"], stat, _fmt(ch["old"]), _fmt(ch["new"]), _delta(ch)]
        for c in diff["columns"]
        for stat, ch in c["changes"].items()
    ]
    lines += ["", "## Statistics", ""]
    lines += (
        _table(["column", "statistic", "old", "new", "change"], changed)
        if changed
        else ["No statistic changed."]
    )
    return "\n".join(lines) + "\n"


def _delta(change: Profile) -> str:
    if change.get("change") is None:
        return ""
    text = f"{'+' if change['change'] > 0 else ''}{_fmt(change['change'])}"
    if change.get("change_pct") is not None:
        text += f" ({change['change_pct']:+.1f}%)"
    return text


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(_cell(v) for v in row) + " |" for row in rows),
    ]


def _cell(text: Any) -> str:
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _yes(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _pct(share: float | None) -> str:
    return "—" if share is None else f"{share:.2%}"


def _sparkline(histogram: Profile | None) -> str:
    if not histogram or not histogram["counts"] or not max(histogram["counts"]):
        return ""
    top = max(histogram["counts"])
    return "".join(_SPARK[min(7, int(c / top * 7.999))] if c else "·" for c in histogram["counts"])
