"""Drift from sketches: the test each column kind and window size gets, overrides, and
windows too small to judge. Compared with scipy on the raw data where a statistic has an
exact counterpart."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import ks_2samp, wasserstein_distance

from shipway.monitoring.drift import column_drift
from shipway.monitoring.sketches import CATEGORICAL, NUMERIC, Profile, profile_column

rng = np.random.default_rng(7)


def numeric(values: np.ndarray) -> object:
    return profile_column(pa.array(values), NUMERIC)


def categorical(values: list[str]) -> object:
    return profile_column(pa.array(values), CATEGORICAL)


def test_small_numeric_windows_use_ks_and_large_ones_normalized_wasserstein() -> None:
    ref = rng.normal(0, 1, 20_000)
    same_small, shifted_small = rng.normal(0, 1, 500), rng.normal(0.5, 1, 500)
    result = column_drift("x", numeric(ref), numeric(shifted_small))
    assert result.method == "ks" and result.drifted
    expected = ks_2samp(ref, shifted_small).pvalue
    assert result.score < 0.05 and expected < 0.05
    assert not column_drift("x", numeric(ref), numeric(same_small)).drifted

    shifted_large = rng.normal(0.3, 1, 50_000)
    result = column_drift("x", numeric(ref), numeric(shifted_large))
    assert result.method == "wasserstein" and result.drifted
    exact = wasserstein_distance(ref, shifted_large) / ref.std(ddof=1)
    assert result.score == pytest.approx(exact, abs=0.03)
    steady = column_drift("x", numeric(ref), numeric(rng.normal(0, 1, 50_000)))
    assert steady.method == "wasserstein" and not steady.drifted and steady.score < 0.05


def test_categorical_windows_use_chi_square_then_jensen_shannon() -> None:
    ref = list(rng.choice(["a", "b", "c"], 10_000, p=[0.5, 0.3, 0.2]))
    moved = list(rng.choice(["a", "b", "c"], 800, p=[0.2, 0.3, 0.5]))
    result = column_drift("plan", categorical(ref), categorical(moved))
    assert result.method == "chi2" and result.drifted and result.score < 1e-6
    large = list(rng.choice(["a", "b", "c"], 20_000, p=[0.2, 0.3, 0.5]))
    result = column_drift("plan", categorical(ref), categorical(large))
    assert result.method == "jensenshannon" and result.drifted
    p = np.array([ref.count(k) for k in "abc"]) / len(ref)
    q = np.array([large.count(k) for k in "abc"]) / len(large)
    assert result.score == pytest.approx(jensenshannon(p, q), abs=1e-9)
    unseen = column_drift("plan", categorical(ref), categorical(["z"] * 2000))
    assert unseen.drifted  # a value the reference never had


def test_overrides_psi_and_insufficient_windows() -> None:
    ref, cur = numeric(rng.normal(0, 1, 5000)), numeric(rng.normal(1, 1, 5000))
    psi = column_drift("x", ref, cur, method="psi")
    assert psi.method == "psi" and psi.drifted and psi.score > 0.2
    lenient = column_drift("x", ref, cur, method="wasserstein", threshold=5.0)
    assert not lenient.drifted and lenient.threshold == 5.0
    tiny = column_drift("x", ref, numeric(rng.normal(5, 1, 10)))
    assert tiny.status == "insufficient" and not tiny.drifted
    assert column_drift("x", None, cur).status == "no_reference"
    # a rank test asked of a categorical column falls back to its categorical twin
    cats = column_drift(
        "c", categorical(["a"] * 50 + ["b"] * 50), categorical(["b"] * 100), method="ks"
    )
    assert cats.method == "chi2"


def test_profiles_merge_exactly_and_round_trip() -> None:
    values = rng.normal(10, 2, 30_000)
    parts = [numeric(values[i::3]) for i in range(3)]
    whole = Profile(columns={"x": numeric(values)})
    merged = Profile.merge_all([Profile(rows=10_000, columns={"x": p}) for p in parts])
    column = merged.columns["x"]
    assert column.count == 30_000 and column.mean == pytest.approx(values.mean())
    assert column.std == pytest.approx(values.std(ddof=1))
    assert abs(column.sketch.get_quantile(0.5) - np.median(values)) < 0.1
    again = Profile.from_bytes(merged.to_bytes())
    assert again.columns["x"].sketch.get_quantile(0.9) == column.sketch.get_quantile(0.9)
    assert whole.columns["x"].count == again.columns["x"].count
    cats = categorical(["a", "b", None, "a"])
    assert (cats.count, cats.nulls, cats.counts) == (3, 1, {"a": 2, "b": 1})
    bounded = profile_column(pa.array([-1.0, 5.0, 200.0, None]), NUMERIC, (0, 100))
    assert (bounded.out_of_range, bounded.nulls) == (2, 1)
