"""The JSON form of a metric batch, shared by the HTTP client and the API.

Two encodings of the same shape ``{"metrics": {key: {"values", "steps", "timestamps"}}}``:

- ``"encoding": "json"`` (default): plain JSON lists; non-finite values as the strings
  ``"NaN"``, ``"Infinity"``, ``"-Infinity"``. Easy to write by hand.
- ``"encoding": "base64"``: each list is base64 of little-endian float64 (values) or int64
  (steps, timestamps). What the Python client sends: exact, and ~20x cheaper to encode.
"""

from __future__ import annotations

import base64
import binascii
from array import array
from collections.abc import Mapping
from typing import Any

from shipway.errors import InvalidInput
from shipway.records import Series, float_from_json, pack, unpack


def encode_batch(batch: Mapping[str, Series]) -> dict[str, Any]:
    return {
        "encoding": "base64",
        "metrics": {
            key: {
                "values": base64.b64encode(pack(s.values)).decode(),
                "steps": base64.b64encode(pack(s.steps)).decode(),
                "timestamps": base64.b64encode(pack(s.timestamps)).decode(),
            }
            for key, s in batch.items()
        },
    }


def decode_batch(payload: Any, default_timestamp: int) -> dict[str, Series]:
    if not isinstance(payload, dict) or not isinstance(payload.get("metrics"), dict):
        raise InvalidInput(
            'metric batch must be {"metrics": {key: {"values": [...], "steps": [...]}}}'
        )
    encoding = payload.get("encoding", "json")
    if encoding not in ("json", "base64"):
        raise InvalidInput(f"encoding {encoding!r} is not 'json' or 'base64'")
    out = {}
    for key, cols in payload["metrics"].items():
        if not isinstance(cols, dict) or "values" not in cols:
            raise InvalidInput(f"metric {key!r} needs at least a 'values' list")
        if encoding == "base64":
            out[key] = _from_base64(key, cols)
        else:
            out[key] = _from_json(key, cols, default_timestamp)
    return out


def _from_base64(key: str, cols: dict[str, Any]) -> Series:
    try:
        values = unpack("d", base64.b64decode(cols["values"], validate=True))
        steps = unpack("q", base64.b64decode(cols["steps"], validate=True))
        stamps = unpack("q", base64.b64decode(cols["timestamps"], validate=True))
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise InvalidInput(
            f"metric {key!r}: base64 encoding needs 'values', 'steps' and 'timestamps' "
            "as base64 of little-endian float64/int64 arrays"
        ) from None
    return Series(values, steps, stamps)  # type: ignore[arg-type]


def _from_json(key: str, cols: dict[str, Any], default_timestamp: int) -> Series:
    raw = cols["values"]
    if not isinstance(raw, list):
        raise InvalidInput(f"metric {key!r}: 'values' must be a list of numbers")
    n = len(raw)
    try:
        values = array("d", [float_from_json(v) for v in raw])
        steps = array("q", cols.get("steps") or range(n))
        stamps = array("q", cols.get("timestamps") or [default_timestamp] * n)
    except (TypeError, ValueError, OverflowError):
        raise InvalidInput(
            f"metric {key!r}: values must be numbers (or 'NaN', 'Infinity', '-Infinity'); "
            "steps and timestamps integers"
        ) from None
    return Series(values, steps, stamps)
