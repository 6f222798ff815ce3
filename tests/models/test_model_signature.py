"""Signatures: inference from examples, dict round trips, JSON Schema."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from shipway.errors import InvalidInput
from shipway.models import ColumnSpec, Signature, TensorSpec, infer_signature


def test_infer_from_a_mixed_frame(
    mixed: tuple[pd.DataFrame, Any], mixed_pipeline: Pipeline
) -> None:
    frame = mixed[0].head(10).copy()
    frame["income"] = frame["income"].astype("float64")
    # after the 5 rows the model predicts on (LogisticRegression takes no NaN)
    frame.loc[8, "income"] = np.nan
    sig = infer_signature(mixed_pipeline, frame, "sklearn")
    assert [c.to_dict() for c in sig.columns] == [
        {"name": "age", "type": "int", "nullable": False, "dtype": "int64"},
        {"name": "income", "type": "float", "nullable": True, "dtype": "float64"},
        {
            "name": "plan",
            "type": "category",
            "nullable": False,
            "categories": ["basic", "plus", "pro"],
            "dtype": "category",
        },
        {"name": "city", "type": "string", "nullable": False, "dtype": "str"},
    ]
    assert [o.to_dict() for o in sig.outputs] == [
        {"name": "prediction", "type": "int"},
        {"name": "probabilities", "type": "float", "shape": [-1, 2]},
    ]
    assert sig.classes == (0, 1)
    assert Signature.from_dict(sig.to_dict()) == sig


def test_records_and_dict_of_columns_examples(
    mixed: tuple[pd.DataFrame, Any], mixed_pipeline: Pipeline
) -> None:
    rows = mixed[0].head(3)
    records = rows.astype(object).to_dict(orient="records")
    for record in records:
        record["plan"] = str(record["plan"])
    by_records = infer_signature(mixed_pipeline, records, "sklearn")
    columns = {name: rows[name].astype(object).tolist() for name in rows.columns}
    by_columns = infer_signature(mixed_pipeline, columns, "sklearn")
    assert [c.type for c in by_records.columns] == ["int", "float", "string", "string"]
    assert by_records == by_columns


def test_object_columns_of_strings_are_strings() -> None:
    frame = pd.DataFrame({"name": pd.Series(["a", None, "c"], dtype=object), "n": [1, 2, 3]})
    from shipway.models.inference import column_spec

    spec = column_spec("name", frame["name"])
    assert (spec.type, spec.nullable) == ("string", True)


def test_json_schema_for_columns() -> None:
    sig = Signature(
        (
            ColumnSpec("age", "int"),
            ColumnSpec("income", "float", nullable=True),
            ColumnSpec("active", "bool"),
            ColumnSpec("city", "string"),
            ColumnSpec("plan", "category", categories=("basic", "pro")),
            ColumnSpec("seen", "datetime", nullable=True),
        )
    )
    assert sig.to_json_schema() == {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "age": {"type": "integer"},
            "income": {"type": ["number", "null"]},
            "active": {"type": "boolean"},
            "city": {"type": "string"},
            "plan": {"enum": ["basic", "pro"]},
            "seen": {"type": ["string", "null"], "format": "date-time"},
        },
        "required": ["age", "active", "city", "plan"],
    }


def test_json_schema_for_a_tensor() -> None:
    sig = Signature(TensorSpec("float32", (-1, 4)))
    assert sig.to_json_schema() == {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "array",
        "items": {"type": "number"},
        "minItems": 4,
        "maxItems": 4,
    }
    assert Signature.from_dict(sig.to_dict()) == sig


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"outputs": []}, "mapping with 'inputs'"),
        ({"inputs": [{"name": "a", "type": "decimal"}]}, "type 'decimal'; use one of int"),
        ({"inputs": [{"name": "a", "type": "category"}]}, "needs its list of categories"),
        ({"inputs": [{"type": "int"}]}, "needs a name and a type"),
        ({"inputs": [{"name": "a", "type": "int"}] * 2}, "duplicate input columns"),
        ({"inputs": {"type": "tensor"}}, "tensor inputs look like"),
    ],
)
def test_bad_signature_dicts(data: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        Signature.from_dict(data)


def test_unusable_example_column(mixed_pipeline: Pipeline) -> None:
    frame = pd.DataFrame({"mixed": pd.Series([1, "a", 2.5], dtype=object)})
    with pytest.raises(InvalidInput, match="column 'mixed' has dtype object"):
        infer_signature(mixed_pipeline, frame, "sklearn")
