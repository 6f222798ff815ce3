"""Monitoring: drift of 1,000,000 production rows x 25 columns (20 numeric, 5 categorical)
against a reference profile, end to end through ``MonitoringService.run``: reading the 20
prediction-log Parquet segments from the blob store, profiling them into DataSketches
bucket profiles stored in the database, merging the window and testing every column (the
window is large, so normalized Wasserstein and Jensen-Shannon), best of 3 (each on a fresh
home). Four numeric columns and one categorical column are shifted, and the run must say so.

Baseline: what one writes by hand with pandas and scipy on the raw rows, as Evidently's
data-drift preset computes them: read the same segments into pandas, then
``scipy.stats.wasserstein_distance`` / reference std per numeric column and
``scipy.spatial.distance.jensenshannon`` per categorical column against the raw reference
rows. If ``evidently`` is importable its DataDriftPreset report on the same data is timed too
(it is not a dependency; its figure is printed, not tabled).

Profiling throughput: rows per second one core profiles (``profile_log`` on one segment),
against the serving benchmark's best rate (``docs/benchmarks.md``): the monitor keeps up with
serving using a fraction of one core.
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

import shipway as sw
from bench.common import Result
from shipway.config import Settings
from shipway.services import Services

ROWS = 1_000_000
REFERENCE_ROWS = 100_000
SEGMENT = 50_000
NUMERIC = [f"n{i:02d}" for i in range(20)]
CATEGORICAL = [f"c{i}" for i in range(5)]
LEVELS = [f"level_{k}" for k in range(12)]
DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def frame(rows: int, seed: int, shift: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {}
    for i, name in enumerate(NUMERIC):
        offset = 0.5 * (1 + i % 3) if shift and i < 4 else 0.0
        data[name] = rng.normal(i + offset, 1 + i % 5, rows)
    for i, name in enumerate(CATEGORICAL):
        p = np.linspace(1, 2 + i, len(LEVELS))
        if shift and i == 0:
            p = p[::-1]
        data[name] = pd.Categorical(rng.choice(LEVELS, rows, p=p / p.sum()), categories=LEVELS)
    return pd.DataFrame(data)


def log_table(features: pd.DataFrame, start_ms: int) -> pa.Table:
    """Rows in the prediction log's own layout (see ``shipway.serving.predlog``)."""
    n = len(features)
    inputs = pa.StructArray.from_arrays(
        [pa.array(features[c].to_numpy()) for c in NUMERIC]
        + [pa.array(features[c].astype(str).to_numpy(), pa.string()) for c in CATEGORICAL],
        names=NUMERIC + CATEGORICAL,
    )
    times = start_ms + np.arange(n) // 100
    return pa.table(
        {
            "request_id": pa.array([f"r{start_ms}-{i}" for i in range(n)], pa.string()),
            "row": pa.array(np.zeros(n, dtype=np.int32)),
            "time": pa.array(times, pa.timestamp("ms", tz="UTC")),
            "endpoint": pa.array(["bench"] * n, pa.string()),
            "model": pa.array(["bench"] * n, pa.string()),
            "version": pa.array(np.ones(n, dtype=np.int32)),
            "arm": pa.array(["primary"] * n, pa.string()),
            "protocol": pa.array(["native"] * n, pa.string()),
            "latency_ms": pa.array(np.full(n, 2.0, dtype=np.float32)),
            "inputs": inputs,
            "prediction": pa.array(np.zeros(n, dtype=np.int64)),
        }
    )


def setup(
    folder: Path, reference: pd.DataFrame, production: pd.DataFrame
) -> tuple[Settings, list[Path]]:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    settings = Settings.load(overrides={"home": str(folder / "home")}, environ={})
    client = sw.Client("", settings=settings)
    reference.to_parquet(folder / "reference.parquet")
    ref = sw.datasets.add("bench-reference", folder / "reference.parquet", client=client)
    train = reference.head(5000)
    labels = (train["n00"] > train["n00"].median()).astype(int)
    model = make_pipeline(
        ColumnTransformer(
            [("c", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL)], remainder="passthrough"
        ),
        LogisticRegression(max_iter=2000),
    ).fit(train, labels)
    with sw.start_run(experiment="bench", client=client, capture=False) as run:
        run.log_input(ref, context="training")
        run.log_model(model, input_example=train.head(2), register="bench")
    client.set_contract(
        "bench",
        "objective: benchmark\ntask: binary-classification\n"
        "monitoring:\n  drift: {share_above: 0.5, window: 1d}\n",
    )
    services = Services.open(settings)
    services.monitoring.profiles.reference("bench", 1)  # the reference profile exists beforehand
    start = int(time.time() * 1000) - 3_600_000
    paths = []
    for i in range(0, ROWS, SEGMENT):
        table = log_table(production.iloc[i : i + SEGMENT], start + i // 100)
        path = folder / f"segment-{i // SEGMENT:02d}.parquet"
        pq.write_table(table, path, compression="zstd")
        services.predictions.add_segment(
            "bench",
            1,
            path,
            rows=table.num_rows,
            first=start + i // 100,
            last=start + (i + SEGMENT) // 100,
        )
        paths.append(path)
    services.close()
    client.close()
    return settings, paths


def shipway_once(reference: pd.DataFrame, production: pd.DataFrame) -> tuple[float, list[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        settings, _ = setup(Path(tmp), reference, production)
        services = Services.open(settings)
        started = time.perf_counter()
        services.monitoring.run("bench")
        elapsed = time.perf_counter() - started
        now = int(time.time() * 1000)
        drifted = services.monitoring.report_at("bench", 86400, now)["versions"]["1"]["drift"][
            "drifted"
        ]
        services.close()
    return elapsed, drifted


def baseline_once(reference: pd.DataFrame, paths: list[Path]) -> float:
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import wasserstein_distance

    started = time.perf_counter()
    frames = [pq.read_table(p).column("inputs").combine_chunks().flatten() for p in paths]
    current = pd.concat(
        [
            pd.DataFrame(
                {
                    n: a.to_numpy(zero_copy_only=False)
                    for n, a in zip(NUMERIC + CATEGORICAL, f, strict=True)
                }
            )
            for f in frames
        ],
        ignore_index=True,
    )
    for name in NUMERIC:
        ref = reference[name].to_numpy()
        wasserstein_distance(ref, current[name].to_numpy()) / ref.std()
    for name in CATEGORICAL:
        p = reference[name].astype(str).value_counts(normalize=True)
        q = current[name].value_counts(normalize=True).reindex(p.index, fill_value=0)
        jensenshannon(p.to_numpy(), q.to_numpy())
    return time.perf_counter() - started


def evidently_seconds(reference: pd.DataFrame, paths: list[Path]) -> float | None:
    try:
        from evidently import Report  # type: ignore[import-not-found]
        from evidently.presets import DataDriftPreset  # type: ignore[import-not-found]
    except ImportError:
        return None
    current = pd.concat(
        [pq.read_table(p).column("inputs").combine_chunks().flatten().to_pandas() for p in paths]
    )
    started = time.perf_counter()
    try:
        Report([DataDriftPreset()]).run(reference_data=reference, current_data=current)
    except Exception as exc:  # another Evidently API or a pandas it does not support
        print(f"evidently could not run here: {type(exc).__name__}: {exc}")
        return None
    return time.perf_counter() - started


def serving_rate() -> float | None:
    if not DOC.exists():
        return None
    rates = [
        float(m.replace(",", ""))
        for m in re.findall(r"\| serving [^|]*\| ([\d,.]+) req/s", DOC.read_text())
    ]
    return max(rates) if rates else None


def run() -> list[Result]:
    reference = frame(REFERENCE_ROWS, 1, shift=False)
    production = frame(ROWS, 2, shift=True)
    best, drifted = min(shipway_once(reference, production) for _ in range(3))
    expected = sorted(NUMERIC[:4] + CATEGORICAL[:1])
    if sorted(drifted) != expected:
        raise SystemExit(f"monitoring bench: drifted {drifted}, expected {expected}")
    with tempfile.TemporaryDirectory() as tmp:
        _, paths = setup(Path(tmp), reference, production)
        base = min(baseline_once(reference, paths) for _ in range(3))
        evident = evidently_seconds(reference, paths)
        from shipway.monitoring.profiling import profile_log
        from shipway.monitoring.sketches import CATEGORICAL as CAT
        from shipway.monitoring.sketches import NUMERIC as NUM

        kinds = {
            **dict.fromkeys(NUMERIC, NUM),
            **dict.fromkeys(CATEGORICAL, CAT),
            "@prediction": CAT,
        }
        one = pq.read_table(paths[0])
        started = time.perf_counter()
        profile_log(one, kinds, {}, 3600)
        per_second = one.num_rows / (time.perf_counter() - started)
    results = [
        Result(
            "monitoring drift 1M rows x 25 columns (s)",
            best,
            "s",
            "pandas + scipy on raw rows",
            base,
            "< 3 s",
            higher_is_better=False,
        )
    ]
    rate = serving_rate()
    if rate:
        results.append(
            Result(
                "monitoring profiling (rows/s, one core)",
                per_second,
                "rows/s",
                "serving's best rate",
                rate,
                ">= 2x serving",
            )
        )
    if evident is not None:
        ratio = evident / best
        print(f"evidently DataDriftPreset, same data: {evident:.1f} s ({ratio:.1f}x shipway's)")
    else:
        print("evidently is not installed: no comparison (pip install evidently to add one)")
    return results
