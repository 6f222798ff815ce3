"""Server-side thinning of metric series for charts (tracking/series.py)."""

from __future__ import annotations

import numpy as np

from shipway.tracking.series import build, m4


def _chunk(values: list[float], steps: list[int], stamps: list[int]) -> tuple[bytes, ...]:
    return (
        np.asarray(values, "<f8").tobytes(),
        np.asarray(steps, "<i8").tobytes(),
        np.asarray(stamps, "<i8").tobytes(),
    )


def test_m4_keeps_each_buckets_first_lowest_highest_and_last_point() -> None:
    rng = np.random.default_rng(7)
    xs = np.arange(100_000, dtype=np.float64)
    ys = rng.normal(size=xs.size)
    ys[31_337] = 50.0  # a spike a sample of every n-th point would miss
    ys[77_777] = -40.0
    index = m4(xs, ys, 250)
    assert len(index) <= 1000
    assert np.all(np.diff(index) > 0)  # in x order, no repeats
    kept = ys[index]
    assert 50.0 in kept and -40.0 in kept
    assert index[0] == 0 and index[-1] == xs.size - 1
    # every bucket's extremes survive: the thinned envelope equals the full one
    edges = np.linspace(0, xs.size, 251).astype(int)
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        inside = index[(index >= lo) & (index < hi)]
        assert ys[inside].max() == ys[lo:hi].max() and ys[inside].min() == ys[lo:hi].min()


def test_series_on_each_axis_within_a_range_without_nonfinite_points() -> None:
    values = [1.0, float("nan"), 3.0, float("inf"), 5.0, 6.0]
    chunks = [_chunk(values[:3], [0, 1, 2], [1000, 2000, 3000])]
    chunks.append(_chunk(values[3:], [3, 4, 5], [4000, 5000, 6000]))
    by_step = build("r", "loss", chunks, x="step", start_ms=0, points=100)
    assert by_step.x == [0.0, 2.0, 4.0, 5.0] and by_step.y == [1.0, 3.0, 5.0, 6.0]
    assert (by_step.total, by_step.shown, by_step.nonfinite) == (6, 4, 2)
    relative = build("r", "loss", chunks, x="relative", start_ms=500, points=100)
    assert relative.x == [0.5, 2.5, 4.5, 5.5]
    wall = build("r", "loss", chunks, x="time", start_ms=0, points=100, x_min=2500, x_max=5000)
    assert wall.x == [3000.0, 5000.0] and wall.shown == 2


def test_points_logged_out_of_order_are_drawn_in_x_order() -> None:
    chunks = [_chunk([3.0, 1.0, 2.0], [30, 10, 20], [3, 1, 2])]
    series = build("r", "acc", chunks, x="step", start_ms=0, points=100)
    assert series.x == [10.0, 20.0, 30.0] and series.y == [1.0, 2.0, 3.0]
