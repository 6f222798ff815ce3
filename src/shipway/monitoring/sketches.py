"""Mergeable profiles of a table: what monitoring keeps instead of raw rows.

A numeric column is a KLL quantile sketch (Apache DataSketches; ~0.65% rank error at
k=400) plus exact count, nulls, sum and sum of squares; a categorical column is exact
counts of its values (the most frequent ``MAX_CATEGORIES``, the rest summed under
``OTHER``). Both merge exactly as sketches do, so an hourly profile and a day's profile
are the same kind of object, and a window's profile is the merge of its buckets.

Example::

    profile = profile_table(table, {"age": "numeric", "plan": "categorical"})
    day = Profile.merge_all([hour_1, hour_2])
    blob = day.to_bytes(); Profile.from_bytes(blob)
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from shipway.errors import MissingDependency

K = 400
MAX_CATEGORIES = 1000
OTHER = "<other>"
NUMERIC = "numeric"
CATEGORICAL = "categorical"


def _kll() -> Any:
    try:
        from datasketches import kll_doubles_sketch
    except ImportError:
        raise MissingDependency(
            "monitoring needs Apache DataSketches: pip install 'shipway[monitor]'"
        ) from None
    return kll_doubles_sketch


@dataclass
class ColumnProfile:
    kind: str
    count: int = 0  # non-null values
    nulls: int = 0
    total: float = 0.0
    squares: float = 0.0
    out_of_range: int = 0
    sketch: Any = None  # kll_doubles_sketch for numeric columns
    counts: dict[str, int] = field(default_factory=dict)  # categorical columns

    @property
    def rows(self) -> int:
        return self.count + self.nulls

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else float("nan")

    @property
    def std(self) -> float:
        if self.count < 2:
            return 0.0
        variance = (self.squares - self.total**2 / self.count) / (self.count - 1)
        return float(np.sqrt(max(variance, 0.0)))

    def merge(self, other: ColumnProfile) -> None:
        self.count += other.count
        self.nulls += other.nulls
        self.total += other.total
        self.squares += other.squares
        self.out_of_range += other.out_of_range
        if other.sketch is not None:
            if self.sketch is None:
                self.sketch = _kll()(K)
            self.sketch.merge(other.sketch)
        for value, n in other.counts.items():
            self.counts[value] = self.counts.get(value, 0) + n
        if len(self.counts) > MAX_CATEGORIES:
            self.counts = _cap(self.counts)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "count": self.count,
            "nulls": self.nulls,
            "total": self.total,
            "squares": self.squares,
            "out_of_range": self.out_of_range,
        }
        if self.sketch is not None:
            out["sketch"] = base64.b64encode(self.sketch.serialize()).decode()
        if self.counts:
            out["counts"] = self.counts
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnProfile:
        sketch = None
        if data.get("sketch"):
            sketch = _kll().deserialize(base64.b64decode(data["sketch"]))
        return cls(
            kind=data["kind"],
            count=data["count"],
            nulls=data["nulls"],
            total=data.get("total", 0.0),
            squares=data.get("squares", 0.0),
            out_of_range=data.get("out_of_range", 0),
            sketch=sketch,
            counts=dict(data.get("counts") or {}),
        )


def _cap(counts: dict[str, int]) -> dict[str, int]:
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    kept = dict(ranked[: MAX_CATEGORIES - 1])
    rest = sum(n for _, n in ranked[MAX_CATEGORIES - 1 :])
    if rest:
        kept[OTHER] = kept.get(OTHER, 0) + rest
    return kept


@dataclass
class Profile:
    rows: int = 0
    columns: dict[str, ColumnProfile] = field(default_factory=dict)
    requests: int = 0  # answered requests (a request may hold many rows)
    errors: int = 0  # failed requests the server counted
    dropped: int = 0  # prediction-log rows the server dropped

    def merge(self, other: Profile) -> None:
        self.rows += other.rows
        self.requests += other.requests
        self.errors += other.errors
        self.dropped += other.dropped
        for name, column in other.columns.items():
            mine = self.columns.get(name)
            if mine is None:
                mine = self.columns[name] = ColumnProfile(column.kind)
            mine.merge(column)

    @classmethod
    def merge_all(cls, profiles: list[Profile]) -> Profile:
        out = cls()
        for p in profiles:
            out.merge(p)
        return out

    def to_bytes(self) -> bytes:
        return orjson.dumps(
            {
                "rows": self.rows,
                "requests": self.requests,
                "errors": self.errors,
                "dropped": self.dropped,
                "columns": {n: c.to_dict() for n, c in self.columns.items()},
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Profile:
        raw = orjson.loads(data)
        return cls(
            rows=raw["rows"],
            columns={n: ColumnProfile.from_dict(c) for n, c in raw["columns"].items()},
            requests=raw.get("requests", 0),
            errors=raw.get("errors", 0),
            dropped=raw.get("dropped", 0),
        )


def profile_column(
    array: Any, kind: str, bounds: tuple[float | None, float | None] = (None, None)
) -> ColumnProfile:
    """One Arrow (or NumPy) column as a profile."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if not isinstance(array, pa.Array):
        array = pa.array(array)
    column = ColumnProfile(kind)
    if kind == NUMERIC:
        try:
            values = array.cast(pa.float64()).to_numpy(zero_copy_only=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return profile_column(array.cast(pa.string()), CATEGORICAL)
        finite = values[np.isfinite(values)]
        column.nulls = int(len(values) - len(finite))
        column.count = int(len(finite))
        column.total = float(finite.sum())
        column.squares = float(np.dot(finite, finite))
        low, high = bounds
        if low is not None:
            column.out_of_range += int((finite < low).sum())
        if high is not None:
            column.out_of_range += int((finite > high).sum())
        column.sketch = _kll()(K)
        if len(finite):
            column.sketch.update(finite)
        return column
    if not pa.types.is_string(array.type) and not pa.types.is_large_string(array.type):
        if pa.types.is_dictionary(array.type):
            array = array.dictionary_decode()
        array = (
            pc.cast(array, pa.string())
            if not pa.types.is_boolean(array.type)
            else pc.if_else(array, "true", "false")
        )
    column.nulls = int(array.null_count)
    column.count = len(array) - column.nulls
    counted = pc.value_counts(array.drop_null())
    values = counted.field("values").to_pylist()
    numbers = counted.field("counts").to_pylist()
    column.counts = dict(zip((str(v) for v in values), numbers, strict=True))
    if len(column.counts) > MAX_CATEGORIES:
        column.counts = _cap(column.counts)
    return column


def profile_table(
    table: Any,
    kinds: dict[str, str],
    bounds: dict[str, tuple[float | None, float | None]] | None = None,
) -> Profile:
    """Profile the columns ``kinds`` names (missing columns are skipped)."""
    profile = Profile(rows=table.num_rows)
    names = set(table.column_names)
    for name, kind in kinds.items():
        if name in names:
            profile.columns[name] = profile_column(
                table.column(name), kind, (bounds or {}).get(name, (None, None))
            )
    return profile
