"""The unmodified mlflow client against `shipway server` and against MLflow's own
`mlflow server` (SQLite, one worker), in the same run, on the same machine:

- `MlflowClient.log_batch`: 10 keys x 10,000 steps in batches of 1,000 metrics (each
  client figure is the median of 3 passes; one server runs at a time);
- `MlflowClient.log_metric`: 2,000 calls of one point each (wall time per call, and the
  server's own CPU per call, read from /proc over its whole process tree);
- `search_runs` with `metrics.acc > 0.9 and params.model = 'rf'` ordered by
  `metrics.acc DESC`, 100 results, over 10,000 runs;
- the same log_batch work against a server that answers `{}` at once: the client's own
  time, below which no server can go (the ceiling of the log_batch ratio);
- `shipway import mlflow` of an MLflow database of 10,000 runs x 5 params x 5 metrics x
  100 steps (the same store the search runs on, written into MLflow's schema with SQL).

MLflow's server runs from its own virtual environment (`.bench/mlflow-venv`, made on the
first run with `pip install mlflow==3.17.2`), because the full `mlflow` package pins
what shipway's environment does not need.
"""

from __future__ import annotations

import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx

from bench.common import Result, free_port, start_server

MLFLOW = "mlflow==3.17.2"
VENV = Path(__file__).resolve().parent.parent / ".bench" / "mlflow-venv"
RUNS, STEPS = 10_000, 100
REPEAT = 3
FILTER = "metrics.acc > 0.9 and params.model = 'rf'"


def mlflow_server_command() -> Path:
    """The `mlflow` command of the bench's own environment (made once)."""
    command = VENV / "bin" / "mlflow"
    if not command.exists():
        print(f"making {VENV} with {MLFLOW} (once)", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        pip = [str(VENV / "bin" / "pip"), "install", "-q", MLFLOW]
        subprocess.run(pip, check=True)
    return command


def start_mlflow(folder: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            str(mlflow_server_command()),
            "server",
            "--backend-store-uri",
            f"sqlite:///{folder / 'mlflow.db'}",
            "--artifacts-destination",
            str(folder / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(folder / "server.log", "ab"),  # noqa: SIM115 (the server keeps it)
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    stop(proc)
    raise RuntimeError(f"mlflow server did not start; see {folder / 'server.log'}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    import signal

    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        proc.terminate()
    proc.wait(timeout=30)


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of ``pid`` and every process below it."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        ticks[int(entry.name)] = int(fields[11]) + int(fields[12])
    family, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, ppid in parents.items():
            if ppid == parent and child not in family:
                family.add(child)
                frontier.append(child)
    return sum(ticks.get(p, 0) for p in family) / os.sysconf("SC_CLK_TCK")


def client_work(url: str, server_pid: int) -> dict[str, float]:
    """The client-side measurements against one server."""
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    client = MlflowClient(url)
    experiment = client.create_experiment(f"bench-{uuid.uuid4().hex[:8]}")
    run = client.create_run(experiment)
    now = int(time.time() * 1000)
    metrics = [Metric(f"k{k}", s * 0.001, now, s) for k in range(10) for s in range(10_000)]
    started = time.perf_counter()
    for i in range(0, len(metrics), 1000):
        client.log_batch(run.info.run_id, metrics=metrics[i : i + 1000])
    batch = time.perf_counter() - started
    one = client.create_run(experiment)
    cpu = tree_cpu(server_pid)
    started = time.perf_counter()
    for step in range(2000):
        client.log_metric(one.info.run_id, "loss", 1 / (step + 1), step=step)
    per_call = (time.perf_counter() - started) / 2000
    cpu_per_call = (tree_cpu(server_pid) - cpu) / 2000
    stored = client.get_metric_history(one.info.run_id, "loss")
    assert len(stored) == 2000, len(stored)
    return {"batch_s": batch, "call_ms": per_call * 1000, "cpu_ms": cpu_per_call * 1000}


def median_of(work: Callable[[], dict[str, float]], repeat: int = REPEAT) -> dict[str, float]:
    """Each figure's median over ``repeat`` passes (this 2-core machine is noisy)."""
    passes = [work() for _ in range(repeat)]
    return {key: statistics.median(p[key] for p in passes) for key in passes[0]}


NULL_SERVER = """
import sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

async def answer(request):
    await request.body()
    return Response(b"{}", media_type="application/json")

app = Starlette(routes=[Route("/{path:path}", answer, methods=["GET", "POST"])])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="error")
"""


def client_alone() -> float:
    """The log_batch work against a server that answers at once: the client's own time,
    which no server can go below (so it bounds the ratio any server can reach)."""
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", NULL_SERVER, str(port)])
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        client = MlflowClient(f"http://127.0.0.1:{port}")
        now = int(time.time() * 1000)
        metrics = [Metric(f"k{k}", s * 0.001, now, s) for k in range(10) for s in range(10_000)]
        times = []
        for _ in range(REPEAT):
            started = time.perf_counter()
            for i in range(0, len(metrics), 1000):
                client.log_batch("0" * 32, metrics=metrics[i : i + 1000])
            times.append(time.perf_counter() - started)
        return statistics.median(times)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def search_time(url: str, experiment_id: str) -> float:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(url)
    times = []
    for _ in range(7):
        started = time.perf_counter()
        found = client.search_runs(
            [experiment_id], FILTER, order_by=["metrics.acc DESC"], max_results=100
        )
        times.append(time.perf_counter() - started)
        assert len(found) == 100
        values = [r.data.metrics["acc"] for r in found]
        assert values == sorted(values, reverse=True) and values[-1] > 0.9
    return sorted(times)[len(times) // 2] * 1000


def populate(db: Path, experiment_id: str, artifacts: Path) -> None:
    """10,000 finished runs in MLflow's own schema: 5 params, 5 metrics x 100 steps."""
    rng = random.Random(11)
    now = int(time.time() * 1000)
    conn = sqlite3.connect(db)
    runs, params, metrics, latest = [], [], [], []
    for i in range(RUNS):
        rid = uuid.UUID(int=rng.getrandbits(128)).hex
        runs.append(
            (rid, f"run-{i}", "LOCAL", "train.py", "", "bench", "FINISHED", now - i, now, "",
             "active", f"{artifacts}/{experiment_id}/{rid}/artifacts", int(experiment_id))
        )  # fmt: skip
        model = rng.choice(["rf", "lr", "xgb", "svm"])
        params += [(k, v, rid) for k, v in (("model", model), ("depth", str(rng.randint(2, 12))),
                   ("lr", str(rng.random())), ("seed", str(i)), ("n", "100"))]  # fmt: skip
        for key in ("acc", "loss", "f1", "auc", "recall"):
            base = rng.random()
            for step in range(STEPS):
                value = base if key == "acc" and step == STEPS - 1 else rng.random()
                metrics.append((key, value, now + step, rid, step, 0))
            latest.append(
                (key, base if key == "acc" else value, now + STEPS - 1, STEPS - 1, 0, rid)
            )
    conn.executemany(
        "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, "
        "user_id, status, start_time, end_time, source_version, lifecycle_stage, "
        "artifact_uri, experiment_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        runs,
    )
    conn.executemany("INSERT INTO params (key, value, run_uuid) VALUES (?,?,?)", params)
    conn.executemany(
        "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?,?,?,?,?,?)",
        metrics,
    )
    conn.executemany(
        "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) "
        "VALUES (?,?,?,?,?,?)",
        latest,
    )
    conn.commit()
    conn.close()


def run() -> list[Result]:
    import warnings

    warnings.simplefilter("ignore")
    from mlflow.tracking import MlflowClient

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        print(f"working in {root}", file=sys.stderr)
        (root / "mlflow").mkdir()
        mlflow_port, ours_port = free_port(), free_port()
        mlflow_url = f"http://127.0.0.1:{mlflow_port}"
        ours_url = f"http://127.0.0.1:{ours_port}"
        # one server at a time: MLflow's keeps job workers busy in the background
        theirs = start_mlflow(root / "mlflow", mlflow_port)
        try:
            base = median_of(lambda: client_work(mlflow_url, theirs.pid))
            search_exp = MlflowClient(mlflow_url).create_experiment("search")
        finally:
            stop(theirs)
        ours = start_server(root / "home", ours_port)
        try:
            mine = median_of(lambda: client_work(ours_url, ours.pid))
        finally:
            ours.terminate()
            ours.wait(timeout=30)
        started = time.perf_counter()
        populate(root / "mlflow" / "mlflow.db", search_exp, root / "mlflow" / "artifacts")
        print(f"populated in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        home = root / "home"
        (root / "mlflow" / "artifacts").mkdir(exist_ok=True)  # made on the first upload
        print(f"mlflow server: {base}; shipway server: {mine}", file=sys.stderr)
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "shipway", "import", "mlflow", "--json", "--home", str(home),
             "--from", f"sqlite:///{root / 'mlflow' / 'mlflow.db'}",
             "--artifacts", str(root / "mlflow" / "artifacts")],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        import_s = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"import failed: {done.stderr[-2000:]}")
        print(f"import: {import_s:.1f} s, {done.stdout.strip()}", file=sys.stderr)
        mlflow_port, ours_port = free_port(), free_port()
        mlflow_url, ours_url = f"http://127.0.0.1:{mlflow_port}", f"http://127.0.0.1:{ours_port}"
        theirs = start_mlflow(root / "mlflow", mlflow_port)
        ours = start_server(home, ours_port)
        try:
            search_base = search_time(mlflow_url, search_exp)
            local = MlflowClient(ours_url).get_experiment_by_name("search")
            assert local is not None
            search_ours = search_time(ours_url, local.experiment_id)
        finally:
            stop(theirs)
            ours.terminate()
            ours.wait(timeout=30)
    alone = client_alone()
    return [
        Result("mlflow client: log_batch 10 keys x 10,000 steps", mine["batch_s"], "s",
               "mlflow server 3.17 (SQLite, 1 worker)", base["batch_s"], ">= 10x faster",
               higher_is_better=False),
        Result("mlflow client alone: log_batch against a server that answers at once",
               alone, "s", "mlflow server 3.17", base["batch_s"],
               "the ceiling of the log_batch ratio", higher_is_better=False),
        Result("mlflow client: log_metric, one call per point (2,000)", mine["call_ms"],
               "ms per call", "mlflow server 3.17", base["call_ms"], ">= 3x faster",
               higher_is_better=False),
        Result("mlflow client: server CPU per log_metric call", mine["cpu_ms"],
               "ms CPU per call", "mlflow server 3.17", base["cpu_ms"], "less than MLflow's",
               higher_is_better=False),
        Result("mlflow client: search_runs, 100 of 10,000 runs", search_ours, "ms (median)",
               "mlflow server 3.17", search_base, ">= 5x faster", higher_is_better=False),
        Result("shipway import mlflow: 10,000 runs x 5 params x 5 metrics x 100 steps",
               import_s, "s", "target 60 s", 60.0, "<= 60 s", higher_is_better=False),
    ]  # fmt: skip
