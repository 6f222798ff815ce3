"""The quick path of `data status` and an unchanged `data add` (stdlib sqlite3, no
SQLAlchemy) answers exactly what the services answer, and steps aside whenever it cannot."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipway.config import Settings
from shipway.datasets import quick
from shipway.services import Services


@pytest.fixture
def embedded(tmp_path: Path) -> Settings:
    """The embedded default: SQLite and blobs in the home, nothing set."""
    return Settings.load(overrides={"home": str(tmp_path / "home")}, environ={})


@pytest.fixture
def services(embedded: Settings) -> Iterator[Services]:
    svc = Services.open(embedded, actor="ana")
    yield svc
    svc.close()


def folder(root: Path) -> Path:
    (root / "docs").mkdir(parents=True)
    (root / "a.csv").write_text("x,y\n1,2\n")
    (root / "docs" / "README.txt").write_text("churn extract")
    (root / "run.sh").write_text("echo hi\n")
    os.symlink("a.csv", root / "latest.csv")
    return root


def test_status_answers_what_the_service_answers(
    services: Services, embedded: Settings, tmp_path: Path
) -> None:
    data = folder(tmp_path / "data")
    services.datasets.add("churn", data, message="first")
    clean = quick.status(embedded, "churn", data)
    assert clean is not None and clean["clean"] is True
    assert clean == services.datasets.status("churn", data)

    (data / "docs" / "README.txt").write_text("churn extract, fixed")  # changed
    (data / "new.txt").write_text("new")  # added
    (data / "a.csv").unlink()  # removed (the symlink now dangles: still the same link)
    (data / "run.sh").chmod(0o755)  # mode
    changed = quick.status(embedded, "churn", data)
    assert changed == services.datasets.status("churn", data)
    assert changed is not None
    assert (changed["added"], changed["removed"], changed["changed"]) == (
        ["new.txt"],
        ["a.csv"],
        ["docs/README.txt", "run.sh"],
    )


def test_unchanged_add_is_the_latest_version_and_a_change_is_none(
    services: Services, embedded: Settings, tmp_path: Path
) -> None:
    data = folder(tmp_path / "data")
    services.datasets.add("churn", data, message="first")
    (data / "b.txt").write_text("b")
    v2, created = services.datasets.add("churn", data, message="second")
    assert created
    same = quick.unchanged(embedded, "churn", data)
    assert same == v2 == services.datasets.get("churn")  # every field, profile included
    (data / "b.txt").write_text("bb")
    assert quick.unchanged(embedded, "churn", data) is None  # a real add must store it


def test_it_steps_aside_when_it_cannot_answer(
    services: Services, embedded: Settings, tmp_path: Path
) -> None:
    data = folder(tmp_path / "data")
    assert quick.status(embedded, "churn", data) is None  # no version yet
    assert quick.unchanged(embedded, "nothing", data) is None
    version, _ = services.datasets.add("churn", data)
    assert quick.status(embedded, "churn", data) is not None
    for override in ({"db_url": services.settings.database_url}, {"tracking_uri": "http://x"}):
        other = Settings.load(overrides={"home": str(embedded.home), **override}, environ={})
        assert quick.status(other, "churn", data) is None
        assert quick.unchanged(other, "churn", data) is None
    blob = embedded.home / "blobs" / version.manifest_digest[:2] / version.manifest_digest
    blob.chmod(0o644)
    blob.write_bytes(b"not a manifest")  # damaged: the full path reports it
    assert quick.status(embedded, "churn", data) is None
    fresh = Settings.load(overrides={"home": str(tmp_path / "empty")}, environ={})
    assert quick.status(fresh, "churn", data) is None  # no database at all


def test_the_cli_answers_status_and_re_add_without_sqlalchemy(
    services: Services, embedded: Settings, tmp_path: Path
) -> None:
    data = folder(tmp_path / "data")
    services.datasets.add("churn", data)
    code = (
        "import sys\n"
        "from shipway.cli.main import main\n"
        f"assert main(['data', 'status', 'churn', {str(data)!r}]) == 0\n"
        f"assert main(['data', 'add', 'churn', {str(data)!r}]) == 0\n"
        "print('sqlalchemy' in sys.modules, 'shipway.services' in sys.modules)\n"
    )
    env = {**os.environ, "SHIPWAY_HOME": str(embedded.home), "COLUMNS": "500"}
    for name in ("SHIPWAY_DB_URL", "SHIPWAY_BLOBS_URL", "SHIPWAY_TRACKING_URI"):
        env.pop(name, None)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout
    assert f"{data} matches churn@1 (4 files)" in out
    assert "unchanged: churn@1 already holds this content" in out
    assert out.strip().splitlines()[-1] == "False False"


def test_the_lean_scans_equal_the_full_snapshot(tmp_path: Path) -> None:
    from shipway.datasets import manifest as mf
    from shipway.datasets.workdir import scan_manifest, scan_state, scan_with_cache

    data = folder(tmp_path / "data")
    (data / "run.sh").chmod(0o755)
    home = tmp_path / "home"
    entries = scan_with_cache(data, home).entries
    assert scan_manifest(data, home) == mf.encode(entries)
    assert scan_state(data, home) == mf.state(entries)
    assert {"latest.csv", "run.sh"} <= set(scan_state(data, home))
