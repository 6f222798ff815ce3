"""Dataset profiling: `profile_file` on a 1,000,000-row x 20-column Parquet file (10 float64
columns with 2% nulls and 1% NaN, 5 int64 columns, 5 string columns of ~50 distinct values),
best of 3. The profile holds per column nulls, min, max, mean, std, 7 exact quantiles and a
20-bin histogram for numbers, distinct count, top 20 values and lengths for strings.

Baseline: ``pandas.read_parquet(path).describe(include="all")`` on the same file, which
gives less (no histograms, no NaN counts, only the most frequent value of a string column).
shipway is faster because it never builds a DataFrame: it reads one column at a time
straight into Arrow and runs Arrow's compute kernels (which release the GIL) on two columns
at once.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bench.common import Result
from shipway.datasets.profile import profile_file

ROWS = 1_000_000


def write_table(path: Path) -> None:
    rng = np.random.default_rng(20240601)
    columns: dict[str, pa.Array] = {}
    for i in range(10):
        values = rng.normal(i, 1 + i, ROWS)
        values[rng.random(ROWS) < 0.01] = np.nan
        columns[f"float_{i}"] = pa.array(values, mask=rng.random(ROWS) < 0.02)
    for i in range(5):
        columns[f"int_{i}"] = pa.array(rng.integers(0, 1000 * (i + 1), ROWS))
    words = np.array([f"category_{k:02d}" for k in range(50)])
    for i in range(5):
        columns[f"text_{i}"] = pa.array(words[rng.integers(0, len(words), ROWS)])
    pq.write_table(pa.table(columns), path)


def best_of(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def run() -> list[Result]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "table.parquet"
        write_table(path)
        profile = profile_file(path, "parquet")
        assert profile["rows"] == ROWS and len(profile["columns"]) == 20, "wrong profile"
        figure = best_of(lambda: profile_file(path, "parquet"))
        baseline = best_of(lambda: pd.read_parquet(path).describe(include="all"))
    return [
        Result(
            "dataset profile, 1M rows x 20 columns Parquet",
            figure,
            "s",
            "pandas read_parquet + describe",
            baseline,
            "< 3 s",
            higher_is_better=False,
        )
    ]


if __name__ == "__main__":
    for result in run():
        print(result.line())
