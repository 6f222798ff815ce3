"""What a model takes and returns: named, typed columns or one tensor in; named outputs out.

Example::

    sig = Signature.from_dict({
        "inputs": [{"name": "age", "type": "int"},
                   {"name": "plan", "type": "category", "categories": ["basic", "pro"]}],
        "outputs": [{"name": "prediction", "type": "int"}],
    })
    sig.to_json_schema()["required"]   # ['age', 'plan']

The ``dtype`` of a column is the exact pandas dtype the model was trained with (``int64``,
``str``, ``category`` …); prediction inputs are converted to it so results match the raw
estimator. It is optional in hand-written signatures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shipway.errors import InvalidInput

COLUMN_TYPES = ("int", "float", "bool", "string", "category", "datetime")
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

_JSON_TYPES = {
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "string": {"type": "string"},
    "datetime": {"type": "string", "format": "date-time"},
}


@dataclass(frozen=True)
class ColumnSpec:
    """One named input column."""

    name: str
    type: str
    nullable: bool = False
    categories: tuple[Any, ...] | None = None
    ordered: bool = False
    dtype: str | None = None

    def __post_init__(self) -> None:
        if self.type not in COLUMN_TYPES:
            raise InvalidInput(
                f"signature: column {self.name!r} has type {self.type!r}; "
                f"use one of {', '.join(COLUMN_TYPES)}"
            )
        if self.type == "category" and self.categories is None:
            raise InvalidInput(
                f"signature: category column {self.name!r} needs its list of categories"
            )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type, "nullable": self.nullable}
        if self.categories is not None:
            out["categories"] = list(self.categories)
            if self.ordered:
                out["ordered"] = True
        if self.dtype is not None:
            out["dtype"] = self.dtype
        return out

    def json_schema(self) -> dict[str, Any]:
        if self.type == "category":
            values = list(self.categories or ())
            return {"enum": [*values, None] if self.nullable else values}
        schema: dict[str, Any] = dict(_JSON_TYPES[self.type])
        if self.nullable:
            schema["type"] = [schema["type"], "null"]
        return schema


@dataclass(frozen=True)
class TensorSpec:
    """One n-dimensional array in; ``-1`` in ``shape`` is any size (the batch, usually)."""

    dtype: str
    shape: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"type": "tensor", "dtype": self.dtype, "shape": list(self.shape)}

    def json_schema(self) -> dict[str, Any]:
        """One row: nested arrays for the dimensions after the first."""
        kind = "integer" if self.dtype.startswith(("int", "uint")) else "number"
        if self.dtype == "bool":
            kind = "boolean"
        schema: dict[str, Any] = {"type": kind}
        for size in reversed(self.shape[1:]):
            schema = {"type": "array", "items": schema}
            if size >= 0:
                schema["minItems"] = schema["maxItems"] = size
        return schema


@dataclass(frozen=True)
class OutputSpec:
    """One named output: ``prediction`` or ``probabilities``, say."""

    name: str
    type: str
    shape: tuple[int, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.shape is not None:
            out["shape"] = list(self.shape)
        return out


@dataclass(frozen=True)
class Signature:
    """A model's inputs (columns or a tensor), outputs, and class labels for classifiers."""

    inputs: tuple[ColumnSpec, ...] | TensorSpec
    outputs: tuple[OutputSpec, ...] = ()
    classes: tuple[Any, ...] | None = None

    @property
    def is_tensor(self) -> bool:
        return isinstance(self.inputs, TensorSpec)

    @property
    def columns(self) -> tuple[ColumnSpec, ...]:
        """The input columns; empty for a tensor signature."""
        return () if isinstance(self.inputs, TensorSpec) else self.inputs

    def to_dict(self) -> dict[str, Any]:
        inputs: Any = (
            self.inputs.to_dict()
            if isinstance(self.inputs, TensorSpec)
            else [c.to_dict() for c in self.inputs]
        )
        out: dict[str, Any] = {"inputs": inputs, "outputs": [o.to_dict() for o in self.outputs]}
        if self.classes is not None:
            out["classes"] = list(self.classes)
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Signature:
        """Parse (and check) a signature; a bad field raises ``InvalidInput`` naming it."""
        if isinstance(data, Signature):
            return data
        if not isinstance(data, Mapping) or "inputs" not in data:
            raise InvalidInput(
                "signature must be a mapping with 'inputs' (a list of columns or a tensor spec)"
            )
        outputs = tuple(_output(o) for o in _list(data.get("outputs") or [], "outputs"))
        classes = data.get("classes")
        return cls(
            inputs=_inputs(data["inputs"]),
            outputs=outputs,
            classes=None if classes is None else tuple(_list(classes, "classes")),
        )

    def to_json_schema(self) -> dict[str, Any]:
        """A JSON Schema (draft 2020-12) for one input record (or one tensor row)."""
        if isinstance(self.inputs, TensorSpec):
            return {"$schema": JSON_SCHEMA_DIALECT, **self.inputs.json_schema()}
        return {
            "$schema": JSON_SCHEMA_DIALECT,
            "type": "object",
            "properties": {c.name: c.json_schema() for c in self.inputs},
            "required": [c.name for c in self.inputs if not c.nullable],
        }


def _list(value: Any, what: str) -> Sequence[Any]:
    if not isinstance(value, (list, tuple)):
        raise InvalidInput(f"signature: {what} must be a list, got {type(value).__name__}")
    return value


def _inputs(data: Any) -> tuple[ColumnSpec, ...] | TensorSpec:
    if isinstance(data, Mapping):
        if data.get("type") != "tensor" or "dtype" not in data or "shape" not in data:
            raise InvalidInput(
                "signature: tensor inputs look like {type: tensor, dtype: float64, shape: [-1, 4]}"
            )
        return TensorSpec(str(data["dtype"]), tuple(int(s) for s in _list(data["shape"], "shape")))
    columns = tuple(_column(c) for c in _list(data, "inputs"))
    names = [c.name for c in columns]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InvalidInput(f"signature: duplicate input columns {duplicates}")
    if not columns:
        raise InvalidInput("signature: inputs must name at least one column")
    return columns


def _column(data: Any) -> ColumnSpec:
    if not isinstance(data, Mapping) or "name" not in data or "type" not in data:
        raise InvalidInput(
            f"signature: each input column needs a name and a type, got {data!r} "
            "(example: {name: age, type: int})"
        )
    categories = data.get("categories")
    return ColumnSpec(
        name=str(data["name"]),
        type=str(data["type"]),
        nullable=bool(data.get("nullable", False)),
        categories=None if categories is None else tuple(_list(categories, "categories")),
        ordered=bool(data.get("ordered", False)),
        dtype=None if data.get("dtype") is None else str(data["dtype"]),
    )


def _output(data: Any) -> OutputSpec:
    if not isinstance(data, Mapping) or "name" not in data or "type" not in data:
        raise InvalidInput(f"signature: each output needs a name and a type, got {data!r}")
    shape = data.get("shape")
    return OutputSpec(
        name=str(data["name"]),
        type=str(data["type"]),
        shape=None if shape is None else tuple(int(s) for s in _list(shape, "shape")),
    )
