"""Nothing logged is lost: flush at interpreter exit, a killed process leaves its run
"running", corrupt blobs are refused, and artifacts work on S3 storage too."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import shipway as sw
from shipway import errors
from shipway.config import Settings
from shipway.services import Services
from shipway.testing.seaweed import SeaweedServer

SCRIPT = """
import sys, time
import shipway as sw
from shipway.config import Settings
settings = Settings.load(environ={}, overrides={"home": sys.argv[1], "flush_interval": 3600.0})
client = sw.Client(sys.argv[2], settings=settings)
run = sw.start_run(experiment="exit", client=client, capture=False)
for step in range(1000):
    run.log_metric("loss", 1.0 / (step + 1), step=step)
print(run.id, flush=True)
if sys.argv[3] == "hang":
    time.sleep(600)
"""


def _spawn(home: Path, uri: str, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(home), uri, mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("mode", ["local", "remote"])
def test_buffers_flush_and_runs_finish_at_interpreter_exit(
    sqlite_settings: Settings, mode: str, tmp_path: Path
) -> None:
    uri = ""
    services = server = None
    if mode == "remote":
        from shipway.api.server import BackgroundServer

        services = Services.open(sqlite_settings)
        server = BackgroundServer(services)
        uri = server.start()
    proc = _spawn(sqlite_settings.home, uri, "exit")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    client = sw.Client(uri, settings=sqlite_settings)
    run = client.get_run(out.strip())
    assert run.status == "finished"
    assert len(client.get_metric_history(run.id, "loss")) == 1000
    if server and services:
        server.stop()
        services.close()


def test_a_run_left_open_at_exit_records_its_environment(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    script = (
        "import sys\n"
        "import shipway as sw\n"
        "from shipway.config import Settings\n"
        "settings = Settings.load(environ={}, overrides={'home': sys.argv[1]})\n"
        "run = sw.start_run(experiment='exit', client=sw.Client('', settings=settings))\n"
        "print(run.id, flush=True)\n"  # exits at once: the capture is still running
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(sqlite_settings.home)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=True,
    )
    client = sw.Client("", settings=sqlite_settings)
    run = client.get_run(out.stdout.strip())
    assert run.status == "finished"
    env = client.download_artifacts(run.id, "_shipway/environment.json", tmp_path / "dl")
    assert '"packages"' in env.read_text() or '"python"' in env.read_text()


def test_a_killed_process_leaves_its_run_running(sqlite_settings: Settings) -> None:
    proc = _spawn(sqlite_settings.home, "", "hang")
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    listed = subprocess.run(
        [
            sys.executable,
            "-m",
            "shipway",
            "runs",
            "list",
            "--json",
            "--home",
            str(sqlite_settings.home),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    runs = json.loads(listed.stdout)["runs"]
    assert [(r["id"], r["status"]) for r in runs] == [(run_id, "running")]


def _corrupt_local_blob(settings: Settings, digest: str) -> None:
    path = settings.home / "blobs" / digest[:2] / digest
    path.chmod(0o644)
    path.write_bytes(b"tampered")


def test_a_corrupt_artifact_is_refused_on_download(client: sw.Client, tmp_path: Path) -> None:
    f = tmp_path / "model.bin"
    f.write_bytes(os.urandom(200_000))
    with sw.start_run(client=client, capture=False) as run:
        [artifact] = run.log_artifact(f)
    _corrupt_local_blob(client.settings, artifact.digest)
    with pytest.raises(errors.IntegrityError, match="corrupt"):
        client.download_artifacts(run.id, "model.bin", tmp_path / "dl")
    assert not (tmp_path / "dl" / "model.bin").exists()
    assert [p.name for p in (tmp_path / "dl").glob("*")] == []


@pytest.fixture
def s3_settings(seaweed: SeaweedServer, s3_env: None, tmp_path: Path, db_url: str) -> Settings:
    bucket = "shipway-tracking-test"
    return Settings.load(
        overrides={
            "home": str(tmp_path / "home"),
            "db_url": db_url,
            "blobs_url": f"s3://{bucket}/{time.time_ns()}",
            "s3_endpoint_url": seaweed.endpoint_url,
        },
        environ={},
    )


@pytest.mark.s3
def test_artifacts_on_s3_through_a_server(s3_settings: Settings, tmp_path: Path) -> None:
    from shipway.api.server import BackgroundServer

    services = Services.open(s3_settings)
    server = BackgroundServer(services)
    url = server.start()
    try:
        client = sw.Client(url, settings=s3_settings)
        big = tmp_path / "weights.bin"
        big.write_bytes(os.urandom(12 * 1024 * 1024))
        with sw.start_run(client=client, capture=False) as run:
            run.log_artifact(big, artifact_path="model")
            run.log_artifact(big, artifact_path="copy")  # same content: stored once
        got = client.download_artifacts(run.id, "model/weights.bin", tmp_path / "dl")
        assert got.read_bytes() == big.read_bytes()
        keys = list(services.blobs.backend.list())
        assert len(keys) == 1
    finally:
        server.stop()
        services.close()
