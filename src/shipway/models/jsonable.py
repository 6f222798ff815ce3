"""Plain Python values (for model.yaml and JSON) from numpy and pandas scalars."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any


def to_plain(value: Any) -> Any:
    """``value`` as str, int, float, bool, None, or a list of those; NaN and NaT become None.

    Example::

        >>> to_plain(float("nan")) is None
        True
    """
    # Exact built-in types out (numpy's str_ and float64 subclass str and float; YAML's
    # safe dumper refuses subclasses).
    if value is None or type(value) is bool:
        return value
    if _is_missing(value):
        return None
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return None if math.isnan(value) else float(value)
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item) and getattr(value, "ndim", None) == 0:
        return to_plain(item())
    tolist = getattr(value, "tolist", None)  # numpy arrays
    if callable(tolist):
        return to_plain(tolist())
    isoformat = getattr(value, "isoformat", None)  # pandas Timestamp
    if callable(isoformat):
        return str(isoformat())
    return str(value)


def _is_missing(value: Any) -> bool:
    # pd.NA and pd.NaT, without importing pandas
    return type(value).__name__ in {"NAType", "NaTType"}
