"""Moving versions between a local home and a platform server whose blobs live on S3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import shipway as sw
from shipway.api.server import BackgroundServer
from shipway.config import Settings
from shipway.services import Services
from shipway.testing.seaweed import SeaweedServer

pytestmark = pytest.mark.s3


@pytest.fixture
def s3_server(
    seaweed: SeaweedServer, s3_env: None, tmp_path: Path, db_url: str
) -> Iterator[tuple[str, Services]]:
    settings = Settings.load(
        overrides={
            "home": str(tmp_path / "server-home"),
            "db_url": db_url,
            "blobs_url": f"s3://shipway-push-test/{time.time_ns()}",
            "s3_endpoint_url": seaweed.endpoint_url,
        },
        environ={},
    )
    services = Services.open(settings)
    server = BackgroundServer(services)
    yield server.start(), services
    server.stop()
    services.close()


def _cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPWAY_")}
    return subprocess.run(
        [sys.executable, "-m", "shipway", *args, "--home", str(home)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_push_then_pull_moves_only_missing_blobs(
    s3_server: tuple[str, Services], tmp_path: Path
) -> None:
    url, server_services = s3_server
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    for i in range(5):
        (data / "sub" / f"f{i}.bin").write_bytes(os.urandom(50_000))
    (data / "same.bin").write_bytes((data / "sub" / "f0.bin").read_bytes())  # a duplicate

    laptop = tmp_path / "laptop"
    assert _cli("data", "add", "raw", str(data), home=laptop).returncode == 0
    out = _cli("data", "push", "raw@1", "--to", url, home=laptop)
    assert out.returncode == 0, out.stderr
    assert "pushed raw@1 (6 blob(s) sent)" in out.stdout  # 5 files + the manifest
    again = _cli("data", "push", "raw@1", "--to", url, home=laptop)
    assert "already there: raw@1 (0 blob(s) sent)" in again.stdout

    (data / "sub" / "f9.bin").write_bytes(os.urandom(10_000))
    assert _cli("data", "add", "raw", str(data), home=laptop).returncode == 0
    out = _cli("data", "push", "raw@2", "--to", url, home=laptop)
    assert "pushed raw@2 (2 blob(s) sent)" in out.stdout  # the new file + its manifest
    on_server = server_services.datasets.versions("raw")
    assert [v.version for v in on_server] == [1, 2]

    desk = tmp_path / "desk"
    out = _cli("data", "pull", "raw@2", "--from", url, home=desk)
    assert out.returncode == 0, out.stderr
    assert "pulled raw@2 (7 blob(s) fetched)" in out.stdout
    assert _cli("data", "get", "raw@2", str(tmp_path / "copy"), home=desk).returncode == 0
    for f in data.rglob("*.bin"):
        assert (tmp_path / "copy" / f.relative_to(data)).read_bytes() == f.read_bytes()


def test_remote_client_works_against_s3_storage(
    s3_server: tuple[str, Services], tmp_path: Path
) -> None:
    url, _ = s3_server
    settings = Settings.load(overrides={"home": str(tmp_path / "client-home")}, environ={})
    client = sw.Client(url, settings=settings)
    data = tmp_path / "d"
    data.mkdir()
    (data / "t.csv").write_text("a,b\n1,2\n3,4\n")
    v = sw.datasets.add("remote", data, client=client)
    assert v.profile["files"]["t.csv"]["rows"] == 2
    assert sw.datasets.get("remote@1", client=client).to_pandas()["b"].tolist() == [2, 4]
    listed = json.loads(
        _cli("data", "versions", "remote", "--json", "--tracking-uri", url, home=tmp_path).stdout
    )
    assert [v["version"] for v in listed] == [1]
