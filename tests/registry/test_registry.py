"""The model registry through the client, on both backends and both databases.

Packages here are hand-made folders with a model.yaml: the registry only reads that file
(loading real models of every flavor is tested in tests/models)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import yaml

import shipway as sw
from shipway import errors
from shipway.blobs import hash_file
from shipway.registry.card import markdown, user_sections


def _package(folder: Path, flavor: str = "sklearn", seed: str = "a") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.pkl").write_text(f"weights {seed}")
    meta = {
        "format": 1,
        "flavor": flavor,
        "description": "gradient boosted churn model",
        "files": {"model.pkl": {"digest": hash_file(folder / "model.pkl"), "size": 9}},
        "signature": {
            "inputs": [{"name": "tenure", "type": "int", "nullable": False}],
            "outputs": [{"name": "prediction", "type": "int"}],
        },
        "requirements": {"python": "3.11.7", "packages": {"scikit-learn": "1.9.1"}},
    }
    (folder / "model.yaml").write_text(yaml.safe_dump(meta))
    return folder


def _logged(client: sw.Client, tmp_path: Path, seed: str, **run_kwargs: object) -> str:
    with sw.start_run(experiment="churn", client=client, capture=False, **run_kwargs) as run:  # type: ignore[arg-type]
        run.log_artifact(_package(tmp_path / seed / "model", seed=seed))
        run.log_metric("auc", 0.9)
    return f"runs:/{run.id}/model"


def test_register_versions_and_duplicates(client: sw.Client, tmp_path: Path) -> None:
    uri = _logged(client, tmp_path, "a")
    v1 = client.register(uri, "churn")
    assert (v1.name, v1.version, v1.flavor, v1.source) == ("churn", 1, "sklearn", uri)
    assert v1.description == "gradient boosted churn model"
    again = client.register(uri, "churn")
    assert again.version == 1  # the same package: the existing version
    v2 = client.register(_logged(client, tmp_path, "b"), "churn")
    assert v2.version == 2
    assert [v.version for v in client.list_model_versions("churn")] == [1, 2]
    assert client.get_registered_model("churn").latest_version == 2


def test_bad_names_and_sources(client: sw.Client, tmp_path: Path) -> None:
    uri = _logged(client, tmp_path, "a")
    with pytest.raises(errors.InvalidInput, match="model name"):
        client.register(uri, "bad name!")
    with pytest.raises(errors.InvalidInput, match="run URI"):
        client.register("s3://x/y", "churn")
    with pytest.raises(errors.NotFound, match="not a model package"):
        client.register(uri.replace("/model", "/nothing"), "churn")


def test_aliases_history_and_rollback(client: sw.Client, tmp_path: Path) -> None:
    for seed in "abc":
        client.register(_logged(client, tmp_path, seed), "churn")
    client.set_alias("churn", 1, "production", reason="first release")
    client.set_alias("churn", 3, "production", reason="better auc")
    client.set_alias("churn", 2, "staging")
    assert client.resolve("models:/churn@production").version == 3
    assert client.resolve("models:/churn/2").version == 2
    assert client.resolve("models:/churn").version == 3
    assert client.get_registered_model("churn").aliases == {"production": 3, "staging": 2}
    assert client.get_model_version("churn", 3).aliases == ["production"]

    event = client.rollback("churn", "production")
    assert (event.from_version, event.to_version) == (3, 1)
    assert client.resolve("models:/churn@production").version == 1
    history = client.alias_history("churn", "production")
    assert [(e.from_version, e.to_version) for e in history] == [(None, 1), (1, 3), (3, 1)]
    assert history[1].reason == "better auc" and history[2].reason.startswith("rollback")

    client.delete_alias("churn", "staging")
    with pytest.raises(errors.NotFound, match="no alias 'staging'"):
        client.resolve("models:/churn@staging")
    assert client.rollback("churn", "staging").to_version == 2  # undoes the delete
    client.set_alias("churn", 1, "champion")
    with pytest.raises(errors.Conflict, match="no previous version"):
        client.rollback("churn", "champion")
    with pytest.raises(errors.InvalidInput, match="looks like a version number"):
        client.set_alias("churn", 1, "2")
    with pytest.raises(errors.NotFound, match="no version 7"):
        client.set_alias("churn", 7, "champion")


def test_concurrent_alias_moves_are_all_recorded(client: sw.Client, tmp_path: Path) -> None:
    for seed in "abcd":
        client.register(_logged(client, tmp_path, seed), "churn")
    errors_seen: list[BaseException] = []

    def move(version: int) -> None:
        try:
            for _ in range(5):
                client.set_alias("churn", version, "champion")
        except BaseException as exc:  # pragma: no cover - reported below
            errors_seen.append(exc)

    threads = [threading.Thread(target=move, args=(v,)) for v in (1, 2, 3, 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors_seen == []
    history = client.alias_history("churn", "champion")
    assert len(history) == 20
    # no lost update: every move starts from where the previous one left the alias
    for before, after in zip(history, history[1:], strict=False):
        assert after.from_version == before.to_version
    assert client.resolve("models:/churn@champion").version == history[-1].to_version


def test_lineage_and_reverse_queries(client: sw.Client, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.csv").write_text("a,b\n1,2\n")
    train = sw.datasets.add("churn-train", data, client=client)
    parent = sw.start_run(experiment="tune", name="search", client=client, capture=False)
    with parent, sw.start_run(experiment="tune", nested=True, client=client, capture=False) as run:
        run.log_input(train, context="training")
        run.log_params({"depth": 4})
        run.log_artifact(_package(tmp_path / "pkg" / "model"))
    version = client.register(f"runs:/{run.id}/model", "churn")
    lineage = client.get_lineage("churn", version.version)
    assert lineage["run"]["id"] == run.id and lineage["run"]["params"] == {"depth": "4"}
    assert lineage["inputs"] == [
        {
            "dataset": "churn-train@1",
            "context": "training",
            "manifest_digest": train.manifest_digest,
            "source": train.source,
            "created_by": train.created_by,
        }
    ]
    assert [p["id"] for p in lineage["parents"]] == [parent.id]
    trained_on = client.registry.versions_trained_on("churn-train@1")
    assert [(v.name, v.version) for v in trained_on] == [("churn", version.version)]
    assert client.registry.versions_trained_on("churn-train@2") == []
    outputs = client.registry.versions_from_run(run.id)
    assert [(v.name, v.version) for v in outputs] == [("churn", version.version)]
    assert client.registry.versions_from_run(parent.id) == []
    readers = client.datasets.readers("churn-train")
    assert [(i.run_id, i.version, i.context) for i in readers] == [(run.id, 1, "training")]
    with pytest.raises(errors.NotFound, match="no dataset 'nope'"):
        client.datasets.readers("nope")
    read = client.datasets.inputs_of_runs([run.id, parent.id, "unknown"])
    assert [(i.run_id, i.dataset, i.version, i.context) for i in read] == [
        (run.id, "churn-train", 1, "training")
    ]
    with pytest.raises(errors.NotFound, match="no run with id 'nope'"):
        client.registry.versions_from_run("nope")


def test_model_card_keeps_user_sections(client: sw.Client, tmp_path: Path) -> None:
    client.register(_logged(client, tmp_path, "a"), "churn")
    client.update_registered_model(
        "churn", owners=["ds-team", "platform-team"], tags={"intended_use": "retention offers"}
    )
    client.registry.set_card_section("churn", 1, "Limitations", "Not for customers < 1 month.")
    card = client.get_model_card("churn", 1)
    assert card["owners"] == ["ds-team", "platform-team"]
    assert card["intended_use"] == "retention offers"
    assert card["metrics"] == {"auc": 0.9}
    assert card["signature"]["inputs"][0]["name"] == "tenure"
    text = markdown(card)
    assert "| tenure | int | no |" in text and "Not for customers < 1 month." in text
    assert user_sections(text) == {"Limitations": "Not for customers < 1 month."}
    client.set_alias("churn", 1, "staging")
    regenerated = markdown(client.get_model_card("churn", 1))
    assert "Aliases: staging" in regenerated
    assert user_sections(regenerated) == {"Limitations": "Not for customers < 1 month."}
    env = client.registry.requirements("churn", 1)
    assert "scikit-learn==1.9.1" in env


def test_the_browsable_client_walks_experiments_runs_models_and_deployments(
    client: sw.Client, tmp_path: Path
) -> None:
    uri_a = _logged(client, tmp_path, "a")
    uri_b = _logged(client, tmp_path, "b")
    with sw.start_run(experiment="churn", client=client, capture=False) as other:
        other.log_params({"model": "rf"})
        other.log_metric("auc", 0.7)
    client.register(uri_a, "churn")
    client.register(uri_b, "churn")
    client.set_alias("churn", 2, "staging")

    churn = client.experiment("churn")
    assert churn.name == "churn"
    runs = list(churn.runs(order_by=["metrics.auc desc"], page_size=1))  # three pages
    assert len(runs) == 3 and runs[-1].id == other.id
    assert [r.id for r in churn.runs("params.model = 'rf'")] == [other.id]
    assert client.run(other.id).params == {"model": "rf"}
    assert client.run(other.id).metrics == {"auc": 0.7}
    assert [a.path for a in runs[0].artifacts if a.path.endswith("model.yaml")] == [
        "model/model.yaml"
    ]
    assert [p.value for p in client.run(other.id).metric_history("auc")] == [0.7]

    model = client.model("churn")
    assert model.aliases == {"staging": 2}
    assert [(v.version, v.aliases) for v in model.versions] == [(1, []), (2, ["staging"])]
    staging = model.alias("staging")
    assert staging.version == 2 and staging.run.id == uri_b.split("/")[1]
    assert staging.lineage["run"]["id"] == staging.record.run_id
    assert model.version(1).gate_reports == [] and model.version(1).approvals == []
    assert [e.to_version for e in model.history] == [2]
    with pytest.raises(errors.NotFound):
        _ = model.contract
    client.set_alias("churn", 1, "staging")
    assert model.aliases == {"staging": 2}  # fetched once
    model.refresh()
    assert model.aliases == {"staging": 1}

    client.deployments.create("churn", "models:/churn@staging")
    traffic = client.deployment("churn").traffic
    assert {k: traffic[k] for k in ("mode", "model", "candidate")} == {
        "mode": "single",
        "model": "models:/churn@staging",
        "candidate": None,
    }
    client.deployments.set_traffic("churn", mode="canary", candidate="models:/churn/2", percent=10)
    trail = client.deployments.history("churn")
    assert [e.action for e in trail] == ["create", "set-traffic"]
    assert trail[1].details["mode"] == "canary" and trail[1].details["percent"] == 10
    assert all(e.object_id == "churn" and e.actor for e in trail)
    with pytest.raises(errors.NotFound):
        client.deployments.history("nope")
