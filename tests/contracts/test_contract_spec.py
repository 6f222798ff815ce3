"""The contract file: every section checked, every problem reported with its line."""

from __future__ import annotations

import pytest

from shipway.contracts import parse, parse_gate
from shipway.demo.churn import contract_text
from shipway.errors import ContractError


def problems(text: str) -> list[dict[str, object]]:
    with pytest.raises(ContractError) as info:
        parse(text, model="churn")
    found: list[dict[str, object]] = info.value.details["problems"]
    return found


def test_the_demo_contract_is_valid_and_normalised() -> None:
    spec = parse(contract_text("churn-holdout@3"), model="churn").spec
    assert spec["task"] == "binary-classification"
    assert spec["owners"]["engineering"] == ["eli"]
    assert spec["schema"]["email"]["pii"] is True
    assert spec["schema"]["tenure_months"] == {
        "type": "int",
        "nullable": False,
        "pii": False,
        "min": 0,
        "max": 600,
    }
    assert spec["privacy"]["log"] == {"hash": ["customer_id"], "drop": ["email"]}
    gates = {g["text"]: g for g in spec["gates"]}
    assert gates["roc_auc >= 0.85"]["dataset"] == "churn-holdout@3"  # the default holdout
    assert gates["f1 >= production - 0.02"]["relative"] == {"alias": "production", "offset": -0.02}
    segment = gates["recall >= 0.5 where region = 'EU'"]
    assert segment["where"] == [{"column": "region", "op": "==", "value": "EU"}]
    assert spec["budgets"]["latency"]["p95_ms"] == 100.0
    assert spec["approvals"] == {"data-science": 1, "engineering": 1}
    monitoring = spec["monitoring"]
    assert monitoring["on_breach"] == "rollback"
    assert monitoring["rules"]["drift"]["share_above"] == 0.2
    assert monitoring["rules"]["live"]["metrics"] == {"accuracy_below": 0.7}
    assert monitoring["rules"]["live"]["window"] == 3600.0
    assert monitoring["rules"]["latency"]["window"] == 300.0


def test_gate_grammar() -> None:
    gate = parse_gate(
        "rmse <= staging + 0.5 on prices@2 where city in ('Oslo', 'Bergen') and rooms > 2"
    )
    assert gate["metric"] == "rmse" and gate["op"] == "<="
    assert gate["relative"] == {"alias": "staging", "offset": 0.5}
    assert gate["dataset"] == "prices@2"
    assert gate["where"] == [
        {"column": "city", "op": "in", "value": ["Oslo", "Bergen"]},
        {"column": "rooms", "op": ">", "value": 2},
    ]
    assert parse_gate("accuracy > 0.9")["threshold"] == 0.9
    for bad in ("accuracy is high", "accuracy >= prod -", "accuracy >= 0.9 where region ~ 'EU'"):
        with pytest.raises(ValueError):
            parse_gate(bad)


def test_unknown_metric_suggests_the_closest_with_its_line() -> None:
    text = contract_text("churn-holdout@3").replace("- accuracy >= 0.72", "- acuracy >= 0.72")
    found = problems(text)
    assert len(found) == 1
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "acuracy" in row)
    assert found[0]["line"] == line
    assert found[0]["field"] == "gates[0]"
    assert "did you mean 'accuracy'" in str(found[0]["message"])


def test_every_problem_is_listed_at_once() -> None:
    text = """\
model: churn
objective: flag churners
task: regresion
label: churned
owners: {data-science: [dana]}
schema:
  age: {type: integr}
  plan: {type: category}
  tenure: {type: int, min: 10, max: 2}
gates:
  - accuracy >= 0.9
budgets:
  latency: {p95: 10}
  package_mb: -1
approvals: {data-science: 1, engineering: 1}
monitoring:
  drift: {share_above: 0.3, window: soon}
  on_breach: retrain
  colour: blue
"""
    with pytest.raises(ContractError) as info:
        parse(text, source="contract.yaml", model="churn")
    message = str(info.value)
    found = {p["field"]: p for p in info.value.details["problems"]}
    assert "task" in found and "regression" in str(found["task"]["message"])
    assert found["task"]["line"] == 3
    assert found["schema.age.type"]["line"] == 7
    assert "values" in str(found["schema.plan"]["message"])
    assert "above max" in str(found["schema.tenure.min"]["message"])
    assert "holdout" in str(found["gates[0]"]["message"])  # no dataset named anywhere
    assert "p95_ms" in str(found["budgets.latency.p95"]["message"])  # the suggestion
    assert found["budgets.package_mb"]["line"] == 14
    assert "owners.engineering" in str(found["approvals.engineering"]["message"])
    assert "duration" in str(found["monitoring.drift.window"]["message"])
    assert "retrain" in str(found["monitoring.on_breach"]["message"])
    assert "colour" in str(found["monitoring.colour"]["message"])
    assert message.startswith("contract.yaml is not valid (")
    assert "line 3, task:" in message


def test_metric_must_fit_the_task_and_model_name_must_match() -> None:
    text = contract_text("churn-holdout@3").replace("- roc_auc >= 0.85", "- rmse <= 3")
    (problem,) = problems(text)
    assert "does not apply to binary-classification" in str(problem["message"])
    with pytest.raises(ContractError, match="for 'churn', not 'other'"):
        parse(contract_text("churn-holdout@3"), model="other")


def test_yaml_syntax_error_names_the_line() -> None:
    with pytest.raises(ContractError, match="line 3"):
        parse("objective: x\ntask: regression\n  label: y\nholdout: d@1\n", model="m")
    with pytest.raises(ContractError, match="empty"):
        parse("  \n", model="m")
    with pytest.raises(ContractError, match="mapping of sections"):
        parse("- just\n- a list\n", model="m")


def test_the_architecture_example_is_valid_and_label_is_needed_only_by_gates() -> None:
    text = """\
model: churn
objective: flag customers likely to cancel within 30 days, for the retention team
task: binary-classification
owners: {data-science: [ds-team], engineering: [platform-team], product: [retention-team]}
schema:
  tenure_months: {type: int, min: 0}
  plan: {type: category, values: [basic, plus, pro]}
  email: {type: string, pii: true}          # never a model input, hashed in logs
privacy: {forbidden_inputs: [email], log: {hash: [customer_id]}}
budgets: {latency: {p95_ms: 15, p99_ms: 40}, package_mb: 200, memory_mb: 1024}
reproducibility: {clean_git: true, no_notebook: true, data_linked: true}
approvals: {data-science: 1, engineering: 1}
monitoring:
  drift: {share_above: 0.3, window: 1h, for_windows: 3}
  live: {accuracy_below: 0.85, window: 1d}
  latency: {p95_ms_above: 25, window: 5m}
  on_breach: rollback          # none | rollback | retrain
"""
    spec = parse(text, model="churn").spec
    assert spec["label"] is None and spec["gates"] == []
    assert spec["monitoring"]["rules"]["drift"]["for_windows"] == 3
    with_gates = text + "gates:\n  - accuracy >= 0.90 on churn-holdout@3\n"
    (problem,) = problems(with_gates)
    assert problem["field"] == "gates" and "label: COLUMN" in str(problem["message"])


def test_hostile_or_malformed_values_are_problems_not_crashes() -> None:
    bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\nobjective: o\ntask: regression\n"
    with pytest.raises(ContractError, match="anchors and aliases"):
        parse(bomb, model="m")
    for gate in ("accuracy >= nan", "accuracy >= production - 1e999"):
        with pytest.raises(ValueError, match="finite"):
            parse_gate(gate)
    text = (
        contract_text("churn-holdout@3")
        .replace(
            "  drift: {share_above: 0.2, for_windows: 1, severity: warning}",
            "  drift: {share_above: 0.3, features: {plan: 5}}\n  live: {1: 2, accuracy_below: 0.7}",
        )
        .replace(
            "  live: {accuracy_below: 0.7, window: 1h, min_labels: 100, severity: critical}\n", ""
        )
    )
    found = {p["field"]: p["message"] for p in problems(text)}
    assert "features is a list" in str(found["monitoring.drift.features"])
    assert "unknown field '1'" in str(found["monitoring.live.1"])
    assert any(
        "min" in str(m)
        for m in problems(
            contract_text("churn-holdout@3").replace(
                "{type: float, min: 0}", "{type: float, min: .nan}"
            )
        )
    )


def test_drift_overrides_are_checked() -> None:
    base = contract_text("churn-holdout@3")
    text = base.replace(
        "  drift: {share_above: 0.2, for_windows: 1, severity: warning}",
        "  drift: {share_above: 0.2, threshold: 0.3, features: {plan: {method: bogus}, "
        "tenure_months: {threshold: 2}, support_calls: {method: psi, threshold: high}}}",
    )
    found = {p["field"]: str(p["message"]) for p in problems(text)}
    assert "needs its test" in found["monitoring.drift.threshold"]
    assert "method must be one of" in found["monitoring.drift.features.plan.method"]
    assert "needs its test" in found["monitoring.drift.features.tenure_months"]
    assert "number >= 0" in found["monitoring.drift.features.support_calls.threshold"]
