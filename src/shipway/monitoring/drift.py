"""Drift of one column between a reference profile and a production window, computed from
the sketches alone (no raw rows).

The test is chosen as Evidently does, by the column's kind and the window's size:

=================  ==========================  ===============================
column             window of <= 1000 rows      larger windows
=================  ==========================  ===============================
numeric            Kolmogorov-Smirnov, p<0.05  Wasserstein distance / reference
                                               std (normalized), > 0.1
categorical        chi-square, p < 0.05        Jensen-Shannon distance, > 0.1
=================  ==========================  ===============================

PSI (> 0.1) is available for both kinds. Each choice and threshold can be overridden per
feature in the contract (``monitoring.drift.features.<name>: {method, threshold}``) or for
every feature (``monitoring.drift.method`` / ``threshold``). A window with fewer than
``min_rows`` rows (default 30) is *insufficient*, never drift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from shipway.contracts import rules
from shipway.monitoring.sketches import CATEGORICAL, ColumnProfile

SMALL_SAMPLE = 1000
MIN_ROWS = rules.MIN_ROWS  # one figure for "too few rows to judge", shared with the rules
DEFAULT_THRESHOLD = {
    "ks": 0.05,
    "chi2": 0.05,
    "wasserstein": 0.1,
    "jensenshannon": 0.1,
    "psi": 0.1,
}
P_VALUE_METHODS = ("ks", "chi2")
EPS = 1e-4
GRID = np.linspace(0.0005, 0.9995, 1000)


@dataclass(frozen=True)
class ColumnDrift:
    column: str
    method: str
    score: float  # the p-value for ks and chi2, the distance otherwise
    threshold: float
    drifted: bool
    status: str  # ok | drift | insufficient | no_reference
    rows: int

    def to_dict(self) -> dict[str, Any]:
        score = None if math.isnan(self.score) else round(self.score, 6)
        return {
            "column": self.column,
            "method": self.method,
            "score": score,
            "threshold": self.threshold,
            "drifted": self.drifted,
            "status": self.status,
            "rows": self.rows,
        }


def choose(kind: str, rows: int) -> str:
    if kind == CATEGORICAL:
        return "chi2" if rows <= SMALL_SAMPLE else "jensenshannon"
    return "ks" if rows <= SMALL_SAMPLE else "wasserstein"


def column_drift(
    name: str,
    reference: ColumnProfile | None,
    current: ColumnProfile,
    *,
    method: str = "auto",
    threshold: float | None = None,
    min_rows: int = MIN_ROWS,
) -> ColumnDrift:
    rows = current.count
    if reference is None or reference.count == 0:
        return ColumnDrift(name, method, math.nan, threshold or 0.0, False, "no_reference", rows)
    kind = reference.kind
    chosen = choose(kind, rows) if method == "auto" else method
    if kind == CATEGORICAL:  # rank-based tests need an order categories do not have
        chosen = {"ks": "chi2", "wasserstein": "jensenshannon"}.get(chosen, chosen)
    else:  # and the count test its numeric twin
        chosen = {"chi2": "ks"}.get(chosen, chosen)
    limit = DEFAULT_THRESHOLD[chosen] if threshold is None else threshold
    if rows < min_rows:
        return ColumnDrift(name, chosen, math.nan, limit, False, "insufficient", rows)
    if kind == CATEGORICAL or current.kind == CATEGORICAL:
        score = _categorical(chosen, reference, current)
    else:
        score = _numeric(chosen, reference, current)
    drifted = score < limit if chosen in P_VALUE_METHODS else score > limit
    return ColumnDrift(name, chosen, score, limit, drifted, "drift" if drifted else "ok", rows)


# numeric: from two KLL sketches ---------------------------------------------------------


def _numeric(method: str, ref: ColumnProfile, cur: ColumnProfile) -> float:
    if method == "ks":
        points = np.unique(
            np.concatenate(
                [ref.sketch.get_quantiles(GRID[::5]), cur.sketch.get_quantiles(GRID[::5])]
            )
        )
        d = float(np.max(np.abs(_cdf(ref, points) - _cdf(cur, points))))
        from scipy.stats import kstwo

        n, m = ref.count, cur.count
        effective = round(n * m / (n + m))
        return float(kstwo.sf(d, max(effective, 1)))
    if method == "wasserstein":
        q_ref = np.asarray(ref.sketch.get_quantiles(GRID))
        q_cur = np.asarray(cur.sketch.get_quantiles(GRID))
        distance = float(np.mean(np.abs(q_ref - q_cur)))
        scale = ref.std or abs(ref.mean) or 1.0
        return distance / scale
    edges = np.unique(
        np.asarray(ref.sketch.get_quantiles(np.linspace(0.1, 0.9, 9 if method == "psi" else 19)))
    )
    p, q = _binned(ref, edges), _binned(cur, edges)
    return _psi(p, q) if method == "psi" else _js(p, q)


def _cdf(profile: ColumnProfile, points: Any) -> Any:
    return np.asarray(profile.sketch.get_cdf(list(points)))[:-1]


def _binned(profile: ColumnProfile, edges: Any) -> Any:
    cdf = np.concatenate([[0.0], _cdf(profile, edges), [1.0]])
    return np.diff(cdf)


# categorical: from exact counts ---------------------------------------------------------


def _categorical(method: str, ref: ColumnProfile, cur: ColumnProfile) -> float:
    keys = sorted(set(ref.counts) | set(cur.counts))
    r = np.array([ref.counts.get(k, 0) for k in keys], dtype=float)
    c = np.array([cur.counts.get(k, 0) for k in keys], dtype=float)
    if method == "chi2":
        from scipy.stats import chisquare

        expected = (r + 0.5) / (r + 0.5).sum() * c.sum()
        if len(keys) < 2:
            return 1.0
        return float(chisquare(c, expected).pvalue)
    p, q = r / r.sum(), c / c.sum()
    return _psi(p, q) if method == "psi" else _js(p, q)


def _psi(p: Any, q: Any) -> float:
    p, q = np.clip(p, EPS, None), np.clip(q, EPS, None)
    return float(np.sum((q - p) * np.log(q / p)))


def _js(p: Any, q: Any) -> float:
    from scipy.spatial.distance import jensenshannon

    return float(jensenshannon(np.clip(p, 0, None), np.clip(q, 0, None)))
