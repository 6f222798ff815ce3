"""Regression tests for hostile or out-of-range input found in review."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from blake3 import blake3
from sklearn.datasets import load_iris
from sklearn.tree import DecisionTreeClassifier

import shipway as sw
from shipway import errors
from shipway.api.server import BackgroundServer
from shipway.config import Settings
from shipway.datasets import manifest as mf
from shipway.services import Services


@pytest.fixture
def api(sqlite_settings: Settings) -> Iterator[tuple[str, httpx.Client]]:
    settings = Settings.load(
        overrides={"home": str(sqlite_settings.home), "max_request_mb": 1}, environ={}
    )
    services = Services.open(settings)
    server = BackgroundServer(services)
    url = server.start()
    with httpx.Client(base_url=url + "/api/v1") as http:
        yield url, http
    server.stop()
    services.close()


def _put(http: httpx.Client, data: bytes) -> str:
    digest = blake3(data).hexdigest()
    assert http.put(f"/blobs/{digest}", content=data).status_code == 201
    return digest


def test_a_manifest_writing_through_a_symlink_is_refused(api: tuple[str, httpx.Client]) -> None:
    _, http = api
    file_digest = _put(http, b"owned")
    manifest = orjson.dumps(
        {
            "files": [
                {"path": "esc", "size": 0, "digest": None, "mode": 511, "link": "/tmp"},
                {"path": "esc/owned.txt", "size": 5, "digest": file_digest, "mode": 420},
            ]
        }
    )
    r = http.post("/datasets/evil/versions", json={"manifest_digest": _put(http, manifest)})
    assert r.status_code == 400 and "inside the entry 'esc'" in r.json()["error"]["message"]
    for bad in (b"hello", orjson.dumps({"files": [{"path": "../x", "size": 1, "mode": 1}]})):
        r = http.post("/datasets/evil/versions", json={"manifest_digest": _put(http, bad)})
        assert r.status_code == 400, r.text


def test_manifest_checks() -> None:
    ok = {"path": "a", "size": 1, "digest": "0" * 64, "mode": 420, "link": None}
    assert mf.decode(orjson.dumps({"files": [ok]}))[0].path == "a"
    with pytest.raises(errors.InvalidInput, match="twice"):
        mf.decode(orjson.dumps({"files": [ok, ok]}))
    with pytest.raises(errors.InvalidInput):
        mf.decode(orjson.dumps({"files": [{**ok, "path": "/etc/passwd"}]}))


def test_out_of_range_numbers_and_odd_input_are_4xx(api: tuple[str, httpx.Client]) -> None:
    _, http = api
    huge = "9" * 30
    for path in (
        f"/experiments/{huge}",
        f"/datasets/x/versions/{huge}",
        "/models-resolve?uri=models:/m/%C2%B2",
        f"/events?cursor=e{huge}",
        "/users?cursor=LTI",
    ):
        r = http.get(path)
        assert 400 <= r.status_code < 500, (path, r.status_code, r.text)
        assert "error" in r.json()
    data = b"x" * 10
    r = http.put(f"/blobs/{'0' * 64}", content=data)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_input"


def test_blob_uploads_are_not_held_to_the_json_limit(api: tuple[str, httpx.Client]) -> None:
    _, http = api
    _put(http, os.urandom(2 * 1024 * 1024))  # 2 MiB over a 1 MiB JSON limit


def test_unicode_artifact_names_download(api: tuple[str, httpx.Client], tmp_path: Path) -> None:
    url, _ = api
    client = sw.Client(url, settings=Settings.load(overrides={"home": str(tmp_path)}, environ={}))
    f = tmp_path / "模型.txt"
    f.write_text("hi")
    with sw.start_run(client=client, capture=False) as run:
        run.log_artifact(f)
    got = client.download_artifacts(run.id, "模型.txt", tmp_path / "dl")
    assert got.read_text() == "hi"


def test_bad_steps_do_not_poison_the_buffer(client: sw.Client) -> None:
    with sw.start_run(client=client, capture=False) as run:
        run.log_metric("a", 1.0, step=1)
        with pytest.raises(errors.InvalidInput, match="int64"):
            run.log_metric("a", 2.0, step=2**63)
        with pytest.raises(errors.InvalidInput, match="timestamp"):
            run.log_metric("a", 2.0, step=2, timestamp="soon")  # type: ignore[arg-type]
        run.log_metric("a", 3.0, step=3)
    assert [p.step for p in client.get_metric_history(run.id, "a")] == [1, 3]


def test_overwritten_registered_packages_are_refused(client: sw.Client, tmp_path: Path) -> None:
    X, y = load_iris(return_X_y=True, as_frame=True)
    with sw.start_run(client=client, capture=False) as run:
        run.log_model(
            DecisionTreeClassifier(max_depth=1).fit(X, y),
            "model",
            input_example=X.head(2),
            register="iris",
        )
    client.set_alias("iris", 1, "staging")
    sw.models.load("models:/iris@staging", client=client)
    other = tmp_path / "other" / "model"
    sw.models.save_package(
        DecisionTreeClassifier(max_depth=3).fit(X, y), other, input_example=X.head(2)
    )
    client.log_artifact(run.id, other)  # overwrites runs:/<id>/model/*
    with pytest.raises(errors.IntegrityError, match="overwritten"):
        sw.models.load("models:/iris@staging", client=client)


def test_unlisted_files_in_a_package_are_refused(tmp_path: Path) -> None:
    X, y = load_iris(return_X_y=True, as_frame=True)
    pkg = tmp_path / "pkg"
    sw.models.save_package(DecisionTreeClassifier().fit(X, y), pkg, input_example=X.head(2))
    (pkg / "code").mkdir()
    (pkg / "code" / "sneaky.py").write_text("raise SystemExit")
    with pytest.raises(errors.IntegrityError, match="sneaky.py"):
        sw.models.load_package(pkg)


def test_a_path_cannot_be_both_file_and_folder(client: sw.Client, tmp_path: Path) -> None:
    f = tmp_path / "d"
    f.write_text("file")
    with sw.start_run(client=client, capture=False) as run:
        run.log_artifact(f)
        with pytest.raises(errors.Conflict, match="file artifact 'd'"):
            run.log_text("inner", "d/f.txt")
        run.log_text("x", "folder/a.txt")
        (tmp_path / "folder").write_text("clash")
        with pytest.raises(errors.Conflict, match="inside the folder 'folder'"):
            run.log_artifact(tmp_path / "folder")
    assert [a.path for a in client.list_artifacts(run.id)] == ["d", "folder/a.txt"]


def test_version_status_is_checked(sqlite_settings: Settings) -> None:
    client = sw.Client("", settings=sqlite_settings)
    X, y = load_iris(return_X_y=True, as_frame=True)
    with sw.start_run(client=client, capture=False) as run:
        run.log_model(DecisionTreeClassifier().fit(X, y), "model", register="st")
    registry = Services.open(sqlite_settings).registry
    assert registry.update_version("st", 1, status="deprecated").status == "deprecated"
    with pytest.raises(errors.InvalidInput, match="status 'garbage'"):
        registry.update_version("st", 1, status="garbage")
