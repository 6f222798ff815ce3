"""Lossless conversion of one input column to the dtype the model was trained with.

Each converter takes a pandas Series and returns it with the target dtype, or raises
:class:`SchemaError` naming the column, the expected type and the first bad value.
Only the slow path uses these: input whose dtypes already match skips them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shipway.errors import SchemaError
from shipway.models.optional import require
from shipway.models.signature import ColumnSpec

_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


def target_dtype(column: ColumnSpec) -> Any:
    """The pandas dtype to convert ``column`` to: the recorded one, else the type's default."""
    pd = require("pandas", "sklearn")
    if column.type == "category":
        return pd.CategoricalDtype(pd.Index(list(column.categories or ())), column.ordered)
    if column.dtype is not None:
        try:
            return pd.api.types.pandas_dtype(column.dtype)
        except TypeError:
            pass  # a dtype this pandas does not know: fall back to the default
    if column.type == "string":
        return pd.Series(["x"]).dtype  # object before pandas 3, str from pandas 3
    defaults = {"int": "int64", "float": "float64", "bool": "bool", "datetime": "datetime64[ns]"}
    return pd.api.types.pandas_dtype(defaults[column.type])


def convert_column(series: Any, column: ColumnSpec, target: Any) -> Any:
    """``series`` as ``target`` dtype, checked against ``column``; raises ``SchemaError``."""
    nulls = series.isna()
    has_nulls = bool(nulls.any())
    if has_nulls and not column.nullable:
        row = series.index[nulls.to_numpy().argmax()]
        raise SchemaError(
            f"column {column.name!r} ({column.type}) has a null value in row {row!r} but is not "
            "nullable; fill the value, or save the model with a signature marking it nullable",
            details={"column": column.name, "expected": column.type, "row": _plain(row)},
        )
    if series.dtype == target:
        return series
    return _CONVERTERS[column.type](series, column, target, nulls)


def _plain(value: Any) -> Any:
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def bad_value(series: Any, column: ColumnSpec, bad: Any, hint: str = "") -> SchemaError:
    """The error for the first position where ``bad`` (a boolean mask) is true."""
    np = require("numpy", "sklearn")
    position = int(np.asarray(bad).argmax())
    value = series.iloc[position]
    row = series.index[position]
    expected = column.type
    if column.type == "category":
        allowed = ", ".join(repr(c) for c in column.categories or ())
        return SchemaError(
            f"column {column.name!r} has unknown category {_plain(value)!r} in row {row!r}; "
            f"allowed: {allowed}",
            details={
                "column": column.name,
                "expected": expected,
                "value": _plain(value),
                "allowed": list(column.categories or ()),
            },
        )
    return SchemaError(
        f"column {column.name!r} expects {expected} values, got {_plain(value)!r} "
        f"({type(_plain(value)).__name__}) in row {row!r}{hint}",
        details={"column": column.name, "expected": expected, "value": repr(_plain(value))},
    )


def _numeric(series: Any, column: ColumnSpec, nulls: Any) -> Any:
    """Numbers from a bool, numeric or text column; anything else is a ``SchemaError``."""
    pd = require("pandas", "sklearn")
    api = pd.api.types
    dtype = series.dtype
    if api.is_bool_dtype(dtype) or api.is_integer_dtype(dtype) or api.is_float_dtype(dtype):
        return series
    if api.is_object_dtype(dtype) or api.is_string_dtype(dtype):
        numbers = pd.to_numeric(series, errors="coerce")
        bad = numbers.isna() & ~nulls
        if bad.any():
            raise bad_value(series, column, bad)
        return numbers
    raise bad_value(series, column, ~nulls)


def _to_int(series: Any, column: ColumnSpec, target: Any, nulls: Any) -> Any:
    np = require("numpy", "sklearn")
    numbers = _numeric(series, column, nulls)
    values = numbers.to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(invalid="ignore"):
        bad = ~nulls.to_numpy() & ((np.floor(values) != values) | ~np.isfinite(values))
    if getattr(target, "kind", "") in "iu":
        info = np.iinfo(target)
        with np.errstate(invalid="ignore"):
            bad |= ~nulls.to_numpy() & ((values < info.min) | (values > info.max))
    if bad.any():
        raise bad_value(series, column, bad, " (a whole number is needed)")
    if bool(nulls.any()) and getattr(target, "kind", "") in "iu":
        return numbers.astype("Int64")  # numpy ints cannot hold nulls
    return numbers.astype(target)


def _to_float(series: Any, column: ColumnSpec, target: Any, nulls: Any) -> Any:
    return _numeric(series, column, nulls).astype(target)


def _to_bool(series: Any, column: ColumnSpec, target: Any, nulls: Any) -> Any:
    pd = require("pandas", "sklearn")
    api = pd.api.types
    if api.is_bool_dtype(series.dtype):
        out = series
    elif api.is_integer_dtype(series.dtype) or api.is_float_dtype(series.dtype):
        bad = ~nulls & ~series.isin([0, 1])
        if bad.any():
            raise bad_value(series, column, bad, " (only 0 and 1 convert to bool)")
        out = series.map({0: False, 1: True}, na_action="ignore")
    else:
        out = series.map(_parse_bool, na_action="ignore")
        bad = ~nulls & out.isna()
        if bad.any():
            raise bad_value(series, column, bad, " (use true or false)")
    if bool(nulls.any()):
        return out.astype("boolean")
    return out.astype(target)


def _parse_bool(value: Any) -> bool | None:
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    return None


def _to_string(series: Any, column: ColumnSpec, target: Any, nulls: Any) -> Any:
    pd = require("pandas", "sklearn")
    values = series.astype(object) if isinstance(series.dtype, pd.CategoricalDtype) else series
    if pd.api.types.infer_dtype(values, skipna=True) not in {"string", "empty"}:
        is_text = values.map(lambda v: isinstance(v, str), na_action="ignore")
        raise bad_value(series, column, ~nulls & ~is_text.fillna(True).astype(bool))
    return values.astype(target)


def _to_category(series: Any, column: ColumnSpec, target: Any, nulls: Any) -> Any:
    pd = require("pandas", "sklearn")
    values = series.astype(object) if isinstance(series.dtype, pd.CategoricalDtype) else series
    bad = ~nulls & ~values.isin(list(column.categories or ()))
    if bad.any():
        raise bad_value(series, column, bad)
    return pd.Series(pd.Categorical(values, dtype=target), index=series.index, name=series.name)


def _to_datetime(series: Any, column: ColumnSpec, target: Any, nulls: Any) -> Any:
    pd = require("pandas", "sklearn")
    api = pd.api.types
    target_tz = getattr(target, "tz", None)
    if api.is_datetime64_any_dtype(series.dtype):
        parsed = series
    elif api.is_object_dtype(series.dtype) or api.is_string_dtype(series.dtype):
        try:  # times with offsets become UTC when the model takes zoned times
            parsed = pd.to_datetime(
                series, errors="coerce", format="ISO8601", utc=target_tz is not None
            )
        except (TypeError, ValueError) as exc:
            raise bad_value(series, column, ~nulls, f" ({exc})") from exc
        bad = ~nulls & parsed.isna()
        if bad.any():
            raise bad_value(series, column, bad, " (use an ISO 8601 date-time)")
    else:
        raise bad_value(series, column, ~nulls)
    parsed_tz = getattr(parsed.dtype, "tz", None)
    if target_tz is not None:
        parsed = (
            parsed.dt.tz_localize(target_tz)
            if parsed_tz is None
            else parsed.dt.tz_convert(target_tz)
        )
    elif parsed_tz is not None:
        raise bad_value(series, column, ~nulls, " (the model takes times without a time zone)")
    return parsed.astype(target)


_Converter = Callable[[Any, ColumnSpec, Any, Any], Any]
_CONVERTERS: dict[str, _Converter] = {
    "int": _to_int,
    "float": _to_float,
    "bool": _to_bool,
    "string": _to_string,
    "category": _to_category,
    "datetime": _to_datetime,
}
