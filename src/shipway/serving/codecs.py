"""Request bodies of the three protocols decoded into :class:`Rows`, and results encoded back.

Every decoder checks the body against the model's signature and raises
:class:`~shipway.errors.InvalidInput` or :class:`~shipway.errors.SchemaError` (both 400)
naming the field and the problem; the server never answers a bad body with a 500.

``Rows`` keeps the input the way it arrived (a float matrix, or columns of Python values)
so that micro-batches merge without building a DataFrame per request, and the prediction
log can record the input without converting it back.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import orjson
import pandas as pd

from shipway.errors import InvalidInput, PayloadTooLarge, SchemaError
from shipway.models.signature import ColumnSpec, Signature, TensorSpec


class Rows:
    """Input rows for one model: ``matrix`` (n × columns, float64, signature order) for
    all-float models, ``columns`` (name → values) for tables, ``array`` for tensor models."""

    __slots__ = ("n", "matrix", "columns", "array")

    def __init__(
        self,
        n: int,
        *,
        matrix: Any = None,
        columns: dict[str, list[Any]] | None = None,
        array: Any = None,
    ) -> None:
        self.n = n
        self.matrix = matrix
        self.columns = columns
        self.array = array

    def column_lists(self, names: Sequence[str]) -> dict[str, list[Any]]:
        """The rows as Python lists per column (for the prediction log)."""
        if self.columns is not None:
            if not names:
                return {k: list(v) for k, v in self.columns.items()}
            return {n: list(self.columns.get(n, [None] * self.n)) for n in names}
        if self.matrix is not None:
            return {n: self.matrix[:, i].tolist() for i, n in enumerate(names)}
        flat = np.asarray(self.array).reshape(self.n, -1)
        return {f"x{i}": flat[:, i].tolist() for i in range(flat.shape[1])}


def merge(parts: Sequence[Rows]) -> Rows:
    """One ``Rows`` from several requests' rows (a micro-batch)."""
    if len(parts) == 1:
        return parts[0]
    n = sum(p.n for p in parts)
    if all(p.matrix is not None for p in parts):
        return Rows(n, matrix=np.vstack([p.matrix for p in parts]))
    if all(p.array is not None for p in parts):
        return Rows(n, array=np.concatenate([p.array for p in parts]))
    names: list[str] = []
    for p in parts:
        if p.columns is not None:
            names = list(p.columns)
            break
    merged: dict[str, list[Any]] = {name: [] for name in names}
    for p in parts:
        lists = p.column_lists(names)
        for name in names:
            merged[name].extend(lists[name])
    return Rows(n, columns=merged)


class Codec:
    """Decoding and encoding for one model's signature; build it once per loaded version."""

    def __init__(self, signature: Signature | None, classes: Sequence[Any] | None, max_rows: int):
        self.signature = signature
        self.classes = None if classes is None else list(classes)
        self.max_rows = max_rows
        self.tensor: TensorSpec | None = (
            signature.inputs
            if signature is not None and isinstance(signature.inputs, TensorSpec)
            else None
        )
        self.specs: tuple[ColumnSpec, ...] = () if signature is None else signature.columns
        self.names = [c.name for c in self.specs]
        self.name_set = frozenset(self.names)
        self.required = [c.name for c in self.specs if not c.nullable]
        self.all_float = bool(self.specs) and all(c.type == "float" for c in self.specs)
        self.index = pd.Index(self.names)

    # rows -> model input ------------------------------------------------------------------

    def frame(self, rows: Rows) -> Any:
        """What to hand to ``LoadedModel.predict``: a DataFrame, or an array for tensors."""
        if rows.array is not None:
            return rows.array
        if rows.matrix is not None:
            return pd.DataFrame(rows.matrix, columns=self.index, copy=False)
        return pd.DataFrame(rows.columns)

    # native: {"records": [...]} or {"columns": {...}} -------------------------------------

    def from_records(self, records: Any, field: str = "records") -> Rows:
        if not isinstance(records, list) or not records:
            raise InvalidInput(
                f"'{field}' must be a non-empty list of objects, one per row "
                f"(example: [{self._example_record()}])",
                details={"field": field},
            )
        self.check_rows(len(records))
        if self.tensor is not None:
            return self.from_array(records, field)
        if self.all_float:
            rows = self._float_matrix(records)
            if rows is not None:
                return rows
        columns: dict[str, list[Any]] = {name: [] for name in self.names}
        for i, record in enumerate(records):
            if not isinstance(record, dict):
                raise InvalidInput(
                    f"{field}[{i}] must be an object mapping column names to values, "
                    f"got {type(record).__name__}",
                    details={"field": f"{field}[{i}]"},
                )
            self._check_keys(record, f"{field}[{i}]")
            for name in self.names:
                columns[name].append(record.get(name))
        if not self.names:  # a package without a signature: take the columns as given
            return Rows(len(records), columns=_columns_of_records(records))
        return Rows(len(records), columns=columns)

    def from_columns(self, data: Any, field: str = "columns") -> Rows:
        if not isinstance(data, dict) or not data:
            raise InvalidInput(
                f"'{field}' must be an object mapping each column name to a list of values",
                details={"field": field},
            )
        if self.tensor is not None:
            raise InvalidInput(
                f"this model takes a tensor of shape {list(self.tensor.shape)}; send "
                "'records' as a list of rows (lists of numbers)",
                details={"field": field},
            )
        lengths = set()
        for name, values in data.items():
            if not isinstance(values, list):
                raise InvalidInput(
                    f"{field}.{name} must be a list of values, got {type(values).__name__}",
                    details={"field": f"{field}.{name}"},
                )
            lengths.add(len(values))
        if len(lengths) != 1 or 0 in lengths:
            raise InvalidInput(
                f"every list in '{field}' must have the same, non-zero length; got lengths "
                f"{sorted(lengths)}",
                details={"field": field},
            )
        n = lengths.pop()
        self.check_rows(n)
        if not self.names:
            return Rows(n, columns=dict(data))
        self._check_keys(data, field)
        if self.all_float and len(data) == len(self.names):
            lists = [data[name] for name in self.names]
            if all(type(v) is float or type(v) is int for values in lists for v in values):
                return Rows(n, matrix=np.array(lists, dtype=np.float64).T)
        return Rows(n, columns={name: data.get(name) or [None] * n for name in self.names})

    def from_array(self, data: Any, field: str) -> Rows:
        """Rows of positional values (lists of lists), or a tensor model's input."""
        if not isinstance(data, list) or not data:
            raise InvalidInput(f"'{field}' must be a non-empty list", details={"field": field})
        try:
            array = np.asarray(data)
        except ValueError as exc:  # ragged
            raise InvalidInput(
                f"'{field}' is not a regular array: {exc}", details={"field": field}
            ) from exc
        if array.dtype.kind in "OUS" and self.tensor is not None:
            raise SchemaError(
                f"'{field}' must hold numbers for this model ({self.tensor.dtype})",
                details={"field": field},
            )
        if self.tensor is not None:
            if array.ndim == len(self.tensor.shape) - 1:
                array = array[np.newaxis]
            self.check_rows(array.shape[0])
            return Rows(array.shape[0], array=array)
        if array.ndim == 1:
            array = array[np.newaxis]
        if not self.names:  # a package without a signature: the array as it came
            self.check_rows(array.shape[0])
            return Rows(array.shape[0], array=array)
        if array.ndim != 2 or array.shape[1] != len(self.names):
            raise SchemaError(
                f"each row of '{field}' must have {len(self.names)} values in the order "
                f"{names_hint(self.names)}; got shape {list(array.shape)}",
                details={"field": field, "expected": self.names},
            )
        self.check_rows(array.shape[0])
        if self.all_float and array.dtype.kind in "fiu":
            return Rows(array.shape[0], matrix=array.astype(np.float64, copy=False))
        return Rows(
            array.shape[0],
            columns={name: [row[i] for row in data] for i, name in enumerate(self.names)},
        )

    def _float_matrix(self, records: list[Any]) -> Rows | None:
        """The fast path: every record a dict with exactly the float columns, numbers only.
        ``None`` sends the request down the checking path (which explains what is wrong)."""
        names = self.names
        width = len(names)
        try:
            table = [[r[n] for n in names] for r in records if len(r) == width]
        except (KeyError, TypeError):
            return None
        if len(table) != len(records):
            return None
        for row in table:
            for v in row:
                if type(v) is not float and type(v) is not int:
                    return None
        return Rows(len(records), matrix=np.array(table, dtype=np.float64))

    def _check_keys(self, record: Mapping[str, Any], field: str) -> None:
        if not self.names:
            return
        unknown = [k for k in record if k not in self.name_set]
        if unknown:
            raise SchemaError(
                f"{field} has unknown field{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(repr(u) for u in unknown)}; the model takes {names_hint(self.names)}",
                details={"field": field, "unknown": unknown, "expected": self.names},
            )
        missing = [n for n in self.required if n not in record]
        if missing:
            specs = {c.name: c for c in self.specs}
            listed = ", ".join(f"{m!r} ({specs[m].type})" for m in missing)
            raise SchemaError(
                f"{field} is missing required field{'s' if len(missing) > 1 else ''} {listed}",
                details={"field": field, "missing": missing},
            )

    def check_rows(self, n: int) -> None:
        if n > self.max_rows:
            raise PayloadTooLarge(
                f"the request has {n} rows; this server takes at most {self.max_rows} per "
                "request (--max-rows); split it into smaller requests",
                details={"rows": n, "limit": self.max_rows},
            )

    def _example_record(self) -> str:
        return "{" + ", ".join(f'"{n}": ...' for n in self.names[:3]) + "}"

    # MLflow /invocations ----------------------------------------------------------------

    def from_invocations(self, body: bytes, content_type: str) -> Rows:
        if content_type.startswith("text/csv"):
            return self._from_csv(body)
        if content_type and not content_type.startswith("application/json"):
            raise InvalidInput(
                f"content type {content_type!r} is not supported; send application/json or "
                "text/csv",
                details={"field": "Content-Type"},
            )
        data = parse_json(body)
        if not isinstance(data, dict):
            raise InvalidInput(
                "the body must be a JSON object with one of dataframe_split, "
                "dataframe_records, instances or inputs",
                details={"field": "body"},
            )
        keys = [
            k for k in ("dataframe_split", "dataframe_records", "instances", "inputs") if k in data
        ]
        if len(keys) != 1:
            raise InvalidInput(
                "the body must have exactly one of dataframe_split, dataframe_records, "
                f"instances or inputs; got {sorted(k for k in data if k != 'params') or 'none'}",
                details={"field": "body"},
            )
        key = keys[0]
        value = data[key]
        if key == "dataframe_split":
            return self._from_split(value)
        if key == "dataframe_records":
            return self.from_records(value, key)
        if isinstance(value, dict):  # inputs/instances as a dict of columns
            return self.from_columns(value, key)
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            return self.from_records(value, key)
        return self.from_array(value, key)

    def _from_split(self, value: Any) -> Rows:
        field = "dataframe_split"
        if not isinstance(value, dict) or not isinstance(value.get("data"), list):
            raise InvalidInput(
                f"'{field}' must be an object with 'columns' (names) and 'data' (rows)",
                details={"field": field},
            )
        columns = value.get("columns")
        data = value["data"]
        if columns is None:
            return self.from_array(data, f"{field}.data")
        if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
            raise InvalidInput(
                f"{field}.columns must be a list of column names", details={"field": field}
            )
        for i, row in enumerate(data):
            if not isinstance(row, list) or len(row) != len(columns):
                raise InvalidInput(
                    f"{field}.data[{i}] must be a list of {len(columns)} values (one per column)",
                    details={"field": f"{field}.data[{i}]"},
                )
        return self.from_columns(
            {c: [row[i] for row in data] for i, c in enumerate(columns)}, f"{field}"
        )

    def _from_csv(self, body: bytes) -> Rows:
        try:
            text = body.decode("utf-8")
            frame = pd.read_csv(io.StringIO(text))
        except (UnicodeDecodeError, ValueError, csv.Error) as exc:
            raise InvalidInput(
                f"the CSV body cannot be read: {exc}; send UTF-8 CSV with a header row",
                details={"field": "body"},
            ) from exc
        if frame.empty:
            raise InvalidInput("the CSV body has no rows", details={"field": "body"})
        frame = frame.astype(object).where(frame.notna(), None)
        return self.from_columns({str(c): frame[c].tolist() for c in frame.columns}, "csv")


def names_hint(names: Sequence[str], limit: int = 8) -> str:
    """Column names for a message: all of them, or the first few and how many more."""
    if len(names) <= limit:
        return ", ".join(names)
    return f"{', '.join(names[:limit])} … ({len(names)} columns; see /v1/models)"


def parse_json(body: bytes) -> Any:
    if not body:
        raise InvalidInput(
            "the request body is empty; send a JSON object", details={"field": "body"}
        )
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"the body is not valid JSON: {exc}", details={"field": "body"}) from exc


def _columns_of_records(records: list[Any]) -> dict[str, list[Any]]:
    names: dict[str, None] = {}
    for r in records:
        if not isinstance(r, dict):
            raise InvalidInput("each record must be an object", details={"field": "records"})
        names.update(dict.fromkeys(r))
    return {n: [r.get(n) for r in records] for n in names}
