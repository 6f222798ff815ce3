"""Monitoring rule kinds: one class per kind, registered in :data:`RULES`.

A rule class carries its ``kind`` (the key under ``monitoring:`` in the contract), its
own ``fields`` (beside the common ``window``, ``for_windows``, ``severity``,
``cooldown`` and ``min_rows``), the ``thresholds`` among them of which the contract
must give one, what its verdict ``needs`` from monitoring (the window's ``profile``
figures, its ``drift`` against the reference, or its scored ``feedback``), its
``evaluate`` (a :class:`Window`'s figures → a verdict with evidence) and its alert
``message``. The contract validator reads the registry to know which kinds and fields
exist; monitoring computes a :class:`Window` and asks the kind's class for the verdict.

Adding a kind (see docs/monitoring.md for the worked example)::

    @register
    class RowsRule(Rule):
        kind = "rows"
        fields = ("below",)
        thresholds = ("below",)

        @staticmethod
        def evaluate(rule, window):
            limit = rule.params["below"]
            return {"breached": window.rows < limit, "status": "ok",
                    "value": window.rows, "threshold": limit}

        @staticmethod
        def message(name, version, result, over):
            return f"{name} v{version}: {result['value']} rows (under {result['threshold']}){over}"
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from shipway.errors import ContractError

if TYPE_CHECKING:
    from shipway.contracts.terms import Rule as Terms

MIN_ROWS = 30  # fewer rows (or labels) than this in a window: "insufficient", no verdict
Verdict = dict[str, Any]  # breached, status, value, threshold and the kind's evidence


@dataclass(frozen=True)
class Window:
    """One window's traffic of one model version as plain figures (monitoring fills in
    what the rule ``needs``): rows, requests and errors, dropped log rows, the latency
    percentiles, the drift against the reference and the scored feedback."""

    rows: int = 0
    requests: int = 0
    errors: int = 0
    dropped: int = 0
    latency_count: int = 0
    latency: Mapping[str, float] = field(default_factory=dict)  # p95_ms, p99_ms
    drift: Mapping[str, Any] | None = None
    scored: Mapping[str, Any] | None = None  # labelled, coverage, metrics


class Rule:
    """One kind of monitoring rule."""

    kind: ClassVar[str]
    fields: ClassVar[tuple[str, ...]] = ()
    thresholds: ClassVar[tuple[str, ...]] = ()  # the contract gives at least one
    needs: ClassVar[Literal["profile", "drift", "feedback"]] = "profile"

    @staticmethod
    def evaluate(rule: Terms, window: Window) -> Verdict:
        """The verdict of ``rule`` (the contract's record of it) over ``window``."""
        raise NotImplementedError

    @staticmethod
    def message(name: str, version: int, result: Mapping[str, Any], over: str) -> str:
        """The alert's one-line text; ``over`` is " for N consecutive windows" or ""."""
        return f"{name} v{version}: {result['value']} over {result['threshold']}{over}"


RULES: dict[str, type[Rule]] = {}


def register(cls: type[Rule]) -> type[Rule]:
    """Add a rule class to the registry under its ``kind``."""
    RULES[cls.kind] = cls
    return cls


def kind_of(kind: str) -> type[Rule]:
    """The class of a rule kind; a kind no class is registered for is an error."""
    try:
        return RULES[kind]
    except KeyError:
        raise ContractError(
            f"unknown monitoring rule kind {kind!r}; the kinds are {', '.join(sorted(RULES))}"
        ) from None


def evaluate(rule: Terms, window: Window) -> Verdict:
    """The verdict of ``rule`` over ``window``, by its kind's class."""
    return kind_of(rule.kind).evaluate(rule, window)


def message(name: str, version: int, kind: str, result: Mapping[str, Any], count: int) -> str:
    """The alert text of a breached rule of ``kind``, held for ``count`` windows."""
    over = f" for {count} consecutive windows" if count > 1 else ""
    return kind_of(kind).message(name, version, result, over)


def severity(feature: Mapping[str, Any]) -> float:
    """How far a drifted feature is from its reference, to rank them (a p-value's
    complement for the tests, the distance itself for the rest)."""
    score = feature.get("score")
    if score is None:
        return 0.0
    return float(1 - score if feature.get("method") in ("ks", "chi2") else score)


def _top(result: Mapping[str, Any]) -> str:
    return ", ".join(
        f"{f['column']} ({f['method']} {f['score']:.3g})" for f in result.get("top", [])
    )


def _min_rows(rule: Terms) -> int:
    return int(rule.min_rows or MIN_ROWS)


def _drift_unjudged(rule: Terms, window: Window) -> Verdict | None:
    """The verdict when drift cannot be judged: no reference, or too few rows."""
    drift = window.drift or {}
    if drift.get("error") or window.drift is None:
        return {"breached": False, "status": "no reference", "value": None, "drift": drift}
    if drift["insufficient"] or window.rows < _min_rows(rule):
        return {"breached": False, "status": "insufficient", "value": window.rows, "drift": drift}
    return None


@register
class DriftRule(Rule):
    """The share of drifted features over a limit."""

    kind = "drift"
    fields = ("share_above", "method", "threshold", "features")
    thresholds = ("share_above", "threshold")
    needs = "drift"

    @staticmethod
    def evaluate(rule: Terms, window: Window) -> Verdict:
        unjudged = _drift_unjudged(rule, window)
        if unjudged is not None:
            return unjudged
        drift = window.drift or {}
        ranked = sorted(
            (f for f in drift["features"] if f["status"] == "drift"), key=severity, reverse=True
        )
        share = drift["share"] or 0.0
        limit = rule.params.get("share_above", 0.5)
        return {
            "breached": share > limit,
            "status": "ok",
            "value": share,
            "threshold": limit,
            "top": ranked[:5],
            "drift": drift,
        }

    @staticmethod
    def message(name: str, version: int, result: Mapping[str, Any], over: str) -> str:
        return (
            f"{name} v{version}: {result['value']:.0%} of features drifted (limit "
            f"{result['threshold']:.0%}){over}; most: {_top(result)}"
        )


@register
class FeatureDriftRule(Rule):
    """Named features (or any) drifted: over ``score_above`` for a distance, by its
    test's verdict for ``ks`` and ``chi2``."""

    kind = "feature_drift"
    fields = ("score_above", "features", "method")
    needs = "drift"

    @staticmethod
    def evaluate(rule: Terms, window: Window) -> Verdict:
        unjudged = _drift_unjudged(rule, window)
        if unjudged is not None:
            return unjudged
        drift = window.drift or {}
        features = drift["features"]
        wanted = set(rule.params.get("features") or []) or {f["column"] for f in features}
        limit = rule.params.get("score_above")
        hits = [
            f
            for f in features
            if f["column"] in wanted
            and f["score"] is not None
            and (
                f["score"] > limit
                if limit is not None and f["method"] not in ("ks", "chi2")
                else f["drifted"]
            )
        ]
        hits.sort(key=severity, reverse=True)
        return {
            "breached": bool(hits),
            "status": "ok",
            "value": [h["column"] for h in hits],
            "threshold": limit,
            "top": hits[:5],
            "drift": drift,
        }

    @staticmethod
    def message(name: str, version: int, result: Mapping[str, Any], over: str) -> str:
        return f"{name} v{version}: features drifted{over}: {_top(result)}"


@register
class LiveRule(Rule):
    """Live quality from feedback: ``<metric>_below`` / ``<metric>_above`` and
    ``min_labels`` (checked by the validator against the task's metrics)."""

    kind = "live"
    needs = "feedback"

    @staticmethod
    def evaluate(rule: Terms, window: Window) -> Verdict:
        """The verdict over one window's scored feedback (``labelled``, ``coverage``,
        ``metrics``)."""
        scored = window.scored or {"labelled": 0, "coverage": 0.0, "metrics": {}}
        if scored["labelled"] < int(rule.params.get("min_labels", MIN_ROWS)):
            return {
                "breached": False,
                "status": "insufficient",
                "value": scored["labelled"],
                "coverage": scored["coverage"],
            }
        limits = rule.params.get("metrics") or {}
        breaches = {}
        for key, limit in limits.items():
            metric, side = key.rsplit("_", 1)
            value = scored["metrics"].get(metric)
            if value is not None and (
                (side == "below" and value < limit) or (side == "above" and value > limit)
            ):
                breaches[key] = {"value": round(value, 6), "threshold": limit}
        return {
            "breached": bool(breaches),
            "status": "ok",
            "value": scored["metrics"],
            "threshold": limits,
            "breaches": breaches,
            "labelled": scored["labelled"],
            "coverage": scored["coverage"],
        }

    @staticmethod
    def message(name: str, version: int, result: Mapping[str, Any], over: str) -> str:
        parts = ", ".join(
            f"{k.rsplit('_', 1)[0]} {v['value']:.4g} (limit {v['threshold']:g})"
            for k, v in result.get("breaches", {}).items()
        )
        return f"{name} v{version}: live quality breached{over}: {parts}"


@register
class LatencyRule(Rule):
    """Served latency percentiles over a limit."""

    kind = "latency"
    fields = ("p95_ms_above", "p99_ms_above")
    thresholds = fields

    @staticmethod
    def evaluate(rule: Terms, window: Window) -> Verdict:
        if window.latency_count < _min_rows(rule):
            return {"breached": False, "status": "insufficient", "value": window.rows}
        values = {k: window.latency[k] for k in ("p95_ms", "p99_ms")}
        limits = {k: rule.params[f"{k}_above"] for k in values if f"{k}_above" in rule.params}
        return {
            "breached": any(values[k] > limit for k, limit in limits.items()),
            "status": "ok",
            "value": values,
            "threshold": limits,
        }

    @staticmethod
    def message(name: str, version: int, result: Mapping[str, Any], over: str) -> str:
        return f"{name} v{version}: latency {result['value']} over {result['threshold']}{over}"


@register
class ErrorsRule(Rule):
    """The share of failed requests over a limit."""

    kind = "errors"
    fields = ("rate_above",)
    thresholds = fields

    @staticmethod
    def evaluate(rule: Terms, window: Window) -> Verdict:
        total = window.requests + window.errors
        if total < _min_rows(rule):
            return {"breached": False, "status": "insufficient", "value": total}
        rate = window.errors / total
        limit = rule.params["rate_above"]
        return {
            "breached": rate > limit,
            "status": "ok",
            "value": round(rate, 6),
            "threshold": limit,
            "errors": window.errors,
            "requests": total,
        }

    @staticmethod
    def message(name: str, version: int, result: Mapping[str, Any], over: str) -> str:
        return (
            f"{name} v{version}: error rate {result['value']:.2%} over "
            f"{result['threshold']:.2%}{over}"
        )


@register
class LogDropsRule(Rule):
    """Prediction-log rows dropped (the log could not keep up)."""

    kind = "log_drops"
    fields = ("above",)
    thresholds = fields

    @staticmethod
    def evaluate(rule: Terms, window: Window) -> Verdict:
        limit = rule.params["above"]
        return {
            "breached": window.dropped > limit,
            "status": "ok",
            "value": window.dropped,
            "threshold": limit,
        }

    @staticmethod
    def message(name: str, version: int, result: Mapping[str, Any], over: str) -> str:
        return (
            f"{name} v{version}: {result['value']} prediction-log rows dropped "
            f"(limit {result['threshold']:g}){over}"
        )
