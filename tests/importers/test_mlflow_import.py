"""`shipway import mlflow` on stores written by the real MLflow: an SQLite database with
its artifact folder, and an mlruns folder. Everything comes across; a second import
imports nothing; an interrupted one continues."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
import pytest
from mlflow.tracking import MlflowClient
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

import shipway as sw
from shipway.api.server import BackgroundServer
from shipway.config import Settings
from shipway.errors import InvalidInput
from shipway.importers.mlflow import import_mlflow
from shipway.services import Services
from shipway.store.tables import imported as imported_table

pytestmark = [
    pytest.mark.filterwarnings("ignore:Operation with range is deprecated"),
    pytest.mark.filterwarnings("ignore:.*Any type hint is inferred as AnyType"),
    pytest.mark.filterwarnings("ignore:.*filesystem tracking backend"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),  # MLflow deprecates stages
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy"),  # MLflow on SA 2.1
]


def write_store(uri: str, artifacts: Path) -> dict[str, Any]:
    """What a team's MLflow history holds; returns what to look for after the import."""
    mlflow.set_tracking_uri(uri)
    client = MlflowClient()
    eid = client.create_experiment(
        "iris", artifact_location=artifacts.as_uri(), tags={"team": "growth"}
    )
    X, y = load_iris(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=300).fit(X, y)
    ids = []
    for c in (0.1, 1.0):
        with mlflow.start_run(experiment_id=eid, run_name=f"lr-{c}") as run:
            mlflow.log_param("C", c)
            for step in range(20):
                mlflow.log_metric("loss", 1 / (step + 1 + c), step=step)
            mlflow.set_tag("kind", "baseline")
            note = artifacts.parent / "note.txt"
            note.write_text(f"C={c}")
            mlflow.log_artifact(str(note), artifact_path="notes")
            mlflow.log_input(mlflow.data.from_pandas(X.head(20), name="iris-train"), "training")
            info = mlflow.sklearn.log_model(model, name="model", input_example=X.head(2))
            ids.append(run.info.run_id)
    version = mlflow.register_model(f"models:/{info.model_id}", "iris-clf")
    client.set_registered_model_alias("iris-clf", "champion", version.version)
    client.transition_model_version_stage("iris-clf", version.version, "Staging")
    client.delete_run(ids[0])
    points = sum(
        len(client.get_metric_history(i, key))
        for i in ids
        for key in client.get_run(i).data.metrics
    )
    mlflow.set_tracking_uri(None)
    return {
        "runs": ids,
        "points": points,
        "history": [(m.step, m.value) for m in client.get_metric_history(ids[1], "loss")],
        "model_id": info.model_id,
        "predict": model.predict(X.head(5)),
    }


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Services]:
    settings = Settings.load(overrides={"home": str(tmp_path / "home")}, environ={})
    services = Services.open(settings, actor="importer")
    yield services
    services.close()


def check_imported(services: Services, facts: dict[str, Any]) -> None:
    deleted, kept = facts["runs"]
    tracking = services.tracking
    run = tracking.get_run(kept)  # the original run id, kept
    assert run.experiment == "iris" and run.name == "lr-1.0" and run.status == "finished"
    assert run.params == {"C": "1.0"} and run.tags["kind"] == "baseline"
    history = tracking.get_metric_history(kept, "loss").items
    assert sorted((p.step, p.value) for p in history) == sorted(facts["history"])
    assert len(history) >= 20 and 1 / 21 in [p.value for p in history]
    assert tracking.get_run(deleted).deleted
    assert tracking.get_experiment("iris").tags == {"team": "growth"}
    paths = {a.path for a in services.artifacts.list(kept)}
    assert "notes/note.txt" in paths and "model/MLmodel" in paths and "model/model.yaml" in paths
    assert [i.dataset for i in services.datasets.inputs(kept)] == ["iris-train"]
    assert services.logged_models.get(facts["model_id"]).status == "ready"
    version = services.registry.resolve("models:/iris-clf@champion")
    assert version.run_id == kept and version.flavor == "mlflow"
    assert version.tags["mlflow.stage"] == "Staging"
    client = sw.Client("", settings=services.settings)
    loaded = sw.models.load("models:/iris-clf@champion", client=client)
    X, _ = load_iris(return_X_y=True, as_frame=True)
    assert list(loaded.predict(X.head(5))) == list(facts["predict"])
    client.close()


@pytest.mark.parametrize("kind", ["sqlite", "mlruns"])
def test_import_brings_everything_once(kind: str, tmp_path: Path, home: Services) -> None:
    if kind == "sqlite":
        uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    else:
        os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
        uri = str(tmp_path / "mlruns")
    facts = write_store(uri, tmp_path / "artifacts")
    db = tmp_path / "mlflow.db"
    before = db.read_bytes() if kind == "sqlite" else b""
    first = import_mlflow(home, uri)
    if kind == "sqlite":  # read from a copy: MLflow's client never migrates the source
        assert db.read_bytes() == before
    assert first.imported["runs"] == 2 and first.imported["model versions"] == 1
    assert first.imported["metric points"] == facts["points"] >= 40 and first.problems == []
    check_imported(home, facts)
    again = import_mlflow(home, uri)  # a second import: nothing new
    assert again.imported["runs"] == 0 and again.skipped["runs"] == 2
    assert again.imported["model versions"] == 0
    kept = len(facts["history"])
    assert len(home.tracking.get_metric_history(facts["runs"][1], "loss").items) == kept
    # an interrupted import (a run not marked done) continues without doubling anything
    with home.db.write() as conn:
        conn.execute(
            imported_table.delete().where(
                imported_table.c.kind == "run-done",
                imported_table.c.external_id == facts["runs"][1],
            )
        )
    resumed = import_mlflow(home, uri)
    assert resumed.imported["runs"] == 1 and resumed.imported.get("metric points", 0) == 0
    assert len(home.tracking.get_metric_history(facts["runs"][1], "loss").items) == kept
    check_imported(home, facts)


def shipway(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPWAY_")}
    return subprocess.run(
        [sys.executable, "-m", "shipway", *args], capture_output=True, text=True, env=env
    )


def test_import_command_prints_a_summary(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    write_store(uri, tmp_path / "artifacts")
    home = str(tmp_path / "home")
    done = shipway("import", "mlflow", "--from", uri, "--home", home, "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["imported"]["runs"] == 2 and summary["imported"]["aliases"] == 1
    table = shipway("import", "mlflow", "--from", uri, "--home", home)
    assert table.returncode == 0 and "skipped" in table.stdout
    missing = shipway("import", "mlflow", "--from", str(tmp_path / "nope"), "--home", home)
    assert missing.returncode != 0 and "is not a folder" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_a_database_an_mlflow_server_wrote_needs_its_artifact_folder(
    tmp_path: Path, home: Services
) -> None:
    """Runs logged through `mlflow server` name their files mlflow-artifacts:/…: the
    importer reads them from the server's --artifacts-destination, or says it cannot."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    eid = MlflowClient().create_experiment("served", artifact_location="mlflow-artifacts:/7")
    with mlflow.start_run(experiment_id=eid) as run:
        mlflow.log_param("p", "v")
    mlflow.set_tracking_uri(None)
    destination = tmp_path / "mlartifacts"
    report = destination / "7" / run.info.run_id / "artifacts" / "report.txt"
    report.parent.mkdir(parents=True)
    report.write_text("from the server")
    without = import_mlflow(home, uri)
    assert without.imported["runs"] == 1 and "--artifacts" in without.problems[0]
    assert home.artifacts.list(run.info.run_id) == []
    with home.db.write() as conn:  # import that run again, now with the folder
        conn.execute(imported_table.delete())
    found = import_mlflow(home, uri, artifacts=destination)
    assert found.problems == [] and found.imported["artifact files"] == 1
    stored = home.artifacts.get(run.info.run_id, "report.txt")
    assert home.blobs.get_bytes(stored.digest) == b"from the server"
    with pytest.raises(InvalidInput, match="is not a folder"):
        import_mlflow(home, uri, artifacts=tmp_path / "nowhere")


@pytest.fixture
def mlflow_on_postgres() -> Iterator[str]:
    """An empty PostgreSQL database for an MLflow store (on the server the suite uses,
    SHIPWAY_TEST_PG_URL); dropped afterwards."""
    import sqlalchemy as sa

    base = os.environ.get("SHIPWAY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")
    name = f"mlflow_src_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield f"{base}/{name}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def test_import_from_an_mlflow_database_on_postgresql(
    mlflow_on_postgres: str, tmp_path: Path, home: Services
) -> None:
    facts = write_store(mlflow_on_postgres, tmp_path / "artifacts")
    first = import_mlflow(home, mlflow_on_postgres)
    assert first.imported["runs"] == 2 and first.problems == []
    check_imported(home, facts)
    assert import_mlflow(home, mlflow_on_postgres).imported["runs"] == 0


def test_import_from_a_tracking_server_url(tmp_path: Path, home: Services) -> None:
    """The importer over HTTP: the store behind an MLflow-API server (here a second
    shipway server's MLflow face), its files fetched through the artifact proxy."""
    settings = Settings.load(overrides={"home": str(tmp_path / "served")}, environ={})
    served = Services.open(settings, actor="server")
    server = BackgroundServer(served)
    url = server.start()
    try:
        facts = write_store(url, tmp_path / "artifacts")
        found = import_mlflow(home, url)
        assert found.imported["runs"] == 2 and found.problems == []
        check_imported(home, facts)
    finally:
        server.stop()
        served.close()
