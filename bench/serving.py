"""The inference server under load, against a minimal Starlette app calling the same model.

The model: the breast-cancer Pipeline (StandardScaler + LogisticRegression, 30 float
columns), registered as `bench@production` in a temporary home. Load: `bench/loadgen.py`
in its own process, closed-loop keep-alive HTTP/1.1 connections on loopback, one-row
requests, 1 s warm-up then 6 s measured. Both servers run one uvicorn worker (uvloop,
httptools) with access logs off; shipway's JSON access log is on in every shipway run
(written to /dev/null). Baseline: `bench/serving_baseline.py`, parsing the body into a
DataFrame and calling `model.predict`, measured in the same run at the same concurrency.
Server CPU time per request (utime+stime from /proc) is printed beside requests/s: on two
cores the load generator competes with the server, and CPU/request is the steadier figure.

- native, batching off, prediction log off, concurrency 32: requests/s and p99 vs baseline
- native with the prediction log on: requests/s vs the same run with it off
- native, batching on (`--batch-max-size 64`), concurrency 64 vs the baseline at 64
- p50/p90/p99 and requests/s for each protocol (native, OIP v2, /invocations)
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import shipway as sw
from bench.common import Result, free_port
from shipway.config import Settings

SECONDS = 6


def _cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` and its children (the worker processes)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


class Server:
    def __init__(self, args: list[str], port: int, env: dict[str, str], ready: str) -> None:
        self.port = port
        self.proc = subprocess.Popen(
            args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}{ready}").status_code < 500:
                    break
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server {args} did not start")
            time.sleep(0.2)

    def load(
        self, path: str, body: bytes, concurrency: int, content_type: str = "application/json"
    ) -> dict[str, Any]:
        with tempfile.NamedTemporaryFile(suffix=".body") as fh:
            fh.write(body)
            fh.flush()
            before = _cpu_seconds(self.proc.pid)
            out = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bench.loadgen",
                    "127.0.0.1",
                    str(self.port),
                    path,
                    fh.name,
                    str(concurrency),
                    str(SECONDS),
                    content_type,
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            after = _cpu_seconds(self.proc.pid)
        stats: dict[str, Any] = json.loads(out.stdout)
        measured = stats["requests"] or 1
        stats["cpu_ms"] = (after - before) * 1000 / (measured * (SECONDS + 1) / SECONDS)
        if stats["errors"]:
            raise RuntimeError(f"{stats['errors']} failed requests on {path}")
        return stats

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def _describe(name: str, s: dict[str, Any]) -> str:
    return (
        f"  {name:<34} {s['rps']:8,.0f} req/s  p50 {s['p50']:6.2f}  p90 {s['p90']:6.2f}  "
        f"p99 {s['p99']:6.2f} ms  server CPU {s['cpu_ms']:.2f} ms/req"
    )


def run() -> list[Result]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
    row = X.iloc[[0]]
    record = row.to_dict(orient="records")
    native = json.dumps({"records": record}).encode()
    v2 = json.dumps(
        {
            "inputs": [
                {
                    "name": "input",
                    "shape": [1, 30],
                    "datatype": "FP64",
                    "data": row.to_numpy().ravel().tolist(),
                }
            ]
        }
    ).encode()
    mlflow = json.dumps(
        {"dataframe_split": {"columns": list(X.columns), "data": row.to_numpy().tolist()}}
    ).encode()
    with tempfile.TemporaryDirectory(prefix="shipway-bench-serve-") as tmp:
        home = Path(tmp) / "home"
        client = sw.Client("", settings=Settings.load(overrides={"home": str(home)}, environ={}))
        with sw.start_run(experiment="bench", client=client, capture=False) as run_:
            run_.log_model(model, input_example=X.head(3), register="bench")
        client.registry.set_alias("bench", 1, "production")
        client.close()
        pickled = Path(tmp) / "model.pkl"
        pickled.write_bytes(pickle.dumps(model))
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPWAY_")}
        env["SHIPWAY_BENCH_MODEL"] = str(pickled)
        env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)

        def baseline() -> Server:
            port = free_port()
            return Server(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "bench.serving_baseline:app",
                    "--port",
                    str(port),
                    "--loop",
                    "uvloop",
                    "--http",
                    "httptools",
                    "--no-access-log",
                    "--log-level",
                    "warning",
                ],
                port,
                env,
                "/predict",
            )

        def shipway(*extra: str) -> Server:
            port = free_port()
            return Server(
                [
                    sys.executable,
                    "-m",
                    "shipway",
                    "serve",
                    "models:/bench@production",
                    "--port",
                    str(port),
                    "--home",
                    str(home),
                    "--log-level",
                    "warning",
                    *extra,
                ],
                port,
                env,
                "/health/ready",
            )

        figures: dict[str, dict[str, Any]] = {}
        server = baseline()
        figures["baseline c32"] = server.load("/predict", native, 32)
        figures["baseline c64"] = server.load("/predict", native, 64)
        server.stop()
        server = shipway("--no-prediction-log")
        figures["native c32, log off"] = server.load("/v1/models/bench/predict", native, 32)
        server.stop()
        server = shipway()
        figures["native c32, log on"] = server.load("/v1/models/bench/predict", native, 32)
        figures["v2 c32, log on"] = server.load("/v2/models/bench/infer", v2, 32)
        figures["invocations c32, log on"] = server.load("/invocations", mlflow, 32)
        server.stop()
        server = shipway("--batch-max-size", "64", "--batch-max-wait-ms", "2")
        figures["native c64, batching, log on"] = server.load(
            "/v1/models/bench/predict", native, 64
        )
        server.stop()
    for name, stats in figures.items():
        print(_describe(name, stats))
    base32, base64 = figures["baseline c32"], figures["baseline c64"]
    off, on = figures["native c32, log off"], figures["native c32, log on"]
    batched = figures["native c64, batching, log on"]
    return [
        Result(
            "serving native c32 (requests/s)",
            off["rps"],
            "req/s",
            "Starlette app",
            base32["rps"],
            ">= 0.8x",
        ),
        Result(
            "serving native c32 p99",
            off["p99"],
            "ms",
            "Starlette app",
            base32["p99"],
            "<= 1.5x the baseline's (ratio >= 0.67)",
            higher_is_better=False,
        ),
        Result(
            "serving native c32 server CPU per request",
            off["cpu_ms"],
            "ms",
            "Starlette app",
            base32["cpu_ms"],
            "informational",
            higher_is_better=False,
        ),
        Result(
            "serving prediction log on (requests/s)",
            on["rps"],
            "req/s",
            "log off",
            off["rps"],
            ">= 0.95x",
        ),
        Result(
            "serving batching c64 (requests/s)",
            batched["rps"],
            "req/s",
            "Starlette app c64",
            base64["rps"],
            ">= 2x",
        ),
        Result(
            "serving OIP v2 c32 (requests/s)",
            figures["v2 c32, log on"]["rps"],
            "req/s",
            "Starlette app",
            base32["rps"],
            "informational",
        ),
        Result(
            "serving /invocations c32 (requests/s)",
            figures["invocations c32, log on"]["rps"],
            "req/s",
            "Starlette app",
            base32["rps"],
            "informational",
        ),
    ]
