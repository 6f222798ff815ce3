"""Monitoring rule kinds: one class per kind, registered in :data:`RULES`.

A rule class carries its ``kind`` (the key under ``monitoring:`` in the contract), its
own ``fields`` (beside the common ``window``, ``for_windows``, ``severity``,
``cooldown`` and ``min_rows``), the ``thresholds`` among them of which the contract
must give one, and its alert ``message``. The contract validator reads the registry to
know which kinds and fields exist; monitoring reads it to word an alert. Kinds whose
evaluation needs only plain window figures evaluate here too (:meth:`LiveRule.evaluate`).

Adding a kind (see docs/monitoring.md for the worked example)::

    @register
    class RowsRule(Rule):
        kind = "rows"
        fields = ("below",)
        thresholds = ("below",)

        @staticmethod
        def message(name, version, result, over):
            return f"{name} v{version}: {result['value']} rows (under {result['threshold']}){over}"
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

MIN_ROWS = 30  # fewer rows (or labels) than this in a window: "insufficient", no verdict


class Rule:
    """One kind of monitoring rule."""

    kind: ClassVar[str]
    fields: ClassVar[tuple[str, ...]] = ()
    thresholds: ClassVar[tuple[str, ...]] = ()  # the contract gives at least one

    @staticmethod
    def message(name: str, version: int, result: Mapping[str, Any], over: str) -> str:
        """The alert's one-line text; ``over`` is " for N consecutive windows" or ""."""
        return f"{name} v{version}: {result['value']} over {result['threshold']}{over}"


RULES: dict[str, type[Rule]] = {}


def register(cls: type[Rule]) -> type[Rule]:
    """Add a rule class to the registry under its ``kind``."""
    RULES[cls.kind] = cls
    return cls


def _top(result: Mapping[str, Any]) -> str:
    return ", ".join(
        f"{f['column']} ({f['method']} {f['score']:.3g})" for f in result.get("top", [])
    )


@register
class DriftRule(Rule):
    """The share of drifted features over a limit."""

    kind = "drift"
    fields = ("share_above", "method", "threshold", "features")
    thresholds = ("share_above", "threshold")

    @staticmethod
    def message(name: str, version: int, result: Mapping[str, Any], over: str) -> str:
        return (
            f"{name} v{version}: {result['value']:.0%} of features drifted (limit "
            f"{result['threshold']:.0%}){over}; most: {_top(result)}"
        )


@register
class FeatureDriftRule(Rule):
    """Named features (or any) drifted."""

    kind = "feature_drift"
    fields = ("score_above", "features", "method")

    @staticmethod
    def message(name: str, version: int, result: Mapping[str, Any], over: str) -> str:
        return f"{name} v{version}: features drifted{over}: {_top(result)}"


@register
class LiveRule(Rule):
    """Live quality from feedback: ``<metric>_below`` / ``<metric>_above`` and
    ``min_labels`` (checked by the validator against the task's metrics)."""

    kind = "live"

    @staticmethod
    def evaluate(rule: Mapping[str, Any], scored: Mapping[str, Any]) -> dict[str, Any]:
        """The verdict over one window's scored feedback (``labelled``, ``coverage``,
        ``metrics``)."""
        if scored["labelled"] < int(rule.get("min_labels", MIN_ROWS)):
            return {
                "breached": False,
                "status": "insufficient",
                "value": scored["labelled"],
                "coverage": scored["coverage"],
            }
        breaches = {}
        for key, limit in (rule.get("metrics") or {}).items():
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
            "threshold": rule.get("metrics"),
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
    def message(name: str, version: int, result: Mapping[str, Any], over: str) -> str:
        return f"{name} v{version}: latency {result['value']} over {result['threshold']}{over}"


@register
class ErrorsRule(Rule):
    """The share of failed requests over a limit."""

    kind = "errors"
    fields = ("rate_above",)
    thresholds = fields

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
    def message(name: str, version: int, result: Mapping[str, Any], over: str) -> str:
        return (
            f"{name} v{version}: {result['value']} prediction-log rows dropped "
            f"(limit {result['threshold']:g}){over}"
        )


def message(name: str, version: int, kind: str, result: Mapping[str, Any], count: int) -> str:
    """The alert text of a breached rule of ``kind``, held for ``count`` windows."""
    over = f" for {count} consecutive windows" if count > 1 else ""
    return RULES[kind].message(name, version, result, over)
