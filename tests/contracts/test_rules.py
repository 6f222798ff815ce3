"""The registry of monitoring rule kinds, read by the contract validator."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from shipway.contracts import parse
from shipway.contracts.rules import RULES, LiveRule, Rule, Window, evaluate, message, register
from shipway.contracts.terms import Rule as RuleTerms
from shipway.contracts.terms import terms
from shipway.errors import ContractError

BASE = "objective: churn\ntask: binary-classification\nmonitoring:\n"


@pytest.fixture
def rows_rule() -> Iterator[type[Rule]]:
    """The worked example of docs/monitoring.md, registered for one test."""

    class RowsRule(Rule):
        kind = "rows"
        fields = ("below",)
        thresholds = ("below",)

        @staticmethod
        def evaluate(rule: RuleTerms, window: Window) -> dict[str, Any]:
            limit = rule.params["below"]
            return {
                "breached": window.rows < limit,
                "status": "ok",
                "value": window.rows,
                "threshold": limit,
            }

        @staticmethod
        def message(name: str, version: int, result: Mapping[str, Any], over: str) -> str:
            return f"{name} v{version}: {result['value']} rows (under {result['threshold']}){over}"

    register(RowsRule)
    yield RowsRule
    del RULES["rows"]


def test_every_kind_is_registered() -> None:
    assert set(RULES) == {"drift", "feature_drift", "live", "latency", "errors", "log_drops"}


def test_a_new_kind_is_a_checked_contract_section(rows_rule: type[Rule]) -> None:
    spec = parse(BASE + "  rows: {below: 100, window: 1h}\n", model="churn").spec
    assert spec["monitoring"]["rules"]["rows"]["below"] == 100.0
    with pytest.raises(ContractError) as info:
        parse(BASE + "  rows: {belw: 100}\n", model="churn")
    found = info.value.details["problems"]
    assert [p["line"] for p in found] == [4, 4]
    assert "did you mean 'below'" in found[0]["message"]
    assert found[1]["message"] == "give a threshold: below"
    (rule,) = terms(spec).monitoring.rules
    assert evaluate(rule, Window(rows=150))["breached"] is False
    result = evaluate(rule, Window(rows=12))
    assert result == {"breached": True, "status": "ok", "value": 12, "threshold": 100.0}
    assert message("churn", 3, "rows", result, 2) == (
        "churn v3: 12 rows (under 100.0) for 2 consecutive windows"
    )


def rule_of(block: str) -> RuleTerms:
    """The one monitoring rule of a contract whose monitoring section is ``block``."""
    (rule,) = terms(parse(BASE + block, model="churn").spec).monitoring.rules
    return rule


def test_live_rule_verdict_over_plain_figures() -> None:
    rule = rule_of("  live: {accuracy_below: 0.8, min_labels: 10}\n")
    few = LiveRule.evaluate(rule, Window(scored={"labelled": 5, "coverage": 0.1, "metrics": {}}))
    assert few == {"breached": False, "status": "insufficient", "value": 5, "coverage": 0.1}
    scored = {"labelled": 50, "coverage": 0.5, "metrics": {"accuracy": 0.7}}
    verdict = LiveRule.evaluate(rule, Window(scored=scored))
    assert verdict["breached"] is True
    assert verdict["breaches"] == {"accuracy_below": {"value": 0.7, "threshold": 0.8}}
    assert message("churn", 3, "live", verdict, 1) == (
        "churn v3: live quality breached: accuracy 0.7 (limit 0.8)"
    )


def test_latency_errors_and_log_drops_judge_plain_figures() -> None:
    latency = rule_of("  latency: {p95_ms_above: 50}\n")
    slow = Window(rows=100, latency_count=100, latency={"p95_ms": 80.0, "p99_ms": 90.0})
    assert evaluate(latency, slow) == {
        "breached": True,
        "status": "ok",
        "value": {"p95_ms": 80.0, "p99_ms": 90.0},
        "threshold": {"p95_ms": 50.0},
    }
    fast = Window(rows=100, latency_count=100, latency={"p95_ms": 20.0, "p99_ms": 95.0})
    assert evaluate(latency, fast)["breached"] is False  # p99 has no limit here
    assert evaluate(latency, Window(rows=5, latency_count=5))["status"] == "insufficient"

    errors = rule_of("  errors: {rate_above: 0.1, min_rows: 10}\n")
    failing = evaluate(errors, Window(requests=16, errors=4))
    assert (failing["breached"], failing["value"], failing["requests"]) == (True, 0.2, 20)
    assert evaluate(errors, Window(requests=19, errors=1))["breached"] is False
    assert evaluate(errors, Window(requests=3, errors=3))["status"] == "insufficient"

    drops = rule_of("  log_drops: {above: 0}\n")
    assert evaluate(drops, Window(dropped=3))["breached"] is True
    assert evaluate(drops, Window(dropped=0))["breached"] is False


def drift_of(*features: tuple[str, str, float, bool]) -> dict[str, Any]:
    """A drift result over ``(column, method, score, drifted)`` features."""
    listed = [
        {"column": c, "method": m, "score": s, "drifted": d, "status": "drift" if d else "ok"}
        for c, m, s, d in features
    ]
    drifted = [f for f in listed if f["drifted"]]
    return {
        "reference": "train@1",
        "features": listed,
        "share": len(drifted) / len(listed),
        "insufficient": False,
    }


def test_drift_rules_judge_the_drift_of_a_window() -> None:
    drift = drift_of(
        ("age", "ks", 0.001, True), ("plan", "psi", 0.4, True), ("tenure", "ks", 0.5, False)
    )
    share = rule_of("  drift: {share_above: 0.5}\n")
    verdict = evaluate(share, Window(rows=100, drift=drift))
    assert (verdict["breached"], verdict["value"], verdict["threshold"]) == (True, 2 / 3, 0.5)
    assert [f["column"] for f in verdict["top"]] == ["age", "plan"]  # by severity
    assert evaluate(share, Window(rows=10, drift=drift))["status"] == "insufficient"
    no_reference = {"error": "no training dataset", "features": []}
    assert evaluate(share, Window(rows=100, drift=no_reference))["status"] == "no reference"

    named = rule_of("  feature_drift: {features: [plan], score_above: 0.5}\n")
    calm = evaluate(named, Window(rows=100, drift=drift))
    assert (calm["breached"], calm["value"]) == (False, [])  # psi 0.4 is under 0.5
    anyone = rule_of("  feature_drift: {score_above: 0.3}\n")
    assert evaluate(anyone, Window(rows=100, drift=drift))["value"] == ["age", "plan"]


def test_a_kind_without_a_class_is_an_error_that_names_the_kinds() -> None:
    ghost = RuleTerms("ghost", None, 1, "warning", 3600.0, None, {})
    with pytest.raises(ContractError, match="unknown monitoring rule kind 'ghost'; the kinds"):
        evaluate(ghost, Window())
