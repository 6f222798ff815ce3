"""Profiles of tabular files (CSV, Parquet, JSON lines) and diffs between two profiles.

A profile is a plain dict that ``json.dumps`` accepts as is (no NaN or infinity: those are
``None``)::

    >>> profile = profile_file(Path("users.parquet"), "parquet")
    >>> profile["rows"], [c["name"] for c in profile["columns"]]
    (1000, ['age', 'plan'])
    >>> diff = diff_profiles(old_profile, profile)
    >>> print(sheets.diff_to_markdown(diff))   # shipway.datasets.sheets

Every column has ``name``, ``type`` (int, float, bool, string, category, datetime, other),
``arrow_type``, ``nullable`` (the schema flag), ``null_count`` and ``null_share``. Then by
type: numbers get min, max, mean, std, quantiles and a 20-bin histogram over [min, max]
(NaN and infinities in float columns are counted as ``nan_count`` and ``inf_count`` and left
out of the statistics); strings and categories get ``distinct_count`` and the 20 most
frequent values (strings also their shortest and longest length); booleans their true and
false counts; dates and timestamps their min and max as ISO strings.

Columns are profiled in parallel, and a Parquet file is read one column at a time so
memory holds a few columns, never the whole table.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from shipway.errors import InvalidInput

Profile = dict[str, Any]

TABULAR_SUFFIXES = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
HISTOGRAM_BINS = 20
TOP_VALUES = 20
# Empty histogram bins get this share, so the PSI's logarithm stays finite.
PSI_EPSILON = 1e-4
# Rule of thumb: below 0.1 the distribution is stable, from 0.25 it has shifted a lot.
PSI_LEVELS = ((0.1, "stable"), (0.25, "moderate"))
NUMERIC = ("int", "float")
KINDS = ("int", "float", "bool", "string", "category", "datetime", "other")
# The statistics diff_profiles compares, in the order it lists them.
_COUNTS = ("null_count", "null_share", "nan_count", "inf_count", "distinct_count")
_VALUES = ("min", "max", "mean", "std", "min_length", "max_length", "true_share")
COMPARED_STATS = _COUNTS + _VALUES


def table_format(path: str) -> str | None:
    """The tabular format of ``path`` by its suffix (any case), or None if not tabular."""
    return TABULAR_SUFFIXES.get(os.path.splitext(path)[1].lower())


# --- reading -------------------------------------------------------------------------------

Column = tuple[pa.Field, Callable[[], Any]]  # the field, and how to load its data


def _read_parquet(path: Path) -> tuple[int, list[Column]]:
    with pq.ParquetFile(path) as pf:
        metadata, schema = pf.metadata, pf.schema_arrow

    def loader(name: str) -> Callable[[], Any]:
        def load() -> Any:
            # One file handle per column: reads may run in parallel threads.
            with pq.ParquetFile(path, metadata=metadata) as column_file:
                return column_file.read(columns=[name]).column(0)

        return load

    return int(metadata.num_rows), [(field, loader(field.name)) for field in schema]


def _in_memory(table: Any) -> tuple[int, list[Column]]:
    def loader(index: int) -> Callable[[], Any]:
        return lambda: table.column(index)

    return int(table.num_rows), [(field, loader(i)) for i, field in enumerate(table.schema)]


def _read_csv(path: Path) -> tuple[int, list[Column]]:
    return _in_memory(pa_csv.read_csv(path))


def _read_jsonl(path: Path) -> tuple[int, list[Column]]:
    return _in_memory(pa_json.read_json(path))


_READERS: dict[str, Callable[[Path], tuple[int, list[Column]]]] = {
    "csv": _read_csv,
    "parquet": _read_parquet,
    "jsonl": _read_jsonl,
}


def profile_file(path: Path, fmt: str) -> Profile:
    """Profile the table in ``path`` (``fmt``: csv, parquet or jsonl; see `table_format`).

    Raises `InvalidInput` naming the file and the parser's reason when it does not parse.
    """
    reader = _READERS.get(fmt)
    if reader is None:
        raise InvalidInput(
            f"cannot profile {path}: unknown tabular format {fmt!r} "
            f"(known: {', '.join(sorted(_READERS))})"
        )
    try:
        rows, columns = reader(path)
        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            profiled = list(pool.map(lambda col: _profile_column(col[0], col[1](), rows), columns))
    except (pa.ArrowException, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno is not None:
            raise  # the system's error (no such file, no permission), not the data's
        # Arrow reports corrupt Parquet data as an OSError without an errno.
        reason = str(exc).strip() or type(exc).__name__
        raise InvalidInput(
            f"cannot profile {path}: the {fmt} parser says: {reason}",
            details={"path": str(path), "format": fmt, "reason": reason},
        ) from exc
    return {"format": fmt, "rows": rows, "columns": profiled}


# --- one column ----------------------------------------------------------------------------


def _logical_type(data_type: Any) -> str:
    t = pa.types
    checks = (
        (t.is_boolean, "bool"),
        (t.is_integer, "int"),
        (lambda x: t.is_floating(x) or t.is_decimal(x), "float"),
        (lambda x: t.is_string(x) or t.is_large_string(x) or t.is_string_view(x), "string"),
        (t.is_dictionary, "category"),
        (lambda x: t.is_timestamp(x) or t.is_date(x), "datetime"),
    )
    return next((kind for check, kind in checks if check(data_type)), "other")


def _normalised(kind: str, data: Any) -> Any:
    """The column in a type every kernel used below accepts."""
    if (
        kind == "float"
        and not pa.types.is_float64(data.type)
        and not pa.types.is_float32(data.type)
    ):
        return data.cast(pa.float64())  # decimals and half floats
    if pa.types.is_string_view(data.type):
        return data.cast(pa.large_string())
    return data


def _profile_column(field: Any, data: Any, rows: int) -> Profile:
    kind = _logical_type(field.type)
    out: Profile = {
        "name": field.name,
        "type": kind,
        "arrow_type": str(field.type),
        "nullable": bool(field.nullable),
        "null_count": int(data.null_count),
        "null_share": data.null_count / rows if rows else None,
    }
    stats = _STATS.get(kind)
    if stats is not None:
        try:
            out.update(stats(_normalised(kind, data)))
        except pa.ArrowNotImplementedError:  # e.g. a dictionary of structs: no statistics
            out["type"] = "other"
    return out


def _number(value: Any) -> int | float | None:
    """A JSON-safe number: NaN and infinities become None."""
    if value is None:
        return None
    if isinstance(value, int):
        return value
    value = float(value)
    return value if math.isfinite(value) else None


def _count(value: Any) -> int:
    return int(value.as_py() or 0)


def _numeric_stats(data: Any) -> Profile:
    out: Profile = {}
    values = data
    if pa.types.is_floating(data.type):
        out["nan_count"] = _count(pc.sum(pc.is_nan(data)))
        out["inf_count"] = _count(pc.sum(pc.is_inf(data)))
        if out["nan_count"] or out["inf_count"]:
            values = pc.filter(data, pc.is_finite(data))
    if values.null_count:
        values = values.drop_null()
    extremes = pc.min_max(values)
    lo, hi = _number(extremes["min"].as_py()), _number(extremes["max"].as_py())
    out.update(min=lo, max=hi)
    if len(values) == 0 or lo is None or hi is None:
        return {**out, "mean": None, "std": None, "quantiles": None, "histogram": None}
    quantiles = pc.quantile(values, q=list(QUANTILES)).to_pylist()
    out.update(
        mean=_number(pc.mean(values).as_py()),
        std=_number(pc.stddev(values, ddof=1).as_py()),
        quantiles={str(q): _number(v) for q, v in zip(QUANTILES, quantiles, strict=True)},
        histogram=_histogram(values.to_numpy(), lo, hi),
    )
    return out


def _histogram(values: Any, lo: float, hi: float) -> Profile | None:
    with np.errstate(all="ignore"):
        try:
            counts, edges = np.histogram(values, bins=HISTOGRAM_BINS, range=(lo, hi))
        except ValueError:  # a range too wide for float64 bin widths
            return None
    return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}


def _top_values(data: Any) -> Profile:
    counts = pc.value_counts(data)
    values = counts.field("values")
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    table = pa.table({"values": values, "counts": counts.field("counts")})
    if values.null_count:
        table = table.filter(pc.is_valid(table["values"]))
    top = table.take(
        pc.select_k_unstable(
            table,
            k=min(TOP_VALUES, table.num_rows),
            sort_keys=[("counts", "descending"), ("values", "ascending")],
        )
    )
    return {
        "distinct_count": int(table.num_rows),
        "top": [
            {"value": _json_value(v), "count": int(c)}
            for v, c in zip(top["values"].to_pylist(), top["counts"].to_pylist(), strict=True)
        ],
    }


def _json_value(value: Any) -> Any:
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _string_stats(data: Any) -> Profile:
    lengths = pc.min_max(pc.utf8_length(data))
    return {
        **_top_values(data),
        "min_length": lengths["min"].as_py(),
        "max_length": lengths["max"].as_py(),
    }


def _bool_stats(data: Any) -> Profile:
    valid = len(data) - data.null_count
    true = _count(pc.sum(data))
    return {
        "true_count": true,
        "false_count": valid - true,
        "true_share": true / valid if valid else None,
    }


def _datetime_stats(data: Any) -> Profile:
    extremes = pc.min_max(data)
    return {
        "min": _json_value(extremes["min"].as_py()),
        "max": _json_value(extremes["max"].as_py()),
    }


_STATS: dict[str, Callable[[Any], Profile]] = {
    "int": _numeric_stats,
    "float": _numeric_stats,
    "string": _string_stats,
    "category": _top_values,
    "bool": _bool_stats,
    "datetime": _datetime_stats,
}


# --- diff ----------------------------------------------------------------------------------


def diff_profiles(old: Profile, new: Profile) -> Profile:
    """What changed from ``old`` to ``new``: schema, row count, and per column statistics.

    Columns are matched by name and listed by name. ``columns`` holds every column in both
    profiles, with the statistics both versions have that changed and, for numbers, the
    population stability index (PSI) of the new histogram against the old one::

        {"rows": {"old": 1000, "new": 1200, "change": 200, "change_pct": 20.0},
         "schema": {"added": [...], "removed": [...], "type_changed": [...],
                    "nullability_changed": [...]},
         "columns": [{"name": "age", "type": "int", "psi": 0.31, "psi_level": "major",
                      "psi_method": "same_bins", "changes": {"mean": {"old": 41.2,
                      "new": 45.0, "change": 3.8, "change_pct": 9.2}}}, ...]}
    """
    old_cols = {c["name"]: c for c in old["columns"]}
    new_cols = {c["name"]: c for c in new["columns"]}
    common = sorted(old_cols.keys() & new_cols.keys())
    out: Profile = {
        "format": _change(old.get("format"), new.get("format")),
        "rows": _change(old["rows"], new["rows"]),
        "schema": {
            "added": [_brief(new_cols[n]) for n in sorted(new_cols.keys() - old_cols.keys())],
            "removed": [_brief(old_cols[n]) for n in sorted(old_cols.keys() - new_cols.keys())],
            "type_changed": [
                {"name": n, "old": _brief(old_cols[n]), "new": _brief(new_cols[n])}
                for n in common
                if _brief(old_cols[n]) != _brief(new_cols[n])
            ],
            "nullability_changed": [
                change for n in common if (change := _nullability(old_cols[n], new_cols[n]))
            ],
        },
        "columns": [_diff_column(old_cols[n], new_cols[n]) for n in common],
    }
    return out


def _brief(column: Profile) -> Profile:
    return {"name": column["name"], "type": column["type"], "arrow_type": column["arrow_type"]}


def _nullability(old: Profile, new: Profile) -> Profile | None:
    """A change of the schema flag, or a column gaining or losing all its nulls."""
    if old["nullable"] == new["nullable"] and (old["null_count"] > 0) == (new["null_count"] > 0):
        return None
    return {
        "name": old["name"],
        "old": {"nullable": old["nullable"], "null_count": old["null_count"]},
        "new": {"nullable": new["nullable"], "null_count": new["null_count"]},
    }


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _change(old: Any, new: Any) -> Profile:
    out: Profile = {"old": old, "new": new}
    if _is_number(old) and _is_number(new):
        out["change"] = new - old
        out["change_pct"] = (new - old) / abs(old) * 100 if old else None
    return out


def _differs(old: Any, new: Any) -> bool:
    if isinstance(old, float) and isinstance(new, float):
        # Summing the same values in another order is not a change of the statistic.
        return not math.isclose(old, new, rel_tol=1e-9, abs_tol=1e-12)
    return bool(old != new)


def _diff_column(old: Profile, new: Profile) -> Profile:
    changes = {
        key: _change(old[key], new[key])
        for key in COMPARED_STATS
        if key in old and key in new and _differs(old[key], new[key])
    }
    out: Profile = {"name": old["name"], "type": new["type"], "changes": changes}
    if old["type"] in NUMERIC and new["type"] in NUMERIC:
        psi, method = population_stability_index(old.get("histogram"), new.get("histogram"))
        out.update(psi=psi, psi_method=method, psi_level=psi_level(psi))
    return out


def psi_level(psi: float | None) -> str | None:
    """``stable`` (< 0.1), ``moderate`` (< 0.25) or ``major``; None without a PSI."""
    if psi is None:
        return None
    return next((name for bound, name in PSI_LEVELS if psi < bound), "major")


def population_stability_index(
    old: Profile | None, new: Profile | None
) -> tuple[float | None, str | None]:
    """PSI of the ``new`` histogram against the ``old`` one, and how the bins were matched.

    ``same_bins`` when the edges are equal; otherwise ``rebinned``: the new counts are spread
    over the old bins assuming values are uniform within a bin, and whatever falls outside
    the old range goes to the first or last old bin.
    """
    if not old or not new or not sum(old["counts"]) or not sum(new["counts"]):
        return None, None
    expected = np.asarray(old["counts"], dtype=float)
    if old["edges"] == new["edges"]:
        actual, method = np.asarray(new["counts"], dtype=float), "same_bins"
    else:
        actual, method = _rebin(new["edges"], new["counts"], old["edges"]), "rebinned"
    p = np.maximum(expected / expected.sum(), PSI_EPSILON)
    q = np.maximum(actual / actual.sum(), PSI_EPSILON)
    return float(np.sum((q - p) * np.log(q / p))), method


def _rebin(edges: list[float], counts: list[int], onto: list[float]) -> Any:
    lo, hi = np.asarray(edges[:-1]), np.asarray(edges[1:])
    weights = np.asarray(counts, dtype=float)
    target_lo = np.asarray(onto[:-1], dtype=float)
    target_hi = np.asarray(onto[1:], dtype=float)
    target_lo[0], target_hi[-1] = -np.inf, np.inf  # the outer bins take the overflow
    out = np.zeros(len(target_lo))
    width = hi - lo
    point = width <= 0
    if point.any():  # zero-width bins: all their mass sits at one value
        index = np.clip(np.searchsorted(target_hi, lo[point]), 0, len(out) - 1)
        np.add.at(out, index, weights[point])
    spread = ~point
    overlap = np.clip(
        np.minimum(hi[spread, None], target_hi[None, :])
        - np.maximum(lo[spread, None], target_lo[None, :]),
        0,
        None,
    )
    out += (weights[spread, None] * overlap / width[spread, None]).sum(axis=0)
    return out


# The data sheets (Markdown) live in shipway.datasets.sheets; re-exported for callers.
