"""Gate runs: every check type, measured for real, and bad input as failed checks."""

from __future__ import annotations

import pytest
from churn_project import Project
from sklearn.metrics import accuracy_score, f1_score, recall_score, roc_auc_score

import shipway as sw
from shipway.demo.churn import FEATURES
from shipway.errors import NotFound
from shipway.records import GateReport


def by_name(report: GateReport) -> dict[str, object]:
    return {c.name: c for c in report.checks}


def test_a_good_version_passes_every_check_with_measured_values(project: Project) -> None:
    client = project.client
    client.set_contract("churn", project.contract())
    report = client.run_gates("churn", 1)
    assert report.status == "passed", [(c.name, c.reason) for c in report.checks]
    kinds = {c.kind for c in report.checks}
    assert kinds == {
        "model",
        "schema",
        "privacy",
        "reproducibility",
        "package_size",
        "metric",
        "latency",
        "memory",
    }
    checks = {c.name: c for c in report.checks}
    model, holdout = project.models[1], project.holdout
    predicted = model.predict(holdout[FEATURES])
    accuracy = checks[f"accuracy >= 0.72 on {project.holdout_ref}"]
    assert accuracy.value == pytest.approx(accuracy_score(holdout.churned, predicted), abs=1e-6)
    assert accuracy.threshold == 0.72
    roc = checks["roc_auc >= 0.85"]
    expected_auc = roc_auc_score(holdout.churned, model.predict_proba(holdout[FEATURES])[:, 1])
    assert roc.value == pytest.approx(expected_auc, abs=1e-6)
    eu = (holdout.region == "EU").to_numpy()
    segment = checks["recall >= 0.5 where region = 'EU'"]
    assert segment.value == pytest.approx(
        recall_score(holdout.churned[eu], predicted[eu]), abs=1e-6
    )
    assert segment.details["rows"] == int(eu.sum())
    relative = checks["f1 >= production - 0.02"]
    assert relative.status == "skipped" and "no version holds 'production'" in relative.reason
    latency = next(c for c in report.checks if c.kind == "latency")
    assert 0 < latency.value["p50_ms"] <= latency.value["p95_ms"] <= latency.value["p99_ms"]
    assert latency.threshold == {"p95_ms": 2000.0, "p99_ms": 5000.0}
    assert latency.details["requests"] == 30
    memory = next(c for c in report.checks if c.kind == "memory")
    assert memory.value > 0 and memory.threshold == 512
    assert report.datasets == [project.holdout_ref]
    # stored, and read back the same through either client
    assert client.get_gate_report(report.id) == report
    assert [r.id for r in client.gate_reports("churn", 1)] == [report.id]


def test_a_weak_version_fails_its_metric_gate_and_relative_gates_compare(project: Project) -> None:
    client = project.client
    client.set_contract("churn", project.contract())
    client.registry.set_alias("churn", 1, "staging")  # not governed
    with pytest.raises(Exception, match="moves only through promotion"):
        client.set_alias("churn", 1, "production")
    assert client.run_gates("churn", 1).passed
    # production is v1 (forced here by an admin: the local client is one)
    client.promote("churn", 1, force=True, reason="first launch")
    report = client.run_gates("churn", 2)
    assert report.status == "failed"
    checks = {c.name: c for c in report.checks}
    auc = checks["roc_auc >= 0.85"]
    assert auc.status == "failed" and "roc_auc is" in auc.reason and "needs >= 0.8500" in auc.reason
    relative = checks["f1 >= production - 0.02"]
    holdout = project.holdout
    f1_v1 = f1_score(holdout.churned, project.models[1].predict(holdout[FEATURES]))
    f1_v2 = f1_score(holdout.churned, project.models[2].predict(holdout[FEATURES]))
    assert relative.details["baseline_version"] == 1
    assert relative.threshold == pytest.approx(f1_v1 - 0.02, abs=1e-6)
    assert relative.value == pytest.approx(f1_v2, abs=1e-6)
    assert relative.status == ("passed" if f1_v2 >= f1_v1 - 0.02 else "failed")
    assert report.baseline == {"production": 1}


def test_missing_dataset_and_label_are_errors_with_reasons(local_project: Project) -> None:
    client = local_project.client
    text = local_project.contract().replace(
        "  - roc_auc >= 0.85\n", "  - roc_auc >= 0.85 on churn-nowhere@1\n"
    )
    client.set_contract("churn", text)
    report = client.run_gates("churn", 1)
    assert report.status == "error"
    missing = by_name(report)["roc_auc >= 0.85 on churn-nowhere@1"]
    assert missing.status == "error" and "no dataset 'churn-nowhere'" in missing.reason
    assert by_name(report)[f"accuracy >= 0.72 on {local_project.holdout_ref}"].status == "passed"

    client.set_contract(
        "churn", local_project.contract().replace("label: churned", "label: cancelled")
    )
    report = client.run_gates("churn", 1)
    accuracy = by_name(report)[f"accuracy >= 0.72 on {local_project.holdout_ref}"]
    assert accuracy.status == "error"
    assert "has no label column 'cancelled'" in accuracy.reason and "churned" in accuracy.reason


def test_schema_conflicts_are_each_listed_and_pii_inputs_fail(local_project: Project) -> None:
    client = local_project.client
    text = (
        local_project.contract()
        .replace("  support_calls: {type: int, min: 0}\n", "  support_calls: {type: string}\n")
        .replace(
            "  tenure_months: {type: int, min: 0, max: 600}\n",
            "  tenure_months: {type: int, nullable: true}\n  region: {type: string}\n",
        )
        .replace("forbidden_inputs: [email, customer_id]", "forbidden_inputs: [email, plan]")
    )
    client.set_contract("churn", text)
    report = client.run_gates("churn", 1)
    schema = next(c for c in report.checks if c.kind == "schema")
    assert schema.status == "failed"
    conflicts = schema.details["conflicts"]
    assert any(c.startswith("support_calls: the contract says string") for c in conflicts)
    assert any(c.startswith("tenure_months: the contract allows nulls") for c in conflicts)
    assert any(c.startswith("region: in the contract's schema but not an input") for c in conflicts)
    assert schema.value == len(conflicts) == 3
    privacy = next(c for c in report.checks if c.kind == "privacy")
    assert privacy.status == "failed" and privacy.value == ["plan"]


def test_budgets_fail_when_exceeded(local_project: Project) -> None:
    client = local_project.client
    text = (
        local_project.contract(p95_ms=0.001, p99_ms=0.002)
        .replace("package_mb: 50", "package_mb: 0.0001")
        .replace("memory_mb: 512", "memory_mb: 0.0001")
    )
    client.set_contract("churn", text)
    report = client.run_gates("churn", 1)
    kinds = {c.kind: c for c in report.checks}
    assert kinds["latency"].status == "failed" and "p95" in kinds["latency"].reason
    assert kinds["package_size"].status == "failed" and kinds["package_size"].value > 0.0001
    assert kinds["memory"].status == "failed"
    assert report.status == "failed"


def test_reproducibility_checks_read_the_run(local_project: Project) -> None:
    client = local_project.client
    # a version trained without capture: no git commit, no entry point, no environment
    with sw.start_run(experiment="churn", client=client, capture=False) as run:
        version = run.log_model(local_project.models[1], register="churn")
    text = local_project.contract().replace(
        "reproducibility: {environment: true, data_linked: true}",
        "reproducibility: {clean_git: true, no_notebook: true, environment: true, "
        "data_linked: true}",
    )
    client.set_contract("churn", text)
    report = client.run_gates("churn", version.version)
    repro = {c.name: c for c in report.checks if c.kind == "reproducibility"}
    assert len(repro) == 4
    assert "no git commit" in repro["training code committed (git clean)"].reason
    assert "no entry point" in repro["trained from a script or module, not a notebook"].reason
    linked = repro["training and holdout data linked as dataset versions"]
    assert linked.status == "failed" and "training" in linked.reason
    # the package still records its requirements, so the environment is known
    assert repro["environment captured"].status == "passed"


def test_a_model_that_fails_to_load_fails_its_checks_without_a_crash(
    local_project: Project,
) -> None:
    client = local_project.client
    client.set_contract("churn", local_project.contract())
    version = client.get_model_version("churn", 1)
    # overwrite a file of the package after registration: it no longer verifies
    listed = client.backend.list_artifacts(version.run_id, version.artifact_path)
    victim = next(a for a in listed if not a.path.endswith("model.yaml"))
    folder, name = victim.path.rsplit("/", 1)
    tampered = local_project.folder / name
    tampered.write_bytes(b"not the model")
    client.backend.log_artifact(version.run_id, tampered, folder)
    report = client.run_gates("churn", 1)
    assert report.status == "error"
    checks = {c.kind: c for c in report.checks}
    assert checks["model"].status == "error"
    assert checks["latency"].status == "error" and "could not be loaded" in checks["latency"].reason
    assert checks["package_size"].status == "passed"  # what can still be checked, is


def test_no_contract_and_unknown_versions_are_clear_errors(local_project: Project) -> None:
    client = local_project.client
    with pytest.raises(NotFound, match="has no contract"):
        client.run_gates("churn", 1)
    client.set_contract("churn", local_project.contract())
    with pytest.raises(NotFound, match="no version 9"):
        client.run_gates("churn", 9)
    with pytest.raises(NotFound, match="no contract version 4"):
        client.run_gates("churn", 1, contract_version=4)
