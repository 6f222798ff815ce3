"""A validated contract as frozen records: the spec, its columns, privacy rules, gates,
budgets, reproducibility requirements, approvals and monitoring rules.

``spec.parse`` checks the YAML and normalises it into the stored form (a plain mapping,
kept in the database as it is); :func:`terms` builds these records from that form, so a
stored spec and a freshly parsed one read the same way, by attribute::

    t = terms(contract.spec)
    t.approvals["engineering"], t.owners["engineering"], t.budgets.package_mb
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Column:
    type: str | None
    nullable: bool = False
    pii: bool = False
    min: float | None = None
    max: float | None = None
    values: tuple[Any, ...] | None = None


@dataclass(frozen=True)
class Privacy:
    forbidden_inputs: tuple[str, ...] = ()
    hash: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()


@dataclass(frozen=True)
class Condition:
    column: str
    op: str
    value: Any


@dataclass(frozen=True)
class Relative:
    alias: str
    offset: float


@dataclass(frozen=True)
class Gate:
    text: str
    metric: str
    op: str
    threshold: float | None
    relative: Relative | None
    dataset: str
    where: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class LatencyBudget:
    requests: int = 300
    warmup: int = 50
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None


@dataclass(frozen=True)
class Budgets:
    latency: LatencyBudget | None = None
    package_mb: float | None = None
    memory_mb: float | None = None


@dataclass(frozen=True)
class Rule:
    """One monitoring rule: its kind, the common fields and the kind's own ``params``."""

    kind: str
    window: float | None
    for_windows: int
    severity: str
    cooldown: float
    min_rows: int | None
    params: Mapping[str, Any]


@dataclass(frozen=True)
class Monitoring:
    window: float = 3600.0
    on_breach: str = "none"
    reference: str | None = None
    rules: tuple[Rule, ...] = ()
    retrain: Mapping[str, Any] | None = None
    webhook: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Terms:
    model: str | None
    objective: str
    task: str | None
    label: str | None
    positive_class: Any
    holdout: str | None
    owners: Mapping[str, tuple[str, ...]]
    schema: Mapping[str, Column]
    privacy: Privacy
    gates: tuple[Gate, ...]
    budgets: Budgets
    reproducibility: Mapping[str, bool]
    approvals: Mapping[str, int]
    monitoring: Monitoring = field(default_factory=Monitoring)


def terms(spec: Mapping[str, Any]) -> Terms:
    """The records of a normalised spec (``parse(text).spec`` or a stored one)."""
    return Terms(
        model=spec.get("model"),
        objective=spec.get("objective", ""),
        task=spec.get("task"),
        label=spec.get("label"),
        positive_class=spec.get("positive_class"),
        holdout=spec.get("holdout"),
        owners={role: tuple(people) for role, people in (spec.get("owners") or {}).items()},
        schema={name: _column(c) for name, c in (spec.get("schema") or {}).items()},
        privacy=_privacy(spec.get("privacy") or {}),
        gates=tuple(_gate(g) for g in spec.get("gates") or []),
        budgets=_budgets(spec.get("budgets") or {}),
        reproducibility=dict(spec.get("reproducibility") or {}),
        approvals=dict(spec.get("approvals") or {}),
        monitoring=_monitoring(spec.get("monitoring") or {}),
    )


def _column(c: Mapping[str, Any]) -> Column:
    values = c.get("values")
    return Column(
        type=c.get("type"),
        nullable=bool(c.get("nullable", False)),
        pii=bool(c.get("pii", False)),
        min=c.get("min"),
        max=c.get("max"),
        values=None if values is None else tuple(values),
    )


def _privacy(p: Mapping[str, Any]) -> Privacy:
    log = p.get("log") or {}
    return Privacy(
        forbidden_inputs=tuple(p.get("forbidden_inputs") or ()),
        hash=tuple(log.get("hash") or ()),
        drop=tuple(log.get("drop") or ()),
    )


def _gate(g: Mapping[str, Any]) -> Gate:
    rel = g.get("relative")
    return Gate(
        text=g["text"],
        metric=g["metric"],
        op=g["op"],
        threshold=g.get("threshold"),
        relative=None if not rel else Relative(rel["alias"], float(rel.get("offset", 0.0))),
        dataset=g["dataset"],
        where=tuple(Condition(w["column"], w["op"], w["value"]) for w in g.get("where") or []),
    )


def _budgets(b: Mapping[str, Any]) -> Budgets:
    lat = b.get("latency")
    return Budgets(
        latency=None if lat is None else LatencyBudget(**lat),
        package_mb=b.get("package_mb"),
        memory_mb=b.get("memory_mb"),
    )


_COMMON = ("window", "for_windows", "severity", "cooldown", "min_rows")


def _rule(kind: str, r: Mapping[str, Any]) -> Rule:
    return Rule(
        kind=kind,
        window=r.get("window"),
        for_windows=int(r.get("for_windows", 1)),
        severity=str(r.get("severity", "warning")),
        cooldown=float(r.get("cooldown", 3600.0)),
        min_rows=r.get("min_rows"),
        params={k: v for k, v in r.items() if k not in _COMMON},
    )


def _monitoring(m: Mapping[str, Any]) -> Monitoring:
    return Monitoring(
        window=float(m.get("window", 3600.0)),
        on_breach=str(m.get("on_breach", "none")),
        reference=m.get("reference"),
        rules=tuple(_rule(kind, r) for kind, r in (m.get("rules") or {}).items()),
        retrain=m.get("retrain"),
        webhook=m.get("webhook"),
    )
