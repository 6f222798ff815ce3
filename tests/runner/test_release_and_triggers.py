"""The release tail as steps (register, gates, promote) against a real contract, and what
starts a pipeline by itself: a cron schedule (with an injected clock), a new dataset
version, and monitoring's retrain action — whose pipeline's final gate refuses a worse
model. Scheduled runs are real ``shipway pipelines run --queued`` processes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from churn_project import Project

import shipway as sw
from shipway.demo.churn import FEATURES
from shipway.pipelines.service import next_fire
from shipway.runner import load
from shipway.runner.scheduler import PipelineScheduler
from shipway.services import Services
from shipway.testing.predictions import write_prediction_log

RETRAIN = """
import pandas as pd

import shipway as sw
from shipway.demo.churn import FEATURES, PLANS, good_model, weak_model


def frame_of(raw):
    frame = raw.to_pandas()
    frame["plan"] = pd.Categorical(frame["plan"], categories=PLANS)  # CSV reads strings
    return frame


@sw.step
def train(raw, kind="weak"):
    frame = frame_of(raw)
    return good_model(frame) if kind == "good" else weak_model(frame)


@sw.step
def example(raw):
    return frame_of(raw)[FEATURES].head(3)


@sw.pipeline(name="churn-retrain", experiment="churn-retrain")
def retrain(kind: str = "weak"):
    raw = sw.dataset("churn-train")
    version = sw.register(
        train(raw, kind=kind),
        "churn",
        input_example=example(raw),
        holdout=sw.dataset("churn-holdout"),
    )
    sw.promote(version, "production", gates=sw.gates(version))
"""

HOUR = 3_600_000


@pytest.fixture
def retrain_project(local_project: Project) -> Path:
    local_project.client.set_contract("churn", local_project.contract())
    (local_project.folder / "retrain.py").write_text(RETRAIN)
    return local_project.folder


@pytest.fixture
def on_cluster(dask_client: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Scheduled runs (separate processes) submit to the test cluster too."""
    monkeypatch.setenv("SHIPWAY_DASK_SCHEDULER", dask_client.scheduler.address)
    return dask_client


def test_release_steps_register_with_lineage_gate_and_wait_for_sign_off(
    local_project: Project, retrain_project: Path, dask_client: Any
) -> None:
    client = local_project.client
    pipe = load("retrain.py", retrain_project)
    good = pipe.run({"kind": "good"}, client=client, dask=dask_client)
    assert good.status == "finished"
    assert good.outcome.startswith("churn v3 waiting for production: needs 1 data-science")
    assert [s.detail for s in good.steps if s.name == "register"] == ["registered churn v3"]
    assert good.step("gates").detail == "gates passed for churn v3"
    lineage = client.get_lineage("churn", 3)
    assert "churn-train@1" in str(lineage)
    with pytest.raises(sw.ShipwayError, match="has no alias 'production'"):
        client.resolve("models:/churn@production")  # not promoted yet

    again = pipe.run({"kind": "good"}, client=client, dask=dask_client)
    assert again.step("register").status == "cached"  # the same model is not registered twice
    assert again.step("promote").status == "ran"  # the policy is asked every time
    assert len(client.list_model_versions("churn")) == 3

    weak = pipe.run({"kind": "weak"}, client=client, dask=dask_client)
    assert weak.status == "finished"
    assert weak.outcome.startswith("churn v4 not promoted to production: gates failed")
    assert weak.step("gates").output is not None
    gates_run = client.get_run(weak.step("gates").run_id or "")
    assert gates_run.metrics["gates.passed"] == 0.0


def wait_for(predicate: Any, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_a_cron_schedule_fires_once_when_due_with_an_injected_clock(
    local_project: Project, retrain_project: Path, on_cluster: Any
) -> None:
    client = local_project.client
    client.pipelines.register("churn-retrain", "retrain.py", str(retrain_project))
    schedule = client.pipelines.schedule("churn-retrain", cron="0 3 * * *", params={"kind": "weak"})
    due = next_fire("0 3 * * *", schedule.created_at)
    scheduler = PipelineScheduler(client.settings, interval=0, client=client)
    assert scheduler.run_once(now=due - 60_000) == []
    (started,) = scheduler.run_once(now=due + 1_000)
    assert scheduler.run_once(now=due + 2_000) == []  # fired once for that time
    scheduler.wait(240)
    run = client.pipelines.get_run(started)
    assert run.status == "finished", (run.outcome, run.error)
    assert run.trigger == "schedule" and run.trigger_detail["cron"] == "0 3 * * *"
    assert run.params == {"kind": "weak"}
    assert "not promoted" in run.outcome
    log = (client.settings.home / "pipelines" / f"run-{started}.log").read_text()
    assert "churn-retrain" in log
    with pytest.raises(sw.ShipwayError, match="cron expression '61 \\* \\* \\* \\*' is not valid"):
        client.pipelines.schedule("churn-retrain", cron="61 * * * *")


def test_a_new_dataset_version_starts_the_pipeline_one_run_at_a_time(
    local_project: Project, retrain_project: Path, on_cluster: Any
) -> None:
    client = local_project.client
    client.pipelines.register("churn-retrain", "retrain.py", str(retrain_project))
    client.pipelines.schedule("churn-retrain", on_dataset="churn-train")
    scheduler = PipelineScheduler(client.settings, interval=0, client=client)
    assert scheduler.run_once() == []  # no new version yet
    sw.datasets.add("churn-train", retrain_project / "holdout.csv", client=client)
    queued = client.pipelines.request_run("churn-retrain", params={"kind": "weak"})
    first = scheduler.run_once()
    assert len(first) == 1  # the dataset's run and the API's: one at a time per pipeline
    scheduler.wait(240)
    second = scheduler.run_once()
    assert len(second) == 1
    scheduler.wait(240)
    runs = {r.id: r for r in client.pipelines.list_runs("churn-retrain")}
    by_trigger = {r.trigger: r for r in runs.values()}
    assert set(by_trigger) == {"dataset", "api"}
    assert by_trigger["dataset"].trigger_detail["dataset"] == "churn-train@2"
    assert by_trigger["api"].id == queued.id
    assert all(r.status == "finished" for r in runs.values())


def test_monitorings_retrain_action_runs_a_pipeline_whose_gate_refuses_a_worse_model(
    local_project: Project, retrain_project: Path, on_cluster: Any
) -> None:
    client = local_project.client
    client.pipelines.register("churn-retrain", "retrain.py", str(retrain_project))
    contract = local_project.contract().split("monitoring:\n")[0] + (
        "monitoring:\n  drift: {share_above: 0.2, window: 1h}\n  on_breach: retrain\n"
        "  retrain: {pipeline: churn-retrain, params: {kind: weak}}\n"
    )
    client.set_contract("churn", contract)
    client.promote("churn", 1, force=True, reason="baseline")
    now = int(time.time() * 1000) // HOUR * HOUR + 55 * 60_000
    frame: pd.DataFrame = local_project.holdout.copy()
    frame["tenure_months"] = frame["tenure_months"] + 40  # drifted traffic
    write_prediction_log(
        client,
        "churn",
        1,
        frame[FEATURES],
        local_project.models[1].predict(frame[FEATURES]),
        start_ms=now - 10 * 60_000,
        step_ms=100,
    )
    monitor = Services.open(client.settings, actor="monitor")
    try:
        (alert,) = monitor.monitoring.run_at("churn", now)["alerts"]
    finally:
        monitor.close()
    assert alert["action"] == "retrain"
    assert alert["action_result"]["status"] == "queued"
    number = alert["action_result"]["pipeline_run"]
    scheduler = PipelineScheduler(client.settings, interval=0, client=client)
    assert scheduler.run_once() == [number]
    scheduler.wait(240)
    run = client.pipelines.get_run(number)
    assert run.status == "finished", (run.outcome, run.error)
    assert run.trigger == "alert" and run.trigger_detail["alert_id"] == alert["id"]
    assert run.outcome.startswith("churn v3 not promoted to production: gates failed")
    assert client.resolve("models:/churn@production").version == 1  # production kept


def test_an_unknown_retrain_pipeline_fails_the_action_with_its_reason(
    local_project: Project,
) -> None:
    client = local_project.client
    contract = local_project.contract().split("monitoring:\n")[0] + (
        "monitoring:\n  drift: {share_above: 0.2, window: 1h}\n  on_breach: retrain\n"
        "  retrain: {pipeline: nope}\n"
    )
    client.set_contract("churn", contract)
    now = int(time.time() * 1000) // HOUR * HOUR + 55 * 60_000
    frame = local_project.holdout.copy()
    frame["tenure_months"] = frame["tenure_months"] + 40
    write_prediction_log(
        client,
        "churn",
        1,
        frame[FEATURES],
        local_project.models[1].predict(frame[FEATURES]),
        start_ms=now - 10 * 60_000,
        step_ms=100,
    )
    monitor = Services.open(client.settings, actor="monitor")
    try:
        (alert,) = monitor.monitoring.run_at("churn", now)["alerts"]
    finally:
        monitor.close()
    assert alert["action_result"]["status"] == "failed"
    assert "pipeline 'nope' is not known" in alert["action_result"]["reason"]
    with pytest.raises(sw.ShipwayError, match="give pipeline or command, not both"):
        client.set_contract(
            "churn",
            contract.replace("{pipeline: nope}", "{pipeline: nope, command: 'true'}"),
        )


def test_shipway_server_runs_a_run_queued_over_its_api(
    local_project: Project, retrain_project: Path, on_cluster: Any
) -> None:
    import os
    import socket
    import subprocess
    import sys

    client = local_project.client
    client.pipelines.register("churn-retrain", "retrain.py", str(retrain_project))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    home = str(client.settings.home)
    env = {**os.environ, "SHIPWAY_SCHEDULER_INTERVAL": "0.5", "SHIPWAY_MONITOR_INTERVAL": "0"}
    server = subprocess.Popen(
        [sys.executable, "-m", "shipway", "server", "--home", home, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        remote = sw.Client(f"http://127.0.0.1:{port}", settings=client.settings)
        wait_for(lambda: _up(remote), 60)
        queued = remote.pipelines.request_run("churn-retrain", params={"kind": "weak"})
        assert queued.status == "queued" and queued.trigger == "api"
        wait_for(lambda: remote.pipelines.get_run(queued.id).status in ("finished", "failed"))
        done = remote.pipelines.get_run(queued.id)
        assert done.status == "finished", (done.outcome, done.error)
        assert done.run_id and remote.get_run(done.run_id).tags["shipway.trigger"] == "api"
        remote.close()
    finally:
        server.terminate()
        server.wait(30)


def _up(client: sw.Client) -> bool:
    try:
        client.pipelines.list_pipelines()
    except sw.ShipwayError:
        return False
    return True
