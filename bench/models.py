"""Model packages: what serving through a package costs over the raw model.

- predict overhead: the breast-cancer Pipeline (StandardScaler + LogisticRegression, 30
  float columns) saved with `save_package` and loaded with `load_package`; the median of
  2,000 single-row calls of `loaded.predict(row_df)` (signature validation and dtype
  checks included) against the raw pipeline's `predict(row_df)` on an equal DataFrame.
  The two calls alternate, so both see the same machine state.
- load time: a ~200 MB scikit-learn package (an estimator holding a 200 MB numpy array)
  loaded with `load_package`, BLAKE3 verification of every file included, against
  `cp model.pkl /dev/null` plus `pickle.load` of the same file, measured in the same run;
  median of 5 with a warm page cache.
"""

from __future__ import annotations

import pickle
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from bench.common import Result
from shipway.models import load_package, save_package

PREDICT_CALLS = 2_000
BIG_FLOATS = 25_000_000  # 200 MB of float64
LOAD_REPEAT = 5


class WeightTable(BaseEstimator, RegressorMixin):  # type: ignore[misc]
    """A stand-in for a big model: one large array of learned weights."""

    def __init__(self, size: int = BIG_FLOATS) -> None:
        self.size = size

    def fit(self, X: Any, y: Any = None) -> WeightTable:
        self.weights_ = np.random.default_rng(0).standard_normal(self.size)
        return self

    def predict(self, X: Any) -> Any:
        return np.asarray(X, dtype="float64")[:, 0] * self.weights_[0]


def _predict_overhead(root: Path) -> Result:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
    save_package(pipeline, root / "cancer", input_example=X.head())
    loaded = load_package(root / "cancer")
    row = X.iloc[[0]].copy()
    raw_times, package_times = [], []
    for i in range(PREDICT_CALLS + 200):
        start = time.perf_counter()
        pipeline.predict(row)
        middle = time.perf_counter()
        loaded.predict(row)
        end = time.perf_counter()
        if i >= 200:  # warm-up
            raw_times.append(middle - start)
            package_times.append(end - middle)
    return Result(
        "predict, one row, sklearn Pipeline (30 float columns) through a package",
        statistics.median(package_times) * 1e6,
        "µs",
        "raw pipeline.predict",
        statistics.median(raw_times) * 1e6,
        "<= 1.2x raw",
        higher_is_better=False,
    )


def _load_time(root: Path) -> Result:
    package = root / "big"
    save_package(WeightTable().fit(None), package, input_example=np.ones((2, 3)))
    model_file = package / "model.pkl"
    size_mb = model_file.stat().st_size / 1e6
    load_package(package)  # warm the page cache
    loads, baselines = [], []
    for _ in range(LOAD_REPEAT):
        start = time.perf_counter()
        load_package(package)
        loads.append(time.perf_counter() - start)
        start = time.perf_counter()
        subprocess.run(["cp", str(model_file), "/dev/null"], check=True)
        with open(model_file, "rb") as f:
            pickle.load(f)
        baselines.append(time.perf_counter() - start)
    return Result(
        f"load a {size_mb:,.0f} MB sklearn package (digests verified)",
        statistics.median(loads) * 1000,
        "ms",
        "cp to /dev/null + pickle.load",
        statistics.median(baselines) * 1000,
        "<= 1.5x baseline",
        higher_is_better=False,
    )


def run() -> list[Result]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        return [_predict_overhead(root), _load_time(root)]


if __name__ == "__main__":
    for result in run():
        print(result.line())
