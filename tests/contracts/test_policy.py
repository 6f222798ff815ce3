"""The promotion policy as a pure function: no database, no services."""

from __future__ import annotations

from typing import Any

from shipway.contracts.policy import PolicyInput, evaluate
from shipway.records import Approval, CheckResult, ContractVersion, GateReport

SPEC: dict[str, Any] = {
    "owners": {"data-science": ["dana", "dan"], "engineering": ["eli"]},
    "approvals": {"data-science": 1, "engineering": 1},
}


def contract(version: int = 1) -> ContractVersion:
    return ContractVersion("churn", version, "", SPEC, "d", "", 0, "dana")


def report(
    id: int = 7,
    contract_version: int = 1,
    status: str = "passed",
    checks: list[CheckResult] | None = None,
    baseline: dict[str, int | None] | None = None,
) -> GateReport:
    return GateReport(
        id, "churn", 3, contract_version, status, checks or [], baseline or {}, 0.1, 0, "ci"
    )


def approval(actor: str, role: str, decision: str = "approve", comment: str = "") -> Approval:
    return Approval(0, "churn", 3, role, decision, actor, comment, 0)


def given(**changes: Any) -> PolicyInput:
    values: dict[str, Any] = {
        "model": "churn",
        "version": 3,
        "alias": "production",
        "contract": contract(),
        "reports": [report()],
        "approvals": [approval("dana", "data-science"), approval("eli", "engineering")],
        "aliases": {"production": 2},
    }
    values.update(changes)
    return PolicyInput(**values)


def test_ready_when_the_report_passed_and_every_signoff_is_there() -> None:
    status = evaluate(given())
    assert status == {
        "model": "churn",
        "version": 3,
        "alias": "production",
        "current": 2,
        "contract_version": 1,
        "report": 7,
        "ready": True,
        "missing": [],
    }


def test_no_contract() -> None:
    status = evaluate(given(contract=None))
    assert status["ready"] is False and status["report"] is None
    assert status["contract_version"] is None
    assert "has no contract" in status["missing"][0]


def test_reports_under_an_older_contract_version_do_not_count() -> None:
    status = evaluate(given(contract=contract(2)))
    assert status["report"] is None
    assert status["missing"] == [
        "no gate report for version 3 under contract version 2 (reports under older "
        "contract versions no longer count); run `shipway gate run churn 3`"
    ]
    assert "older" not in evaluate(given(reports=[]))["missing"][0]


def test_the_latest_report_counts_and_names_its_failed_checks() -> None:
    checks = [
        CheckResult("metric", "accuracy >= 0.9", "failed", reason="0.85"),
        CheckResult("budget", "p95", "passed"),
        CheckResult("metric", "f1 >= production", "error"),
    ]
    failed = report(id=8, status="failed", checks=checks)
    status = evaluate(given(reports=[report(), failed]))
    assert status["report"] == 8
    assert status["missing"] == [
        "gate report #8: accuracy >= 0.9 failed: 0.85",
        "gate report #8: f1 >= production error",
    ]


def test_a_report_goes_stale_when_its_baseline_alias_moved() -> None:
    stale = report(baseline={"production": 1, "staging": None})
    status = evaluate(given(reports=[stale], aliases={"production": 2, "staging": 1}))
    assert status["missing"] == [
        "gate report #7 compared with production version 1, but production is now "
        "version 2; run the gates again",
        "gate report #7 compared with staging unset, but staging is now version 1; "
        "run the gates again",
    ]


def test_signoffs_count_owners_only_and_the_latest_decision() -> None:
    approvals = [
        approval("mallory", "data-science"),  # not an owner
        approval("eli", "engineering"),
        approval("eli", "engineering", "reject", "too slow"),
    ]
    status = evaluate(given(approvals=approvals))
    assert status["missing"] == [
        "needs 1 data-science sign-off(s), has 0; one of dana, dan runs "
        "`shipway approve churn 3 --role data-science`",
        "needs 1 engineering sign-off(s), has 0; one of eli runs "
        "`shipway approve churn 3 --role engineering`",
        "rejected by eli (engineering): too slow",
    ]
