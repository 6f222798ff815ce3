"""Pipelines, sweeps and batch scoring, each against its baseline in the same run:

- a 20-stage `shipway.yaml` (a chain of shell stages, each reading the previous one's
  out) re-run with every stage cached — `shipway pipelines run` and `shipway pipelines
  status`, whole commands, median of 7 — against the same pipeline as a `dvc.yaml` with
  `dvc repro` and `dvc status` (DVC 3.67.1 from its own environment, `.bench/dvc-venv`,
  made on the first run);
- 16 sweep trials of a random forest (300 trees, 3-fold cross-validation on the breast
  cancer data: about a second each) on a 2-worker LocalCluster, against the same 16
  trials called one after the other in one process; once with the cluster already
  running, once including its start. And the cost per trial with a no-op objective
  (Optuna's ask and tell, the trial's run, its params and metric, the Dask round trip)
  against a bare Dask submit and result of the same no-op;
- `shipway predict` of a Parquet file of 5,000,000 rows x 30 columns with the breast
  cancer pipeline (scaler + logistic regression), into a folder of parts (the default
  LocalCluster: one worker process, 2 threads; its start included), against one
  pandas process doing read_parquet -> predict -> to_parquet on the same file; the peak
  memory (RSS of the whole process tree, sampled every 50 ms) of both, and of shipway on
  20,000,000 rows (`BENCH_BATCH_ROWS`, `BENCH_BATCH_BIG` change the sizes).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import Result

DVC = "dvc==3.67.1"
DVC_VENV = Path(__file__).resolve().parent.parent / ".bench" / "dvc-venv"
STAGES = 20
REPEAT = 7


def dvc_command() -> Path:
    command = DVC_VENV / "bin" / "dvc"
    if not command.exists():
        print(f"making {DVC_VENV} with {DVC} (once)", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(DVC_VENV)], check=True)
        subprocess.run([str(DVC_VENV / "bin" / "pip"), "install", "-q", DVC], check=True)
    return command


def chain(folder: Path, dvc: bool) -> None:
    """The 20-stage chain, as shipway.yaml or dvc.yaml (the same commands and files)."""
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "in.txt").write_text("seed\n")
    lines = ["stages:"] if dvc else ["pipeline: chain", "stages:"]
    previous = "data/in.txt"
    for i in range(STAGES):
        out = f"out/s{i:02d}.txt"
        lines += [
            f"  s{i:02d}:",
            f"    cmd: mkdir -p out && cat {previous} > {out} && echo {i} >> {out}",
            f"    deps: [{previous}]",
            f"    outs: [{out}]",
        ]
        previous = out
    (folder / ("dvc.yaml" if dvc else "shipway.yaml")).write_text("\n".join(lines) + "\n")


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    return (time.perf_counter() - started) * 1000


def median_of(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    return statistics.median(timed(command, cwd, env) for _ in range(REPEAT))


def cached_pipeline(root: Path) -> list[Result]:
    ours, theirs = root / "shipway", root / "dvc"
    chain(ours, dvc=False)
    chain(theirs, dvc=True)
    env = {**os.environ, "SHIPWAY_HOME": str(root / "home")}
    shipway = [sys.executable, "-m", "shipway", "pipelines"]
    subprocess.run([*shipway, "run"], cwd=ours, env=env, check=True, capture_output=True)
    dvc = str(dvc_command())
    subprocess.run(["git", "init", "-q"], cwd=theirs, check=True)
    subprocess.run([dvc, "init", "-q"], cwd=theirs, check=True)
    subprocess.run([dvc, "config", "core.analytics", "false"], cwd=theirs, check=True)
    subprocess.run([dvc, "repro", "-q"], cwd=theirs, env=env, check=True, capture_output=True)
    run_ms = median_of([*shipway, "run"], ours, env)
    status_ms = median_of([*shipway, "status"], ours, env)
    inproc = subprocess.run(  # the work of status without Python's start and imports
        [sys.executable, "-c", INPROCESS, str(ours)], env=env, check=True,
        capture_output=True, text=True,
    )  # fmt: skip
    inprocess_ms = float(inproc.stdout.strip())
    repro_ms = median_of([dvc, "repro", "-q"], theirs, env)
    dvc_status_ms = median_of([dvc, "status", "-q"], theirs, env)
    return [
        Result(
            "pipelines run, 20 stages all cached (whole command)",
            run_ms,
            "ms",
            "dvc repro",
            repro_ms,
            "<= 500 ms; >= 3x dvc",
            higher_is_better=False,
        ),
        Result(
            "pipelines status, 20 stages (whole command)",
            status_ms,
            "ms",
            "dvc status",
            dvc_status_ms,
            "<= 300 ms; >= 3x dvc",
            higher_is_better=False,
        ),
        Result(
            "pipelines status, 20 stages, in process (the work alone)",
            inprocess_ms,
            "ms",
            "the whole command",
            status_ms,
            "(the rest is Python's start and imports)",
            higher_is_better=False,
        ),
    ]


INPROCESS = """
import statistics, sys, time
import shipway as sw
from shipway.runner import load
pipe = load("shipway.yaml", sys.argv[1])
client = sw.Client()
pipe.status(client=client)
times = []
for _ in range(7):
    started = time.perf_counter()
    pipe.status(client=client)
    times.append((time.perf_counter() - started) * 1000)
print(statistics.median(times))
"""


# sweeps ---------------------------------------------------------------------------------

SPACE = {"max_depth": [2, 3, 4, 5, 6, 8, 10, None], "min_samples_leaf": [1, 2, 4, 8]}


def forest(max_depth: int | None, min_samples_leaf: int) -> float:
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import cross_val_score

    X, y = load_breast_cancer(return_X_y=True)
    model = RandomForestClassifier(
        n_estimators=300, max_depth=max_depth, min_samples_leaf=min_samples_leaf, random_state=0
    )
    return float(cross_val_score(model, X, y, cv=3).mean())


def nothing(x: int) -> float:
    return float(x)


def _points() -> list[dict[str, Any]]:
    import random

    rng = random.Random(0)
    return [{k: rng.choice(v) for k, v in SPACE.items()} for _ in range(16)]


def sweeps(root: Path) -> list[Result]:
    import cloudpickle
    import distributed

    import shipway as sw
    from shipway.config import Settings

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    settings = Settings.load(overrides={"home": str(root / "sweep-home")})
    client = sw.Client("", settings=settings)
    points = _points()
    forest(**points[0])  # imports and data loaded before the serial clock starts
    started = time.perf_counter()
    for point in points:
        forest(**point)
    serial_s = time.perf_counter() - started

    started = time.perf_counter()
    cold = sw.sweep(forest, space=SPACE, metric="accuracy", trials=16, sampler="random",
                    client=client, workers=2)  # fmt: skip
    cold_s = time.perf_counter() - started
    assert len(cold.trials) == 16

    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    dask = distributed.Client(cluster)
    try:
        dask.run(lambda: forest(2, 1))  # each worker imports scikit-learn once
        started = time.perf_counter()
        warm = sw.sweep(forest, space=SPACE, metric="accuracy", trials=16, sampler="random",
                        client=client, dask=dask)  # fmt: skip
        warm_s = time.perf_counter() - started
        assert len(warm.trials) == 16
        trials = 64
        started = time.perf_counter()
        sw.sweep(nothing, space={"x": (0, 1000)}, metric="x", trials=trials, sampler="random",
                 client=client, dask=dask)  # fmt: skip
        per_trial_ms = (time.perf_counter() - started) * 1000 / trials
        started = time.perf_counter()
        for i in range(trials):
            dask.submit(nothing, i, pure=False).result()
        bare_ms = (time.perf_counter() - started) * 1000 / trials
    finally:
        dask.close()
        cluster.close()
        client.close()
    return [
        Result(
            "16 sweep trials, warm 2-worker LocalCluster",
            warm_s,
            "s",
            "serial in one process",
            serial_s,
            ">= 1.7x",
            higher_is_better=False,
        ),
        Result(
            "16 sweep trials, LocalCluster start included",
            cold_s,
            "s",
            "serial in one process",
            serial_s,
            "(the cluster's start is a fixed cost)",
            higher_is_better=False,
        ),
        Result(
            "sweep cost per trial, no-op objective",
            per_trial_ms,
            "ms",
            "bare Dask submit + result",
            bare_ms,
            f"overhead <= 20 ms (here {per_trial_ms - bare_ms:.1f} ms)",
            higher_is_better=False,
        ),
    ]


# batch scoring --------------------------------------------------------------------------


class PeakMemory:
    """The peak RSS of a process and its children, sampled every 50 ms."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                root = psutil.Process(self.pid)
                total = root.memory_info().rss + sum(
                    c.memory_info().rss for c in root.children(recursive=True)
                )
                self.peak = max(self.peak, total)
            except psutil.Error:
                pass
            time.sleep(0.05)


def measure(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, int]:
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)  # fmt: skip
    with PeakMemory(process.pid) as memory:
        _, err = process.communicate()
    if process.returncode not in (0,):
        raise RuntimeError(f"{command[:4]} failed: {err.decode()[-2000:]}")
    return time.perf_counter() - started, memory.peak


def scores_file(path: Path, rows: int) -> None:
    """``rows`` rows of the breast cancer features (resampled, with noise), in row groups
    of 250,000, written a row group at a time."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    X = data.data
    rng = np.random.default_rng(0)
    schema = pa.schema([(c, pa.float64()) for c in X.columns])
    values = X.to_numpy()
    scale = values.std(axis=0) * 0.05
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for start in range(0, rows, 250_000):
            n = min(250_000, rows - start)
            picked = values[rng.integers(0, len(values), n)] + rng.normal(0, 1, (n, 30)) * scale
            writer.write_table(pa.table({c: picked[:, i] for i, c in enumerate(X.columns)}))


BASELINE = """
import sys, pickle
import pandas as pd
model = pickle.load(open(sys.argv[1], "rb"))
frame = pd.read_parquet(sys.argv[2])
pd.DataFrame({"prediction": model.predict(frame)}).to_parquet(sys.argv[3])
"""


def batch(root: Path) -> list[Result]:
    import pickle

    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import shipway as sw
    from shipway.config import Settings

    rows = int(os.environ.get("BENCH_BATCH_ROWS", 5_000_000))
    big = int(os.environ.get("BENCH_BATCH_BIG", 20_000_000))
    data = load_breast_cancer(as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    model.fit(data.data, data.target)
    home = root / "batch-home"
    client = sw.Client("", settings=Settings.load(overrides={"home": str(home)}))
    with sw.start_run(experiment="cancer", client=client, capture=False) as run:
        run.log_model(model, input_example=data.data.head(3), register="cancer")
    client.close()
    (root / "model.pkl").write_bytes(pickle.dumps(model))
    (root / "baseline.py").write_text(BASELINE)
    small = root / f"scores-{rows}.parquet"
    scores_file(small, rows)
    env = {**os.environ, "SHIPWAY_HOME": str(home)}
    predict = [sys.executable, "-m", "shipway", "predict", "models:/cancer/1", "--json"]
    base_s, base_peak = measure(
        [sys.executable, str(root / "baseline.py"), str(root / "model.pkl"), str(small),
         str(root / "baseline-out.parquet")], env, root)  # fmt: skip
    ours_s, ours_peak = measure([*predict, "-i", str(small), "-o", str(root / "out")], env, root)
    small.unlink()
    large = root / f"scores-{big}.parquet"
    scores_file(large, big)
    big_s, big_peak = measure([*predict, "-i", str(large), "-o", str(root / "out-big")], env, root)
    mib = 2**20
    return [
        Result(
            f"shipway predict, {rows:,} rows x 30 (Parquet), 2 workers",
            rows / ours_s,
            "rows/s",
            "one pandas process: read, predict, write",
            rows / base_s,
            ">= 1.7x",
        ),
        Result(
            f"peak memory of shipway predict, {rows:,} rows",
            ours_peak / mib,
            "MiB",
            "one pandas process",
            base_peak / mib,
            "flat as the input grows",
            higher_is_better=False,
        ),
        Result(
            f"shipway predict, {big:,} rows x 30 (Parquet), 2 workers",
            big / big_s,
            "rows/s",
            f"shipway on {rows:,} rows",
            rows / ours_s,
            "as fast (ratio ~1)",
        ),
        Result(
            f"peak memory of shipway predict, {big:,} rows",
            big_peak / mib,
            "MiB",
            f"shipway on {rows:,} rows",
            ours_peak / mib,
            "the same peak (ratio ~1)",
            higher_is_better=False,
        ),
    ]


def run() -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="shipway-bench-pipelines-") as tmp:
        root = Path(tmp)
        results = cached_pipeline(root)
        for r in results:
            print(r.line(), file=sys.stderr)
        results += sweeps(root)
        results += batch(root)
    return results


if __name__ == "__main__":
    for result in run():
        print(result.line())
