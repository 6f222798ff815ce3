"""Checking one model version against one contract: every check, measured.

Each check ends as a :class:`~shipway.records.CheckResult`; nothing here raises for bad
data or a broken model. A dataset that does not exist, a holdout without the label
column, a model that fails to load: each becomes a check with status ``error`` and the
reason, and the other checks still run.
"""

from __future__ import annotations

import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shipway.contracts import metrics as metric_lib
from shipway.contracts.latency import measure_latency
from shipway.contracts.loading import load_version
from shipway.contracts.terms import Condition, Gate, LatencyBudget, Terms
from shipway.datasets.service import DatasetService
from shipway.errors import ShipwayError
from shipway.models.loaded import LoadedModel
from shipway.records import CheckResult, ModelVersion, Run, RunInput
from shipway.registry.service import RegistryService
from shipway.tracking.service import TrackingService

NOTEBOOK_MARKERS = ("ipykernel", ".ipynb", "jupyter", "colab")
OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
}


class CheckFailed(Exception):
    """Raised inside a check for a reason that makes it ``error`` (it could not run)."""


@dataclass
class Evaluation:
    """What one gate run knows: the version, its run, its loaded model, data read so far."""

    version: ModelVersion
    spec: Terms
    registry: RegistryService
    datasets: DatasetService
    tracking: TrackingService
    home: Any
    run: Run | None = None
    inputs: list[RunInput] = field(default_factory=list)
    model: LoadedModel | None = None
    load_error: str | None = None
    baseline: dict[str, int | None] = field(default_factory=dict)
    _frames: dict[str, Any] = field(default_factory=dict)
    _models: dict[int, LoadedModel] = field(default_factory=dict)
    _predictions: dict[tuple[int, str], tuple[Any, Any]] = field(default_factory=dict)

    # data --------------------------------------------------------------------------------

    def frame(self, ref: str) -> Any:
        """The dataset version's table as pandas (read once per gate run)."""
        if ref not in self._frames:
            name_ref, _, file = ref.partition(":")
            try:
                table = self.datasets.read_table(name_ref, file or None)
            except ShipwayError as exc:
                self._frames[ref] = CheckFailed(f"cannot read {ref}: {exc}")
            else:
                self._frames[ref] = table.to_pandas()
        found = self._frames[ref]
        if isinstance(found, CheckFailed):
            raise found
        return found

    def features(self, frame: Any, ref: str) -> Any:
        label = self.spec.label
        if label not in frame.columns:
            raise CheckFailed(
                f"{ref} has no label column {label!r} (its columns: "
                f"{', '.join(map(str, frame.columns[:20]))}); fix 'label' in the contract "
                "or the dataset"
            )
        model = self.require_model()
        names = [c.name for c in model.signature.columns] if model.signature else []
        if names:
            missing = [n for n in names if n not in frame.columns]
            if missing:
                raise CheckFailed(f"{ref} lacks the model's input columns {missing}")
            return frame[names]
        return frame.drop(columns=[label])

    def require_model(self) -> LoadedModel:
        if self.model is None:
            raise CheckFailed(f"the model could not be loaded: {self.load_error}")
        return self.model

    def baseline_model(self, number: int) -> LoadedModel:
        if number == self.version.version:
            return self.require_model()
        if number not in self._models:
            other = self.registry.get_version(self.version.name, number)
            self._models[number] = load_version(self.registry, self.home, other)
        return self._models[number]

    def predictions(self, number: int, model: LoadedModel, ref: str) -> tuple[Any, Any]:
        key = (number, ref)
        if key not in self._predictions:
            frame = self.frame(ref)
            features = self.features(frame, ref)
            try:
                predicted = np.asarray(model.predict(features))
                proba = model.predict_proba(features) if model.has_predict_proba else None
            except Exception as exc:
                raise CheckFailed(
                    f"version {number} could not predict on {ref}: {type(exc).__name__}: {exc}"
                ) from None
            self._predictions[key] = (predicted, None if proba is None else np.asarray(proba))
        return self._predictions[key]


@contextmanager
def _timed(out: list[CheckResult], kind: str, name: str) -> Iterator[dict[str, Any]]:
    """Run one check; its body fills ``result`` (status, value, threshold, reason,
    details). A :class:`CheckFailed` makes it ``error``; so does any other exception,
    named, so one broken check never hides the others."""
    result: dict[str, Any] = {"status": "passed"}
    start = time.perf_counter()
    try:
        yield result
    except CheckFailed as exc:
        result.update(status="error", reason=str(exc))
    except ShipwayError as exc:
        result.update(status="error", reason=str(exc))
    except Exception as exc:
        result.update(status="error", reason=f"{type(exc).__name__}: {exc}")
    out.append(
        CheckResult(
            kind=kind,
            name=name,
            status=result["status"],
            value=result.get("value"),
            threshold=result.get("threshold"),
            reason=result.get("reason", ""),
            details=result.get("details", {}),
            seconds=round(time.perf_counter() - start, 4),
        )
    )


def evaluate(ev: Evaluation) -> list[CheckResult]:
    """Every check of the contract, in a fixed order."""
    out: list[CheckResult] = []
    spec = ev.spec
    try:
        ev.run = ev.tracking.get_run(ev.version.run_id)
        ev.inputs = ev.datasets.inputs(ev.version.run_id)
    except ShipwayError as exc:
        ev.load_error = str(exc)
    try:
        ev.model = load_version(ev.registry, ev.home, ev.version)
    except Exception as exc:
        ev.load_error = f"{type(exc).__name__}: {exc}"

    with _timed(out, "model", "the model loads") as r:
        r["details"] = {"flavor": ev.version.flavor, "package": ev.version.package_digest}
        ev.require_model()
    if spec.schema:
        with _timed(out, "schema", "schema matches the model's signature") as r:
            _schema(ev, r)
    if spec.privacy.forbidden_inputs or any(c.pii for c in spec.schema.values()):
        with _timed(out, "privacy", "no forbidden or PII columns among the inputs") as r:
            _privacy(ev, r)
    for key, wanted in spec.reproducibility.items():
        if wanted:
            with _timed(out, "reproducibility", REPRO_NAMES[key]) as r:
                REPRO_CHECKS[key](ev, r)
    if spec.budgets.package_mb is not None:
        with _timed(out, "package_size", f"package <= {spec.budgets.package_mb:g} MB") as r:
            _package_size(ev, r)
    for gate in spec.gates:
        with _timed(out, "metric", gate.text) as r:
            _metric_gate(ev, gate, r)
    if spec.budgets.latency is not None:
        latency = spec.budgets.latency
        limits = ", ".join(f"{k[:-3]} <= {v:g} ms" for k, v in _limits(latency).items())
        with _timed(out, "latency", f"latency at batch size 1: {limits}") as r:
            _latency(ev, latency, r)
    if spec.budgets.memory_mb is not None:
        with _timed(out, "memory", f"peak memory <= {spec.budgets.memory_mb:g} MB") as r:
            _memory(ev, spec.budgets.memory_mb, r)
    return out


def overall(checks: list[CheckResult]) -> str:
    if any(c.status == "error" for c in checks):
        return "error"
    if any(c.status == "failed" for c in checks):
        return "failed"
    return "passed"


# schema and privacy ------------------------------------------------------------------


def _schema(ev: Evaluation, r: dict[str, Any]) -> None:
    model = ev.require_model()
    signature = model.signature
    if signature is None:
        raise CheckFailed("the package has no signature to check the schema against")
    if signature.is_tensor:
        r.update(
            status="failed", reason="the model takes a tensor; the contract's schema names columns"
        )
        return
    columns = {c.name: c for c in signature.columns}
    schema = ev.spec.schema
    conflicts: list[str] = []
    for name, want in schema.items():
        col = columns.get(name)
        if want.pii:
            continue  # the privacy check reports PII inputs
        if col is None:
            conflicts.append(f"{name}: in the contract's schema but not an input of the model")
            continue
        if want.type != col.type and not (want.type == "int" and col.type == "float"):
            conflicts.append(f"{name}: the contract says {want.type}, the model takes {col.type}")
        if want.nullable and not col.nullable:
            conflicts.append(f"{name}: the contract allows nulls, the model does not take them")
        if want.values is not None and col.categories is not None:
            unknown = [v for v in want.values if v not in col.categories]
            if unknown:
                conflicts.append(f"{name}: the model does not know the values {unknown}")
    for name in columns:
        if name not in schema:
            conflicts.append(f"{name}: an input of the model the contract's schema does not list")
    r["details"] = {"conflicts": conflicts}
    r["value"] = len(conflicts)
    r["threshold"] = 0
    if conflicts:
        r.update(status="failed", reason=f"{len(conflicts)} conflict(s): " + "; ".join(conflicts))


def _privacy(ev: Evaluation, r: dict[str, Any]) -> None:
    model = ev.require_model()
    inputs = {c.name for c in model.signature.columns} if model.signature else set()
    forbidden = set(ev.spec.privacy.forbidden_inputs)
    forbidden |= {n for n, c in ev.spec.schema.items() if c.pii}
    found = sorted(inputs & forbidden)
    r["details"] = {"forbidden": sorted(forbidden), "found": found}
    r["value"] = found
    if found:
        r.update(
            status="failed", reason=f"the model takes forbidden or PII inputs: {', '.join(found)}"
        )


# reproducibility ---------------------------------------------------------------------


def _run(ev: Evaluation) -> Run:
    if ev.run is None:
        raise CheckFailed(f"the version's run could not be read: {ev.load_error}")
    return ev.run


def _clean_git(ev: Evaluation, r: dict[str, Any]) -> None:
    run = _run(ev)
    r["details"] = {"commit": run.git.commit, "dirty": run.git.dirty}
    r["value"] = run.git.commit
    if run.git.commit is None:
        r.update(
            status="failed", reason="the run recorded no git commit (train inside a git repository)"
        )
    elif run.git.dirty:
        r.update(
            status="failed",
            reason=f"the work tree had uncommitted changes at {run.git.commit[:10]}; "
            "commit, then train again",
        )


def _no_notebook(ev: Evaluation, r: dict[str, Any]) -> None:
    run = _run(ev)
    r["value"] = run.source
    if not run.source:
        r.update(
            status="failed",
            reason="the run recorded no entry point; start training from a script or module",
        )
    elif any(m in run.source.lower() for m in NOTEBOOK_MARKERS):
        r.update(
            status="failed",
            reason=f"the run started from a notebook ({run.source}); "
            "train from a versioned script or module",
        )


def _environment(ev: Evaluation, r: dict[str, Any]) -> None:
    run = _run(ev)
    listed = ev.registry.artifacts.list(run.id, "_shipway")
    has_env = any(a.path == "_shipway/environment.json" for a in listed)
    meta = ev.registry.package(ev.version).meta
    packages = (meta.get("requirements") or {}).get("packages") or {}
    r["details"] = {"environment_json": has_env, "package_requirements": len(packages)}
    r["value"] = len(packages)
    if not has_env and not packages:
        r.update(
            status="failed",
            reason="neither the run nor the package recorded the environment (installed packages)",
        )


def _data_linked(ev: Evaluation, r: dict[str, Any]) -> None:
    _run(ev)
    linked = {f"{i.dataset}@{i.version}": i.context for i in ev.inputs}
    needed = sorted({g.dataset.partition(":")[0] for g in ev.spec.gates})
    r["details"] = {"linked": linked, "gate_datasets": needed}
    problems = []
    if "training" not in linked.values():
        problems.append(
            "no dataset version linked as training data (run.log_input(…, context='training'))"
        )
    missing = [d for d in needed if d not in linked]
    if missing:
        problems.append(f"the gates' holdout data is not linked to the run: {', '.join(missing)}")
    r["value"] = sorted(linked)
    if problems:
        r.update(status="failed", reason="; ".join(problems))


REPRO_NAMES = {
    "clean_git": "training code committed (git clean)",
    "no_notebook": "trained from a script or module, not a notebook",
    "environment": "environment captured",
    "data_linked": "training and holdout data linked as dataset versions",
}
REPRO_CHECKS: dict[str, Callable[[Evaluation, dict[str, Any]], None]] = {
    "clean_git": _clean_git,
    "no_notebook": _no_notebook,
    "environment": _environment,
    "data_linked": _data_linked,
}


# budgets -----------------------------------------------------------------------------


def _package_size(ev: Evaluation, r: dict[str, Any]) -> None:
    files = ev.registry.artifacts.list(ev.version.run_id, ev.version.artifact_path)
    size_mb = sum(a.size for a in files) / 1e6
    limit = ev.spec.budgets.package_mb
    assert limit is not None  # evaluate() checks it only when the contract sets it
    r.update(value=round(size_mb, 3), threshold=limit, details={"files": len(files)})
    if size_mb > limit:
        r.update(status="failed", reason=f"the package is {size_mb:.1f} MB, over {limit:g} MB")


_TRACING = threading.Lock()  # tracemalloc is process-wide: one measurement at a time


def _memory(ev: Evaluation, limit: float, r: dict[str, Any]) -> None:
    with _TRACING:
        _measure_memory(ev, limit, r)


def _measure_memory(ev: Evaluation, limit: float, r: dict[str, Any]) -> None:
    ev.require_model()
    ref = _first_dataset(ev)
    features = ev.features(ev.frame(ref), ref) if ref else None
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    try:
        model = load_version(ev.registry, ev.home, ev.version)
        rows = features if features is not None else model.info.input_example
        model.predict(rows)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        if not was_tracing:
            tracemalloc.stop()
    peak_mb = (peak - base) / 1e6
    r.update(
        value=round(peak_mb, 2),
        threshold=limit,
        details={
            "dataset": ref,
            "rows": None if features is None else len(features),
            "how": "tracemalloc peak while loading the model and predicting",
        },
    )
    if peak_mb > limit:
        r.update(status="failed", reason=f"peak memory {peak_mb:.1f} MB is over {limit:g} MB")


def _first_dataset(ev: Evaluation) -> str | None:
    gates = ev.spec.gates
    return gates[0].dataset if gates else ev.spec.holdout


def _limits(budget: LatencyBudget) -> dict[str, float]:
    """The percentiles the budget sets, in milliseconds."""
    limits = {"p50_ms": budget.p50_ms, "p95_ms": budget.p95_ms, "p99_ms": budget.p99_ms}
    return {k: v for k, v in limits.items() if v is not None}


def _latency(ev: Evaluation, budget: LatencyBudget, r: dict[str, Any]) -> None:
    model = ev.require_model()
    ref = _first_dataset(ev)
    rows: list[Any] = []
    if ref is not None:
        frame = ev.features(ev.frame(ref), ref)
        rows = frame.head(200).to_dict("records")
    if not rows:
        rows = list(model.info.input_example or [])
    if not rows:
        raise CheckFailed(
            "no rows to send: name a holdout dataset or log the model with input_example"
        )
    measured = measure_latency(
        ev.version, model, rows, requests=budget.requests, warmup=budget.warmup
    )
    limits = _limits(budget)
    r["value"] = {k: round(v, 3) for k, v in measured.items() if k.endswith("_ms")}
    r["threshold"] = limits
    r["details"] = {
        "dataset": ref,
        "requests": budget.requests,
        "warmup": budget.warmup,
        "errors": measured["errors"],
    }
    over = [
        f"{k[:-3]} {measured[k]:.2f} ms > {limit:g} ms"
        for k, limit in limits.items()
        if measured[k] > limit
    ]
    if measured["errors"]:
        raise CheckFailed(
            f"{measured['errors']} of {budget.requests} requests failed: {measured['first_error']}"
        )
    if over:
        r.update(status="failed", reason="; ".join(over))


# metric gates ------------------------------------------------------------------------


def _mask(frame: Any, where: tuple[Condition, ...], ref: str) -> Any:
    mask = np.ones(len(frame), dtype=bool)
    for cond in where:
        column = cond.column
        if column not in frame.columns:
            raise CheckFailed(f"{ref} has no column {column!r} for the segment")
        values = frame[column]
        value = cond.value
        op = cond.op
        if op == "in":
            mask &= values.isin(value).to_numpy()
        elif op == "==":
            mask &= (values == value).to_numpy()
        elif op == "!=":
            mask &= (values != value).to_numpy()
        else:
            mask &= np.asarray(OPS[op](values, value), dtype=bool)
    return mask


def _metric_gate(ev: Evaluation, gate: Gate, r: dict[str, Any]) -> None:
    ref = gate.dataset
    r["details"] = {"dataset": ref, "metric": gate.metric}
    model = ev.require_model()
    frame = ev.frame(ref)
    ev.features(frame, ref)  # the label and input columns are there
    y = frame[ev.spec.label].to_numpy()
    mask = _mask(frame, gate.where, ref) if gate.where else None
    if mask is not None:
        r["details"]["rows"] = int(mask.sum())
        if not mask.any():
            raise CheckFailed(f"no rows of {ref} match the segment")
    value = _score(ev, ev.version.version, model, gate.metric, ref, y, mask)
    r["value"] = round(value, 6)
    threshold = gate.threshold
    if gate.relative is not None:
        alias = gate.relative.alias
        number = ev.baseline.get(alias)
        if alias in ev.baseline and number is None:
            r.update(
                status="skipped", reason=f"no version holds {alias!r} yet: nothing to compare with"
            )
            return
        if number is None:
            try:
                number = ev.registry.resolve(f"models:/{ev.version.name}@{alias}").version
            except ShipwayError:
                ev.baseline[alias] = None  # promotion asks for a new run once it is set
                r.update(
                    status="skipped",
                    reason=f"no version holds {alias!r} yet: nothing to compare with",
                )
                return
            ev.baseline[alias] = number
        try:
            base_model = ev.baseline_model(number)
        except Exception as exc:
            raise CheckFailed(f"{alias} (version {number}) could not be loaded: {exc}") from None
        base = _score(ev, number, base_model, gate.metric, ref, y, mask)
        threshold = base + gate.relative.offset
        r["details"].update(baseline_version=number, baseline_value=round(base, 6))
    assert threshold is not None  # a gate has a number or an alias (spec.parse_gate)
    r["threshold"] = round(threshold, 6)
    if not OPS[gate.op](value, threshold):
        r.update(
            status="failed",
            reason=f"{gate.metric} is {value:.4f}; needs {gate.op} {threshold:.4f}",
        )


def _score(
    ev: Evaluation, number: int, model: LoadedModel, metric: str, ref: str, y: Any, mask: Any
) -> float:
    predicted, proba = ev.predictions(number, model, ref)
    classes = model.classes
    y_true = y
    if mask is not None:
        y_true, predicted = y[mask], predicted[mask]
        proba = None if proba is None else proba[mask]
    positive = ev.spec.positive_class
    if positive is None and classes:
        positive = classes[-1] if len(classes) == 2 else classes[0]
    try:
        return metric_lib.compute(metric, y_true, predicted, proba, classes, positive)
    except ValueError as exc:
        raise CheckFailed(f"{metric} could not be computed on {ref}: {exc}") from None
