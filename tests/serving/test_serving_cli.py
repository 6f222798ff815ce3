"""shipway serve (two worker processes, one port), deployments and predictions commands."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pandas as pd
from serving_helpers import records

import shipway as sw

Data = tuple[pd.DataFrame, pd.Series]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPWAY_")}
    env["COLUMNS"] = "200"
    return env


def cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shipway", *args, "--home", str(home)],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_serve_with_two_workers_and_read_the_log(registry: sw.Client, cancer: Data) -> None:
    X, _ = cancer
    home = registry.settings.home
    out = cli("deployments", "create", "live", "models:/cancer@production", "--json", home=home)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["mode"] == "single"
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shipway",
            "serve",
            "--deployment",
            "live",
            "--port",
            str(port),
            "--workers",
            "2",
            "--log-flush-seconds",
            "0.2",
            "--home",
            str(home),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{url}/health/ready").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, server.communicate()[1]
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.2)
        with httpx.Client(base_url=url) as http:
            ids = [
                http.post("/v1/models/live/predict", json={"records": records(X, 1, i)}).json()[
                    "request_id"
                ]
                for i in range(40)
            ]
            metrics = http.get("/metrics").text
        total = sum(
            float(line.split()[-1])
            for line in metrics.splitlines()
            if line.startswith("shipway_requests_total{") and 'status="200"' in line
        )
        assert total == 40  # summed over both workers
        time.sleep(1.0)  # let both workers' writers flush
    finally:
        server.send_signal(signal.SIGINT)
        _, err = server.communicate(timeout=60)
    assert server.returncode == 0, err
    access = [json.loads(line) for line in err.splitlines() if line.startswith('{"time"')]
    assert {a["request_id"] for a in access} >= set(ids)
    tail = cli("predictions", "tail", "cancer", "-n", "5", "--json", home=home)
    assert tail.returncode == 0, tail.stderr
    assert len(json.loads(tail.stdout)) == 5
    count = cli(
        "predictions",
        "query",
        "cancer",
        "SELECT count(*) AS n FROM predictions",
        "--json",
        home=home,
    )
    assert json.loads(count.stdout) == [{"n": 40}]
    target = home / "out.csv"
    export = cli(
        "predictions", "export", "cancer", "--out", str(target), "--since", "1h", home=home
    )
    assert export.returncode == 0, export.stderr
    frame = pd.read_csv(target)
    assert len(frame) == 40 and "mean radius" in frame.columns
    assert set(frame["request_id"]) == set(ids)


def test_deployment_commands_and_errors(registry: sw.Client) -> None:
    home = registry.settings.home
    out = cli(
        "deployments",
        "create",
        "c",
        "models:/cancer@production",
        "--canary",
        "models:/cancer/2",
        "--percent",
        "20",
        "--api-key",
        home=home,
    )
    assert out.returncode == 0, out.stderr
    assert "API key (shown once" in out.stdout and "canary" in out.stdout
    out = cli(
        "deployments", "set-traffic", "c", "--shadow", "models:/cancer/2", "--json", home=home
    )
    shown = json.loads(out.stdout)
    assert (shown["mode"], shown["percent"], shown["revision"]) == ("shadow", 100.0, 2)
    listed = cli("deployments", "list", "--json", home=home)
    assert [d["name"] for d in json.loads(listed.stdout)] == ["c"]
    again = cli("deployments", "create", "c", "models:/cancer/1", home=home)
    assert again.returncode == 2 and "exists" in again.stderr
    missing = cli("serve", "models:/nope@production", home=home)
    assert missing.returncode == 2 and "nope" in missing.stderr
    empty = cli("serve", home=home)
    assert empty.returncode == 2 and "nothing to serve" in empty.stderr
    bad_time = cli(
        "predictions", "export", "cancer", "--out", "x.csv", "--since", "yesterday", home=home
    )
    assert bad_time.returncode == 2 and "24h" in bad_time.stderr
    out = cli("deployments", "delete", "c", home=home)
    assert out.returncode == 0
    gone = cli("deployments", "show", "c", home=home)
    assert gone.returncode == 2 and "does not exist" in gone.stderr
