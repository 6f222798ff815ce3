"""A validated contract read as frozen records, by attribute."""

from __future__ import annotations

import dataclasses

import pytest

from shipway.contracts import parse
from shipway.contracts.terms import Condition, Relative, terms
from shipway.demo.churn import contract_text


def test_the_demo_contract_reads_by_attribute() -> None:
    contract = parse(contract_text("churn-holdout@3"), model="churn")
    t = contract.terms
    assert t == terms(contract.spec)  # a stored spec builds the same records
    assert t.task == "binary-classification"
    assert t.owners["engineering"] == ("eli",)
    assert t.schema["email"].pii is True
    assert (t.schema["tenure_months"].min, t.schema["tenure_months"].max) == (0, 600)
    assert t.privacy.hash == ("customer_id",) and t.privacy.drop == ("email",)
    gates = {g.text: g for g in t.gates}
    assert gates["roc_auc >= 0.85"].dataset == "churn-holdout@3"
    assert gates["f1 >= production - 0.02"].relative == Relative("production", -0.02)
    segment = gates["recall >= 0.5 where region = 'EU'"]
    assert segment.where == (Condition("region", "==", "EU"),)
    assert t.budgets.latency is not None and t.budgets.latency.p95_ms == 100.0
    assert t.approvals == {"data-science": 1, "engineering": 1}
    rules = {r.kind: r for r in t.monitoring.rules}
    assert t.monitoring.on_breach == "rollback"
    assert rules["drift"].params["share_above"] == 0.2
    assert rules["live"].window == 3600.0 and rules["latency"].window == 300.0


def test_records_are_frozen() -> None:
    t = parse(contract_text("churn-holdout@3"), model="churn").terms
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.task = "regression"  # type: ignore[misc]
