"""How an operation's arguments and result travel as JSON, derived from its type hints, so
the API and the remote client agree by construction.

Results: a record is its ``to_dict()``; a ``Page`` or a list declared with ``key`` is
``{key: [...], "next_cursor": ...}``; a ``(record, x, …)`` tuple declared with ``extras`` is
the record's fields plus the extras; a scalar declared with ``key`` is ``{key: value}``;
``None`` is ``{}``.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Union

from shipway.operations.declare import Operation
from shipway.records import Page, Record, float_from_json

_PRIMITIVES = (str, int, float, bool, type(None))


def strip(hint: Any) -> Any:
    """The type under ``Annotated[...]``."""
    while typing.get_origin(hint) is Annotated:
        hint = typing.get_args(hint)[0]
    return hint


def optional_of(hint: Any) -> Any | None:
    """``X`` for ``X | None``, else None."""
    hint = strip(hint)
    if typing.get_origin(hint) in (Union, types.UnionType):
        arms = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(arms) == 1 and len(typing.get_args(hint)) == 2:
            return arms[0]
    return None


def encode(value: Any) -> Any:
    """A value as JSON data (records by their fields, non-finite floats as strings, values
    JSON cannot hold — numpy scalars, paths — as their ``str``)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, _PRIMITIVES):
        return value
    if isinstance(value, Record):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, bytes):
        return [encode(v) for v in value]
    return str(value)


def decode(data: Any, hint: Any) -> Any:
    """JSON data back into the type ``hint`` names."""
    hint = strip(hint)
    inner = optional_of(hint)
    if inner is not None:
        return None if data is None else decode(data, inner)
    origin = typing.get_origin(hint) or hint
    if isinstance(origin, type) and issubclass(origin, Record):
        return origin.from_dict(data)
    if origin is float:
        return float_from_json(data)
    if origin in (list, Sequence, tuple) and typing.get_args(hint):
        item = typing.get_args(hint)[0]
        return [decode(v, item) for v in data]
    return data


def encode_result(operation: Operation, value: Any) -> Any:
    route = operation.route
    if route.extras:
        record, *rest = value
        extras = zip(route.extras, (encode(v) for v in rest), strict=True)
        return {**record.to_dict(), **dict(extras)}
    if isinstance(value, Page):
        items = [encode(v) for v in value]
        return {route.key or "items": items, "next_cursor": value.next_cursor}
    if route.key and isinstance(value, list):
        return {route.key: [encode(v) for v in value], "next_cursor": None}
    if route.key:
        return {route.key: encode(value)}
    if value is None:
        return {}
    return encode(value)


def decode_result(operation: Operation, data: Any) -> Any:
    route, hint = operation.route, strip(operation.returns)
    if route.extras:
        record_type, *extra_types = typing.get_args(hint)
        pairs = zip(route.extras, extra_types, strict=True)
        decoded = [decode(data.pop(name, None), t) for name, t in pairs]
        return (decode(data, record_type), *decoded)
    origin = typing.get_origin(hint)
    if origin is Page:
        (item,) = typing.get_args(hint)
        return Page([decode(v, item) for v in data[route.key or "items"]], data["next_cursor"])
    if route.key:
        return decode(data[route.key], hint)
    if hint is type(None) or hint is None:
        return None
    return decode(data, hint)
