"""The release tail as steps: register a model, run its contract's gates, promote it when
the policy allows. The driver runs them itself (they only call the platform), each as a
nested run like any step, and what they decide becomes the pipeline's outcome:

>>> @sw.pipeline
... def cancer():
...     model = train(prepare(sw.dataset("cancer-train")))
...     version = sw.register(model, "cancer", input_example=example(...))
...     sw.promote(version, "production", gates=sw.gates(version))

ends "promoted cancer v4 to production", "cancer v4 not promoted: gates failed (…)" or
"cancer v4 waiting for production: needs 1 engineering sign-off(s) …".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shipway.errors import InvalidInput, PromotionRefused
from shipway.runner.define import DatasetInput, Node, Step
from shipway.runner.worker import current_step


def _register(
    model: Any,
    name: str,
    input_example: Any = None,
    description: str = "",
    holdout: Any = None,
) -> dict[str, Any]:
    context = current_step()
    if holdout is not None:  # the data the gates evaluate on, linked as the contract asks
        context.run.log_input(holdout.ref, context="holdout")
    version = context.run.log_model(
        model, "model", input_example=input_example, register=name, description=description
    )
    context.detail = f"registered {name} v{version.version}"
    return {"model": name, "version": version.version, "run_id": context.run.id}


def _gates(version: dict[str, Any]) -> dict[str, Any]:
    context = current_step()
    name, number = version["model"], version["version"]
    report = context.run.client.run_gates(name, number)
    failed = [c for c in report.checks if c.status in ("failed", "error")]
    summary = "; ".join(f"{c.name}: {c.reason or c.status}" for c in failed[:5])
    context.run.log_metric("gates.passed", 1.0 if report.passed else 0.0)
    context.run.set_tag("shipway.gate_report", str(report.id))
    context.detail = (
        f"gates passed for {name} v{number}"
        if report.passed
        else f"{name} v{number} not promoted: gates {report.status} ({summary})"
    )
    return {**version, "passed": report.passed, "report": report.id, "summary": summary}


def _promote(
    version: dict[str, Any], alias: str = "production", gates: dict[str, Any] | None = None
) -> dict[str, Any]:
    context = current_step()
    name, number = version["model"], version["version"]
    if gates is not None and not gates.get("passed"):
        context.detail = (
            f"{name} v{number} not promoted to {alias}: gates failed ({gates.get('summary', '')})"
        )
        return {**version, "promoted": False, "waiting": []}
    try:
        promotion = context.run.client.promote(name, number, alias)
    except PromotionRefused as exc:
        missing = list((exc.details or {}).get("missing") or [exc.message])
        context.detail = f"{name} v{number} waiting for {alias}: {'; '.join(missing)}"
        context.run.set_tag("shipway.waiting", "; ".join(missing)[:5000])
        return {**version, "promoted": False, "waiting": missing}
    context.detail = f"promoted {name} v{number} to {alias}"
    return {**version, "promoted": True, "promotion": promotion.id}


def _add_dataset(files: Any, name: str, message: str = "") -> dict[str, Any]:
    context = current_step()
    from shipway.client.datasets import add

    if not isinstance(files, Path):
        raise InvalidInput(
            f"sw.add_dataset takes a step that outputs files (a returned path or the step's "
            f"out folder), not a {type(files).__name__}"
        )
    handle = add(name, files, message=message or f"pipeline step {context.step}",
                 client=context.run.client)  # fmt: skip
    context.detail = f"{handle.ref} from {context.step}"
    return {"dataset": handle.ref, "digest": handle.manifest_digest}


_ADD_DATASET = Step(_add_dataset, name="add-dataset", builtin="add_dataset")
_REGISTER = Step(_register, name="register", builtin="register")
_GATES = Step(_gates, name="gates", builtin="gates", cache=False)
_PROMOTE = Step(_promote, name="promote", builtin="promote", cache=False)


def register(
    model: Node,
    name: str,
    *,
    input_example: Any = None,
    description: str = "",
    holdout: DatasetInput | None = None,
) -> Node:
    """A step that writes ``model`` (an upstream step's returned estimator) as a model
    package and registers it as the next version of ``name``; its lineage lists every
    dataset version upstream. ``input_example`` (a value or a step's output) gives the
    signature; ``holdout`` (``sw.dataset(...)``) is linked as the holdout data the
    contract's gates evaluate on. Cached: the same model bytes are not registered twice."""
    node: Node = _REGISTER(model, name, input_example, description, holdout)
    return node


def add_dataset(files: Node, name: str, *, message: str = "") -> Node:
    """A step that snapshots an upstream step's files as the next version of dataset
    ``name`` (unchanged content keeps the latest version). Steps that take it get the
    version's handle; a model registered downstream lists it in its lineage."""
    node: Node = _ADD_DATASET(files, name, message)
    return node


def gates(version: Node) -> Node:
    """A step that runs the registered version's contract gates (every run)."""
    node: Node = _GATES(version)
    return node


def promote(version: Node, alias: str = "production", *, gates: Node | None = None) -> Node:
    """A step that moves ``alias`` to the version when the contract's policy allows it
    (every run); with ``gates`` it promotes only a version whose gates passed."""
    node: Node = _PROMOTE(version, alias, gates)
    return node
