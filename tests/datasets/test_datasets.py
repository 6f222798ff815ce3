"""Dataset versions through the client, on both backends and both databases."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

import shipway as sw
from shipway import errors
from shipway.config import Settings
from shipway.services import Services


def _folder(root: Path, rows: int = 50, shift: float = 0.0) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame(
        {
            "age": range(rows),
            "plan": ["basic", "pro"] * (rows // 2),
            "score": [i * 0.1 + shift for i in range(rows)],
        }
    )
    df.to_csv(root / "train.csv", index=False)
    df.to_parquet(root / "train.parquet")
    (root / "docs").mkdir(exist_ok=True)
    (root / "docs" / "README.txt").write_text("churn extract")
    return root


def test_add_version_dedup_and_status(client: sw.Client, tmp_path: Path) -> None:
    data = _folder(tmp_path / "data")
    v1 = sw.datasets.add("churn-train", data, message="first", client=client)
    assert (v1.ref, v1.file_count, v1.message) == ("churn-train@1", 3, "first")
    again = sw.datasets.add("churn-train", data, client=client)
    assert again.ref == "churn-train@1"  # unchanged content: no new version
    assert sw.datasets.status("churn-train", data, client=client)["clean"] is True

    (data / "docs" / "README.txt").write_text("churn extract, fixed")
    (data / "new.txt").write_text("new")
    status = sw.datasets.status("churn-train", data, client=client)
    assert (status["changed"], status["added"], status["clean"]) == (
        ["docs/README.txt"],
        ["new.txt"],
        False,
    )
    v2 = sw.datasets.add("churn-train", data, client=client)
    assert v2.ref == "churn-train@2"
    assert [v.version for v in sw.datasets.versions("churn-train", client=client)] == [1, 2]
    unchanged = {e.path: e.digest for e in v1.files()}
    assert {e.path: e.digest for e in v2.files()}["train.csv"] == unchanged["train.csv"]


def test_blobs_are_stored_once_across_versions_and_datasets(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    client = sw.Client("", settings=sqlite_settings)
    data = _folder(tmp_path / "data")
    sw.datasets.add("a", data, client=client)
    blobs = Services.open(sqlite_settings).blobs
    before = set(blobs.backend.list())
    sw.datasets.add("b", data, client=client)  # same files, other dataset
    (data / "extra.txt").write_text("x")
    sw.datasets.add("a", data, client=client)  # one new file
    added = set(blobs.backend.list()) - before
    # new: one file blob and two manifests (b@1 has a's manifest content: same digest)
    assert len(added) == 2


def test_get_profile_and_tables(client: sw.Client, tmp_path: Path) -> None:
    v = sw.datasets.add("tab", _folder(tmp_path / "data"), client=client)
    profiles = v.profile["files"]
    csv = {c["name"]: c for c in profiles["train.csv"]["columns"]}
    assert profiles["train.csv"]["rows"] == 50
    assert csv["age"]["type"] == "int" and csv["age"]["max"] == 49
    assert {t["value"] for t in csv["plan"]["top"]} == {"basic", "pro"}
    assert profiles["train.parquet"]["rows"] == 50
    got = sw.datasets.get("tab@1", client=client)
    df = got.to_pandas(file="train.parquet")
    assert list(df.columns) == ["age", "plan", "score"] and len(df) == 50
    assert (got.path() / "docs" / "README.txt").read_text() == "churn extract"


def test_diff_reports_files_and_table_shifts(client: sw.Client, tmp_path: Path) -> None:
    sw.datasets.add("d", _folder(tmp_path / "a"), client=client)
    b = _folder(tmp_path / "b", rows=80, shift=100.0)
    (b / "docs" / "README.txt").unlink()
    sw.datasets.add("d", b, client=client)
    result = sw.datasets.diff("d@1", "d@2", client=client)
    assert result["files"]["removed"] == ["docs/README.txt"]
    assert sorted(result["files"]["changed"]) == ["train.csv", "train.parquet"]
    table = result["tables"]["train.csv"]
    assert table["rows"]["old"] == 50 and table["rows"]["new"] == 80
    score = next(c for c in table["columns"] if c["name"] == "score")
    assert score["psi"] > 0.2


def test_broken_csv_is_recorded_without_a_profile(client: sw.Client, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "bad.csv").write_bytes(b"a,b\n1,2\n3,4,5\n")
    v = sw.datasets.add("bad", data, client=client)
    assert v.file_count == 1
    assert "bad.csv" in v.profile["errors"]


def test_symlinks_are_kept_as_links_never_followed(client: sw.Client, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "real.txt").write_text("inside")
    os.symlink("/etc/hostname", data / "outside")
    v = sw.datasets.add("links", data, client=client)
    entries = {e.path: e for e in v.files()}
    assert entries["outside"].link == "/etc/hostname" and entries["outside"].digest is None
    out = v.materialize(tmp_path / "out")
    assert os.readlink(out / "outside") == "/etc/hostname"
    assert (out / "real.txt").read_text() == "inside"


@pytest.mark.parametrize("name", ["", "has space", "../up", "ä", "-lead", "x" * 200])
def test_illegal_names(client: sw.Client, tmp_path: Path, name: str) -> None:
    with pytest.raises(errors.InvalidInput, match="dataset name"):
        sw.datasets.add(name, _folder(tmp_path / "data"), client=client)


def test_missing_path_and_unknown_versions(client: sw.Client, tmp_path: Path) -> None:
    with pytest.raises(errors.InvalidInput, match="does not exist"):
        sw.datasets.add("x", tmp_path / "nope", client=client)
    sw.datasets.add("x", _folder(tmp_path / "data"), client=client)
    with pytest.raises(errors.NotFound, match="has no version 9; the latest is 1"):
        sw.datasets.get("x@9", client=client)
    with pytest.raises(errors.NotFound, match="no dataset 'y'"):
        sw.datasets.get("y@1", client=client)


def test_runs_record_their_inputs(client: sw.Client, tmp_path: Path) -> None:
    train = sw.datasets.add("train", _folder(tmp_path / "t"), client=client)
    with sw.start_run(experiment="lineage", client=client, capture=False) as run:
        run.log_input(train, context="training")
        run.log_input("train@1", context="training")  # twice: recorded once
        produced = sw.datasets.add("features", _folder(tmp_path / "f", shift=1), client=client)
    assert [(i.dataset, i.version, i.context) for i in client.datasets.inputs(run.id)] == [
        ("train", 1, "training")
    ]
    assert [i.run_id for i in sw.datasets.used_by("train@1", client=client)] == [run.id]
    assert produced.run_id == run.id
    with pytest.raises(errors.InvalidInput, match="context"):
        client.datasets.log_input(run.id, "train@1", "Not A Context")


def test_corrupt_blob_is_refused_on_get(sqlite_settings: Settings, tmp_path: Path) -> None:
    client = sw.Client("", settings=sqlite_settings)
    v = sw.datasets.add("c", _folder(tmp_path / "data"), client=client)
    digest = next(e.digest for e in v.files() if e.path == "train.csv")
    assert digest is not None
    blob = sqlite_settings.home / "blobs" / digest[:2] / digest
    blob.write_bytes(b"tampered")
    with pytest.raises(errors.IntegrityError, match=digest):
        v.materialize(tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".shipway")] == []


def test_interrupted_add_leaves_no_version(
    sqlite_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shipway.datasets.service as service

    def boom(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(service, "store", boom)
    client = sw.Client("", settings=sqlite_settings)
    with pytest.raises(KeyboardInterrupt):
        sw.datasets.add("i", _folder(tmp_path / "data"), client=client)
    assert sw.datasets.list(client=client) == []


def test_unreadable_files_are_named_and_nothing_is_recorded(
    sqlite_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shipway.datasets.manifest as manifest

    data = _folder(tmp_path / "data")
    secret = str(data / "docs" / "README.txt")
    real_access = os.access
    # root reads everything, so simulate the permission check failing for one file
    monkeypatch.setattr(manifest.os, "access", lambda p, m: p != secret and real_access(p, m))
    client = sw.Client("", settings=sqlite_settings)
    with pytest.raises(errors.InvalidInput, match="README.txt is not readable"):
        sw.datasets.add("u", data, client=client)
    assert sw.datasets.list(client=client) == []


def test_link_mode_shares_inodes(sqlite_settings: Settings, tmp_path: Path) -> None:
    services = Services.open(sqlite_settings)
    data = _folder(tmp_path / "data")
    version, _ = services.datasets.add("l", data, link=True)
    digest = next(e.digest for e in services.datasets.manifest(version) if e.path == "train.csv")
    assert digest is not None
    blob = sqlite_settings.home / "blobs" / digest[:2] / digest
    assert blob.stat().st_ino == (data / "train.csv").stat().st_ino
    services.close()
