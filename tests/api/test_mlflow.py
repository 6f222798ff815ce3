"""The unmodified mlflow client against `shipway server`: experiments and runs land in
shipway's store, visible from shipway's own client, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import mlflow
import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

import shipway as sw
from shipway.api.server import BackgroundServer
from shipway.config import Settings
from shipway.services import Services


@pytest.fixture
def mlflow_url(settings: Settings) -> Iterator[str]:
    services = Services.open(settings, actor="server")
    server = BackgroundServer(services)
    url = server.start()
    mlflow.set_tracking_uri(url)
    try:
        yield url
    finally:
        if mlflow.active_run():
            mlflow.end_run()
        mlflow.set_tracking_uri(None)
        server.stop()
        services.close()


def test_mlflow_runs_land_in_shipway(mlflow_url: str, settings: Settings) -> None:
    mlflow.set_experiment("churn")  # unknown: the client creates it after a 404
    with mlflow.start_run(run_name="rf") as run:
        mlflow.log_param("lr", 0.1)
        mlflow.log_params({"depth": 4, "model": "rf"})
        for step in range(5):
            mlflow.log_metric("loss", 1 / (step + 1), step=step)
        mlflow.log_metrics({"acc": 0.9, "f1": 0.8})
        mlflow.set_tags({"team": "growth"})
    got = mlflow.get_run(run.info.run_id)
    assert got.info.status == "FINISHED" and got.info.run_name == "rf"
    assert got.data.params == {"lr": "0.1", "depth": "4", "model": "rf"}
    assert got.data.metrics == {"loss": 0.2, "acc": 0.9, "f1": 0.8}
    assert got.data.tags["team"] == "growth"
    client = MlflowClient()
    assert [m.value for m in client.get_metric_history(run.info.run_id, "loss")] == [
        1.0, 0.5, 1 / 3, 0.25, 0.2
    ]  # fmt: skip
    found = mlflow.search_runs(
        experiment_names=["churn"], filter_string="metrics.acc > 0.5", output_format="list"
    )
    assert [r.info.run_id for r in found] == [run.info.run_id]
    finished = mlflow.search_runs(  # MLflow's attribute names and uppercase statuses
        experiment_names=["churn"],
        filter_string="attributes.status = 'FINISHED' and attributes.run_name = 'rf'",
        order_by=["metrics.acc DESC"],
        output_format="list",
    )
    assert [r.info.run_id for r in finished] == [run.info.run_id]
    # one store: shipway's own client sees the same run
    ours = sw.Client("", settings=settings)
    stored = ours.get_run(run.info.run_id)
    assert stored.experiment == "churn" and stored.name == "rf" and stored.status == "finished"
    assert stored.params == {"depth": "4", "lr": "0.1", "model": "rf"}
    assert [p.value for p in ours.get_metric_history(run.id if False else stored.id, "loss")][
        -1
    ] == 0.2
    ours.close()


def test_mlflow_default_experiment_batches_and_errors(mlflow_url: str) -> None:
    client = MlflowClient()
    assert client.get_experiment("0").name == "Default"
    with mlflow.start_run() as run:  # no experiment set: Default, id "0"
        client.log_batch(
            run.info.run_id,
            metrics=[mlflow.entities.Metric("m", 1.5, 0, 3)],
            params=[mlflow.entities.Param("p", "x")],
            tags=[mlflow.entities.RunTag("t", "y")],
        )
    assert run.info.experiment_id == "0"
    got = client.get_run(run.info.run_id)
    assert got.data.metrics["m"] == 1.5 and got.data.params["p"] == "x"
    with pytest.raises(MlflowException) as missing:
        client.get_run("no-such-run")
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as taken:
        client.create_experiment("Default")
    assert taken.value.error_code == "RESOURCE_ALREADY_EXISTS"
    too_many = httpx.post(
        f"{mlflow_url}/api/2.0/mlflow/runs/log-batch",
        json={
            "run_id": run.info.run_id,
            "params": [{"key": f"k{i}", "value": "v"} for i in range(101)],
        },
    )
    assert (
        too_many.status_code == 400 and too_many.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    )
    bad = httpx.post(f"{mlflow_url}/api/2.0/mlflow/runs/create", content=b"{not json")
    assert bad.status_code == 400 and bad.json()["error_code"] == "MALFORMED_REQUEST"
