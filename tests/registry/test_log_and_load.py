"""run.log_model -> registry -> sw.models.load, end to end on both backends and databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import shipway as sw
from shipway import errors
from shipway.api.server import BackgroundServer
from shipway.config import Settings
from shipway.services import Services


@pytest.fixture(scope="module")
def trained() -> tuple[object, object]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    return model, X


def test_log_register_and_load_by_alias(client: sw.Client, trained: tuple) -> None:
    model, X = trained
    with sw.start_run(experiment="cancer", client=client, capture=False) as run:
        version = run.log_model(model, "model", input_example=X.head(5), register="cancer")
    assert (version.name, version.version, version.flavor) == ("cancer", 1, "sklearn")
    client.set_alias("cancer", 1, "staging")
    loaded = sw.models.load("models:/cancer@staging", client=client)
    rows = X.head(20)
    np.testing.assert_array_equal(loaded.predict(rows), model.predict(rows))
    np.testing.assert_allclose(loaded.predict_proba(rows), model.predict_proba(rows))
    same = sw.models.load(f"runs:/{run.id}/model", client=client)
    np.testing.assert_array_equal(same.predict(rows.to_dict("records")), model.predict(rows))
    with pytest.raises(errors.SchemaError, match="mean radius"):
        loaded.predict(rows.drop(columns=["mean radius"]))
    card = client.get_model_card("cancer", 1)
    assert [c["name"] for c in card["signature"]["inputs"]][:2] == ["mean radius", "mean texture"]
    assert "scikit-learn" in client.registry.requirements("cancer", 1)


def test_logging_the_same_model_twice_is_one_version(client: sw.Client, trained: tuple) -> None:
    model, X = trained
    with sw.start_run(experiment="cancer", client=client, capture=False) as run:
        first = run.log_model(model, "model", input_example=X.head(5), register="twice")
    logged = run  # the package is content-addressed: re-registering its URI finds it
    again = client.register(f"runs:/{logged.id}/model", "twice")
    assert again.version == first.version == 1


def test_unregistered_logged_model(client: sw.Client, trained: tuple) -> None:
    model, X = trained
    with sw.start_run(client=client, capture=False) as run:
        logged = run.log_model(model, "models/lr", input_example=X.head(3))
    assert logged.uri == f"runs:/{run.id}/models/lr"
    paths = {a.path for a in client.list_artifacts(run.id, "models/lr")}
    assert "models/lr/model.yaml" in paths


def test_unsupported_objects_are_refused(client: sw.Client) -> None:
    with (
        sw.start_run(client=client, capture=False) as run,
        pytest.raises(errors.InvalidInput, match="sklearn"),
    ):
        run.log_model(object(), "model")


def test_a_corrupt_package_is_refused_on_load(
    sqlite_settings: Settings, trained: tuple, tmp_path: Path
) -> None:
    model, X = trained
    client = sw.Client("", settings=sqlite_settings)
    with sw.start_run(client=client, capture=False) as run:
        run.log_model(model, "model", input_example=X.head(3), register="fragile")
    folder = sw.models.load("models:/fragile/1", client=client).path
    pickled = next(p for p in Path(folder).iterdir() if p.suffix == ".pkl")
    pickled.write_bytes(b"tampered")
    with pytest.raises(errors.IntegrityError, match=pickled.name):
        sw.models.load("models:/fragile/1", client=client)


@pytest.fixture
def auth_url(sqlite_settings: Settings) -> Iterator[tuple[str, dict[str, str]]]:
    settings = Settings.load(
        overrides={"home": str(sqlite_settings.home), "auth": True}, environ={}
    )
    services = Services.open(settings, actor="bootstrap")
    tokens = {}
    for name, role in [("dee", "data-scientist"), ("dev", "developer")]:
        services.accounts.create_user(name, role)
        secret = services.accounts.create_token(name).secret
        assert secret
        tokens[name] = secret
    server = BackgroundServer(services)
    yield server.start(), tokens
    server.stop()
    services.close()


def test_production_alias_needs_a_developer(
    auth_url: tuple[str, dict[str, str]], trained: tuple
) -> None:
    url, tokens = auth_url
    model, X = trained
    ds = sw.Client(url, token=tokens["dee"])
    with sw.start_run(client=ds, capture=False) as run:
        run.log_model(model, "model", input_example=X.head(3), register="gated")
    ds.set_alias("gated", 1, "staging")
    with pytest.raises(errors.PermissionDenied, match="developer"):
        ds.set_alias("gated", 1, "production")
    dev = sw.Client(url, token=tokens["dev"])
    assert dev.set_alias("gated", 1, "production").actor == "dev"
    with pytest.raises(errors.PermissionDenied):
        ds.rollback("gated", "production")
