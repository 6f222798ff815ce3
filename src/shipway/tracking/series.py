"""Metric series for charts: read whole series as arrays and thin them, on the server, to
about as many points as the chart has pixels.

A chart of 100,000 points per series draws no better than one of a thousand well-chosen
ones, and ships a hundred times more bytes. The thinning keeps, per x bucket, the first,
lowest, highest and last point (the M4 aggregation of Jugel et al., 2014): the drawn line
then has the same extremes and the same envelope as the full series, so spikes and dips
survive, which a plain every-n-th sample loses.

x is the step, the wall time (ms since the epoch) or the time since the run started
(seconds). Points whose value is not finite (NaN, ±inf) cannot be drawn; they are left out
and counted.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from shipway.errors import InvalidInput
from shipway.records import MetricSeries
from shipway.tracking.validation import X_AXES

MAX_POINTS = 10_000  # per series, after thinning
MIN_POINTS = 8


def check_axis(x: str, points: int) -> None:
    if x not in X_AXES:
        raise InvalidInput(f"x must be one of {', '.join(X_AXES)}, got {x!r}")
    if not isinstance(points, int) or not MIN_POINTS <= points <= MAX_POINTS:
        raise InvalidInput(
            f"points must be an integer from {MIN_POINTS} to {MAX_POINTS} (about the chart's "
            f"width in pixels), got {points!r}"
        )


def build(
    run_id: str,
    key: str,
    chunks: Iterable[tuple[bytes, bytes, bytes]],
    *,
    x: str,
    start_ms: int,
    points: int,
    x_min: float | None = None,
    x_max: float | None = None,
) -> MetricSeries:
    """One series from its stored chunks (packed little-endian float64 values, int64 steps,
    int64 ms timestamps), on the x axis asked for, within [x_min, x_max] when given, thinned
    to at most ``points`` points."""
    parts = list(chunks)
    values = _concat(parts, 0, "<f8")
    xs = _concat(parts, 1 if x == "step" else 2, "<i8").astype(np.float64)
    if x == "relative":
        xs = (xs - start_ms) / 1000.0
    total = len(values)
    finite = np.isfinite(values)
    nonfinite = int(total - np.count_nonzero(finite))
    if nonfinite:
        values, xs = values[finite], xs[finite]
    if x_min is not None or x_max is not None:
        inside = np.ones(len(xs), dtype=bool)
        if x_min is not None:
            inside &= xs >= x_min
        if x_max is not None:
            inside &= xs <= x_max
        values, xs = values[inside], xs[inside]
    if len(xs) > 1 and np.any(xs[1:] < xs[:-1]):  # logged out of order: draw it in x order
        order = np.argsort(xs, kind="stable")
        values, xs = values[order], xs[order]
    kept = len(values)
    if kept > points:
        index = m4(xs, values, max(1, points // 4))
        values, xs = values[index], xs[index]
    return MetricSeries(
        run_id=run_id,
        key=key,
        x=xs.tolist(),
        y=values.tolist(),
        total=total,
        shown=kept,
        nonfinite=nonfinite,
    )


def m4(xs: np.ndarray, ys: np.ndarray, buckets: int) -> np.ndarray:
    """The indices of the first, lowest, highest and last point of each of ``buckets``
    equal-width x buckets, in x order (``xs`` sorted ascending)."""
    lo, hi = float(xs[0]), float(xs[-1])
    if hi <= lo:
        edges = np.array([0, len(xs)])
    else:
        bounds = lo + (hi - lo) * np.arange(1, buckets) / buckets
        edges = np.concatenate(([0], np.searchsorted(xs, bounds, side="left"), [len(xs)]))
    edges = np.unique(edges)  # empty buckets collapse
    starts, stops = edges[:-1], edges[1:]
    counts = stops - starts
    lowest = _first_where(ys == np.repeat(np.minimum.reduceat(ys, starts), counts), counts)
    highest = _first_where(ys == np.repeat(np.maximum.reduceat(ys, starts), counts), counts)
    keep = np.concatenate((starts, stops - 1, lowest, highest))
    return np.unique(keep)


def _first_where(hit: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per bucket (consecutive runs of ``counts`` elements), the index of its first hit
    (every bucket has one: its minimum or maximum)."""
    index = np.flatnonzero(hit)
    bucket = np.repeat(np.arange(len(counts)), counts)[index]
    first = np.ones(len(index), dtype=bool)
    first[1:] = bucket[1:] != bucket[:-1]
    return index[first]


def _concat(parts: list[tuple[bytes, bytes, bytes]], field: int, dtype: str) -> np.ndarray:
    if not parts:
        return np.empty(0, dtype=dtype)
    return np.concatenate([np.frombuffer(p[field], dtype=dtype) for p in parts])
