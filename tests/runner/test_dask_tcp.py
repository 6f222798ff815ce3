"""A pipeline on a Dask cluster started as separate processes — `dask scheduler` and two
`dask worker`s talking over TCP — against a platform server on PostgreSQL with its blobs
on S3 (SeaweedFS). Workers reach the platform through its API only: they have no home,
no database URL and no S3 credentials."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pipeline_files import PIPELINE
from sklearn.datasets import load_iris

import shipway as sw
from shipway.api.server import BackgroundServer
from shipway.config import Settings
from shipway.errors import InvalidInput
from shipway.runner import load
from shipway.services import Services
from shipway.testing.databases import empty_database
from shipway.testing.seaweed import SeaweedServer

pytestmark = [pytest.mark.postgres, pytest.mark.s3]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[str]:
    """A scheduler and two workers, each its own process, in a folder with no home."""
    dask = str(Path(sys.executable).parent / "dask")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    folder = tmp_path / "workers"
    folder.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHIPWAY_", "AWS_"))} | {
        "SHIPWAY_HOME": str(folder / "no-home")
    }
    logs = [(folder / f"{n}.log").open("w") for n in ("scheduler", "w1", "w2")]
    commands = [
        [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        [dask, "worker", address, "--nthreads", "1", "--no-dashboard", "--name", "w1"],
        [dask, "worker", address, "--nthreads", "1", "--no-dashboard", "--name", "w2"],
    ]
    processes = []
    for command, log in zip(commands, logs, strict=True):
        processes.append(
            subprocess.Popen(command, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
        )
        if command[1] == "scheduler":
            time.sleep(1.0)
    import distributed

    with distributed.Client(address, timeout="30s") as probe:
        probe.wait_for_workers(2, timeout=60)
    yield address
    for process in processes[::-1]:
        process.terminate()
    for process in processes:
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
    for log in logs:
        log.close()


@pytest.fixture
def platform(
    pg_database: str, seaweed: SeaweedServer, s3_env: None, tmp_path: Path
) -> Iterator[tuple[str, Services]]:
    empty_database(pg_database)
    settings = Settings.load(
        overrides={
            "home": str(tmp_path / "server-home"),
            "db_url": pg_database,
            "blobs_url": f"s3://shipway-pipelines-test/{time.time_ns()}",
            "s3_endpoint_url": seaweed.endpoint_url,
        },
        environ={},
    )
    services = Services.open(settings)
    server = BackgroundServer(services)
    url = server.start()
    yield url, services
    server.stop()
    services.close()


def test_separate_scheduler_and_workers_over_tcp_against_postgres_and_s3(
    cluster: str, platform: tuple[str, Services], tmp_path: Path
) -> None:
    url, services = platform
    client = sw.Client(url, settings=Settings.load(overrides={"home": str(tmp_path / "me")}))
    frame = load_iris(as_frame=True).frame
    frame.to_csv(tmp_path / "iris.csv", index=False)
    sw.datasets.add("iris", tmp_path / "iris.csv", client=client)
    project = tmp_path / "project"
    project.mkdir()
    (project / "pipeline.py").write_text(PIPELINE)
    pipe = load("pipeline.py", project)

    result = pipe.run(client=client, scheduler=cluster)
    assert result.status == "finished" and {s.status for s in result.steps} == {"ran"}
    workers = {s.worker for s in result.steps}
    assert len(workers) == 2 and all(w and w.startswith("tcp://127.0.0.1:") for w in workers)
    best = result.step("best")
    assert best.output is not None
    # the outputs went through the server into the S3 bucket, content-addressed
    digests = {a.digest for a in client.list_artifacts(best.run_id or "", "outputs")}
    assert digests and all(services.blobs.exists(d) for d in digests)
    stored = list(services.blobs.backend.list())
    assert stored, "the blobs are on S3"
    # the run is in PostgreSQL, seen by any client of the server
    record = services.pipelines.get_run(result.number)
    assert record.status == "finished" and record.steps["best"]["worker"] in workers

    again = pipe.run(client=client, scheduler=cluster)
    assert {s.status for s in again.steps} == {"cached"}
    changed = pipe.run({"Cs": [0.01, 5.0]}, client=client, scheduler=cluster)
    assert changed.step("train[1]").status == "ran" and changed.step("prepare").status == "cached"


def test_a_remote_scheduler_is_refused_for_a_home_its_workers_cannot_see(
    tmp_path: Path, sqlite_settings: Settings
) -> None:
    client = sw.Client("", settings=sqlite_settings)
    project = tmp_path / "project"
    project.mkdir()
    (project / "pipeline.py").write_text(PIPELINE)
    with pytest.raises(InvalidInput, match="cannot reach the local home"):
        load("pipeline.py", project).run(client=client, scheduler="tcp://10.1.2.3:8786")
    client.close()
