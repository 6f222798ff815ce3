"""The registry of monitoring rule kinds, read by the contract validator."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from shipway.contracts import parse
from shipway.contracts.rules import RULES, LiveRule, Rule, message, register
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
    result = {"value": 12, "threshold": 100.0}
    assert message("churn", 3, "rows", result, 2) == (
        "churn v3: 12 rows (under 100.0) for 2 consecutive windows"
    )


def test_live_rule_verdict_over_plain_figures() -> None:
    rule = {"metrics": {"accuracy_below": 0.8}, "min_labels": 10}
    few = LiveRule.evaluate(rule, {"labelled": 5, "coverage": 0.1, "metrics": {}})
    assert few == {"breached": False, "status": "insufficient", "value": 5, "coverage": 0.1}
    scored = {"labelled": 50, "coverage": 0.5, "metrics": {"accuracy": 0.7}}
    verdict = LiveRule.evaluate(rule, scored)
    assert verdict["breached"] is True
    assert verdict["breaches"] == {"accuracy_below": {"value": 0.7, "threshold": 0.8}}
    assert message("churn", 3, "live", verdict, 1) == (
        "churn v3: live quality breached: accuracy 0.7 (limit 0.8)"
    )
