"""The unmodified mlflow client against `shipway server`: experiments and runs land in
shipway's store, visible from shipway's own client, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import mlflow
import pandas as pd
import pytest
from mlflow.entities import LoggedModelStatus
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.tracking import MlflowClient
from mlflow.types import ColSpec, Schema

import shipway as sw
from shipway.api.server import BackgroundServer
from shipway.client.serving import ClientModelSource
from shipway.config import Settings
from shipway.demo.churn import FEATURES, churn_frame, contract_text, good_model
from shipway.services import Services
from shipway.serving.app import create_app
from shipway.serving.runtime import Runtime, ServeConfig
from shipway.serving.workers import background_serve

# warnings from MLflow's own code, not shipway's: mlflow 3.17's input-example code compares
# a pandas Index with a range (pandas 3 deprecates it), and importing mlflow.pyfunc warns
# about type hints in its own modules
pytestmark = [
    pytest.mark.filterwarnings("ignore:Operation with range is deprecated"),
    pytest.mark.filterwarnings("ignore:.*Any type hint is inferred as AnyType"),
]


@pytest.fixture
def mlflow_url(settings: Settings) -> Iterator[str]:
    services = Services.open(settings, actor="server")
    server = BackgroundServer(services)
    url = server.start()
    mlflow.set_tracking_uri(url)
    mlflow.set_experiment(experiment_id="0")  # forget an earlier test's experiment
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
    raw = httpx.get(f"{mlflow_url}/api/2.0/mlflow/runs/get", params={"run_id": run.info.run_id})
    latest = {m["key"]: m for m in raw.json()["run"]["data"]["metrics"]}
    assert latest["loss"]["step"] == 4 and latest["loss"]["timestamp"] >= run.info.start_time
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


def _churn(seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame, Any]:
    train, holdout = churn_frame(1500, seed=seed), churn_frame(600, seed=seed + 1)
    return train, holdout, good_model(train)


def test_a_training_script_for_mlflow_runs_unmodified(
    mlflow_url: str, settings: Settings, tmp_path: Path
) -> None:
    """What a team's MLflow script does, end to end, and then shipway serving, gating and
    refusing to move production on the model it logged."""
    train, holdout, model = _churn()
    X = train[FEATURES].astype({"plan": object})  # MLflow types pandas 3's str as "any"
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "curve.txt").write_text("roc")
    (tmp_path / "notes.md").write_text("# notes")

    mlflow.set_experiment("churn-mlflow")
    with mlflow.start_run(run_name="lr") as run:
        mlflow.log_params({"C": 1.0, "model": "lr"})
        for step in range(3):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_metric("acc", 0.91)
        mlflow.set_tag("team", "growth")
        mlflow.log_artifact(str(tmp_path / "notes.md"))
        mlflow.log_artifacts(str(tmp_path / "plots"), artifact_path="plots")
        mlflow.log_input(mlflow.data.from_pandas(train, name="churn-train"), context="training")
        signature = ModelSignature(  # written out: inference swallows warnings-as-errors
            inputs=Schema(
                [
                    ColSpec("long", "tenure_months"),
                    ColSpec("string", "plan"),
                    ColSpec("double", "monthly_charges"),
                    ColSpec("long", "support_calls"),
                ]
            ),
            outputs=Schema([ColSpec("long")]),
        )
        info = mlflow.sklearn.log_model(  # MLflow's default format: skops
            model, name="model", signature=signature, input_example=X.head(3)
        )
        native = mlflow.sklearn.log_model(  # cloudpickle: shipway's own sklearn flavor
            model,
            name="pickled",
            signature=signature,
            input_example=X.head(3),
            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
        )
    client = MlflowClient()
    assert info.model_id.startswith("m-")
    assert client.get_logged_model(info.model_id).status == LoggedModelStatus.READY
    listed = {f.path: f.is_dir for f in client.list_artifacts(run.info.run_id)}
    assert listed["notes.md"] is False and listed["plots"] is True
    assert [f.path for f in client.list_artifacts(run.info.run_id, "plots")] == ["plots/curve.txt"]
    got = client.get_run(run.info.run_id)
    assert got.inputs.dataset_inputs[0].dataset.name == "churn-train"
    assert got.inputs.dataset_inputs[0].tags[0].value == "training"
    assert {o.model_id for o in got.outputs.model_outputs} == {info.model_id, native.model_id}

    version = mlflow.register_model(f"runs:/{run.info.run_id}/model", "churn-ml")
    assert version.version == "1"
    client.set_registered_model_alias("churn-ml", "champion", "1")
    assert client.get_model_version_by_alias("churn-ml", "champion").version == "1"
    loaded = mlflow.pyfunc.load_model("models:/churn-ml@champion")
    H = holdout[FEATURES].astype({"plan": object})
    assert list(loaded.predict(H)) == list(model.predict(H))
    with pytest.warns(FutureWarning, match="deprecated"):  # stages: MLflow deprecates them
        client.transition_model_version_stage("churn-ml", "1", "Staging")
        staged = client.get_latest_versions("churn-ml", ["Staging"])
    assert [v.version for v in staged] == ["1"]
    client.delete_registered_model_alias("churn-ml", "champion")
    with pytest.raises(MlflowException) as missing:
        client.get_model_version_by_alias("churn-ml", "champion")
    assert missing.value.error_code == "INVALID_PARAMETER_VALUE"

    # one store: shipway's client sees the run, its files, its data and its models
    ours = sw.Client("", settings=settings)
    stored = ours.get_run(run.info.run_id)
    assert stored.experiment == "churn-mlflow" and stored.params["model"] == "lr"
    paths = {a.path for a in ours.list_artifacts(run.info.run_id)}
    assert {"notes.md", "plots/curve.txt", "model/MLmodel", "model/model.yaml"} <= paths
    assert [i.dataset for i in ours.datasets.inputs(run.info.run_id)] == ["churn-train"]
    assert ours.resolve("models:/churn-ml@staging").version == 1
    history = ours.registry.history("churn-ml", "champion")
    assert [(e.from_version, e.to_version) for e in history] == [(None, 1), (1, None)]

    # shipway serves the MLflow-logged model and its contract's gates run on it
    pickled = mlflow.register_model(f"runs:/{run.info.run_id}/pickled", "churn-ml")
    assert pickled.version == "2"
    assert ours.registry.get_version("churn-ml", 2).flavor == "sklearn"
    assert ours.registry.get_version("churn-ml", 1).flavor == "mlflow"
    rows = holdout[FEATURES].head(5).to_dict(orient="records")
    for number in (1, 2):  # skops through mlflow.pyfunc, cloudpickle natively
        runtime = Runtime(
            ClientModelSource(ours),
            models=[f"models:/churn-ml/{number}"],
            config=ServeConfig(log_flush_seconds=0.2),
        )
        with background_serve(create_app(runtime)) as url:
            answer = httpx.post(f"{url}/v1/models/churn-ml/predict", json={"records": rows})
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"] == list(model.predict(H.head(5)))
    holdout.to_csv(tmp_path / "holdout.csv", index=False)
    held = sw.datasets.add("churn-holdout", tmp_path / "holdout.csv", client=ours)
    ours.datasets.log_input(run.info.run_id, held.ref, "holdout")  # the gates' data, linked
    text = contract_text(held.ref, requests=20, warmup=5, p95_ms=2000, p99_ms=5000)
    text = text.replace("model: churn\n", "model: churn-ml\n", 1)
    category = "plan: {type: category, values: [basic, plus, pro]}"
    text = text.replace(category, "plan: {type: string}")
    ours.set_contract("churn-ml", text)  # MLflow's signature types the plan as a string
    report = ours.run_gates("churn-ml", 2)
    assert report.passed, [(c.name, c.reason) for c in report.checks if c.status == "failed"]
    # production moves only through the promotion policy, from MLflow's API too
    with pytest.raises(MlflowException) as refused:
        client.set_registered_model_alias("churn-ml", "production", "2")
    assert refused.value.error_code == "PERMISSION_DENIED"
    assert "sign-off" in refused.value.message
    with pytest.raises(MlflowException), pytest.warns(FutureWarning, match="deprecated"):
        client.transition_model_version_stage("churn-ml", "2", "Production")
    assert "production" not in ours.registry.get_model("churn-ml").aliases
    ours.close()


def test_mlflow_error_paths_answer_as_mlflow_does(mlflow_url: str) -> None:
    client = MlflowClient()
    with pytest.raises(MlflowException) as no_experiment:
        client.get_experiment("999")
    assert no_experiment.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    client.create_registered_model("dup")
    with pytest.raises(MlflowException) as dup:
        client.create_registered_model("dup")
    assert dup.value.error_code == "RESOURCE_ALREADY_EXISTS"
    with mlflow.start_run() as run:
        mlflow.log_param("p", 1)
        with pytest.raises(MlflowException) as changed:
            mlflow.log_param("p", 2)
        assert changed.value.error_code == "INVALID_PARAMETER_VALUE"
        with pytest.raises(MlflowException) as bad_filter:
            mlflow.search_runs(filter_string="metrics.acc >>> 1", output_format="list")
        assert bad_filter.value.error_code == "INVALID_PARAMETER_VALUE"
    assert run.info.run_id
    unknown = httpx.post(f"{mlflow_url}/api/2.0/mlflow/no-such/route", json={})
    assert unknown.status_code == 404 and unknown.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    traces = httpx.post(f"{mlflow_url}/api/2.0/mlflow/traces", json={})
    assert traces.status_code == 501 and traces.json()["error_code"] == "NOT_IMPLEMENTED"
    hostile = httpx.put(
        f"{mlflow_url}/api/2.0/mlflow-artifacts/artifacts/0/{run.info.run_id}/artifacts/../x",
        content=b"x",
    )
    assert hostile.status_code == 400 and hostile.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert httpx.get(f"{mlflow_url}/health").text == "OK"
    assert httpx.get(f"{mlflow_url}/api/3.0/mlflow/server-info").json()["artifact_serving_enabled"]


def test_experiments_lifecycle_tags_and_paging(mlflow_url: str) -> None:
    client = MlflowClient()
    eid = client.create_experiment("exp-a", tags={"team": "growth"})
    client.set_experiment_tag(eid, "stage", "dev")
    client.set_experiment_tag(eid, "mlflow.note.content", "about a")
    got = client.get_experiment(eid)
    assert got.tags == {"team": "growth", "stage": "dev", "mlflow.note.content": "about a"}
    client.delete_experiment_tag(eid, "stage")
    client.rename_experiment(eid, "exp-b")
    assert client.get_experiment_by_name("exp-b").experiment_id == eid
    client.delete_experiment(eid)
    assert client.get_experiment(eid).lifecycle_stage == "deleted"
    assert "exp-b" not in [e.name for e in client.search_experiments()]
    client.restore_experiment(eid)
    assert [e.name for e in client.search_experiments(filter_string="name LIKE 'exp-%'")] == [
        "exp-b"
    ]
    for i in range(5):
        with mlflow.start_run(experiment_id=eid):
            mlflow.log_metric("acc", i / 10)
    first = client.search_runs([eid], order_by=["metrics.acc DESC"], max_results=2)
    second = client.search_runs(
        [eid], order_by=["metrics.acc DESC"], max_results=2, page_token=first.token
    )
    values = [r.data.metrics["acc"] for r in [*first, *second]]
    assert values == [0.4, 0.3, 0.2, 0.1]


def test_mlflow_auth_by_bearer_token_or_basic_user_and_token(
    sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings.load(
        overrides={"home": str(sqlite_settings.home), "auth": True}, environ={}
    )
    services = Services.open(settings, actor="bootstrap")
    secrets = {}
    for name, role in [("dee", "data-scientist"), ("vic", "viewer")]:
        services.accounts.create_user(name, role)
        secret = services.accounts.create_token(name).secret
        assert secret is not None
        secrets[name] = secret
    server = BackgroundServer(services)
    url = server.start()
    try:
        mlflow.set_tracking_uri(url)
        with pytest.raises(MlflowException) as anonymous:
            MlflowClient().search_experiments()
        assert anonymous.value.error_code == "UNAUTHENTICATED"
        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", secrets["vic"])
        assert "Default" in [e.name for e in MlflowClient().search_experiments()]
        with pytest.raises(MlflowException) as viewer:
            MlflowClient().create_experiment("not-for-viewers")
        assert viewer.value.error_code == "PERMISSION_DENIED"
        monkeypatch.delenv("MLFLOW_TRACKING_TOKEN")
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "dee")
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", secrets["dee"])
        run = MlflowClient().create_run(MlflowClient().create_experiment("by-dee"))
        assert services.tracking.get_run(run.info.run_id).user == "dee"
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "vic")  # dee's token, vic's name
        with pytest.raises(MlflowException) as mismatch:
            MlflowClient().search_experiments()
        assert mismatch.value.error_code == "UNAUTHENTICATED"
    finally:
        mlflow.set_tracking_uri(None)
        server.stop()
        services.close()
