"""Input conversion for every column type, through InputValidator directly."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from shipway.models import ColumnSpec, SchemaError, Signature, TensorSpec
from shipway.models.validation import InputValidator


def _validator(*columns: ColumnSpec) -> InputValidator:
    return InputValidator(Signature(tuple(columns)))


def test_bool_column() -> None:
    v = _validator(ColumnSpec("on", "bool"))
    assert v.prepare({"on": [True, "false", "TRUE"]})["on"].tolist() == [True, False, True]
    assert v.prepare({"on": [0, 1]})["on"].dtype == np.dtype("bool")
    with pytest.raises(SchemaError, match="column 'on' expects bool values, got 2"):
        v.prepare({"on": [1, 2]})
    with pytest.raises(SchemaError, match="got 'maybe'"):
        v.prepare({"on": ["maybe"]})


def test_datetime_column() -> None:
    v = _validator(ColumnSpec("at", "datetime", dtype="datetime64[us, UTC]"))
    out = v.prepare([{"at": "2024-05-01T10:00:00Z"}, {"at": "2024-05-02T00:00:00+02:00"}])
    assert str(out["at"].dtype) == "datetime64[us, UTC]"
    assert out["at"].iloc[1] == pd.Timestamp("2024-05-01T22:00:00Z")
    with pytest.raises(SchemaError, match="column 'at' expects datetime values, got 'soon'"):
        v.prepare([{"at": "soon"}])


def test_nullable_columns_keep_nulls() -> None:
    v = _validator(
        ColumnSpec("n", "int", nullable=True, dtype="int64"),
        ColumnSpec("s", "string", nullable=True),
        ColumnSpec("c", "category", nullable=True, categories=("a", "b")),
    )
    out = v.prepare([{"n": 1, "s": "x", "c": "a"}, {"n": None, "s": None, "c": None}])
    assert out["n"].tolist()[0] == 1 and pd.isna(out["n"].iloc[1])
    assert pd.isna(out["s"].iloc[1]) and pd.isna(out["c"].iloc[1])


def test_int_range_and_whole_numbers() -> None:
    v = _validator(ColumnSpec("small", "int", dtype="int8"))
    assert v.prepare({"small": [1.0, "2", True]})["small"].tolist() == [1, 2, 1]
    assert v.prepare({"small": [1.0]})["small"].dtype == np.dtype("int8")
    with pytest.raises(SchemaError, match="got 300"):
        v.prepare({"small": [300]})
    with pytest.raises(SchemaError, match="got '2.5'"):
        v.prepare({"small": ["2.5"]})


def test_category_given_as_another_categorical() -> None:
    v = _validator(ColumnSpec("c", "category", categories=("a", "b", "c")))
    given = pd.DataFrame({"c": pd.Categorical(["b", "a"])})  # categories [a, b] only
    out = v.prepare(given)
    assert list(out["c"].cat.categories) == ["a", "b", "c"] and out["c"].tolist() == ["b", "a"]
    with pytest.raises(SchemaError, match="unknown category 'z'"):
        v.prepare(pd.DataFrame({"c": pd.Categorical(["z"])}))


def test_unsupported_input_type() -> None:
    with pytest.raises(SchemaError, match="unsupported input of type int"):
        _validator(ColumnSpec("a", "int")).prepare(42)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ([[1, 2]], [[1.0, 2.0]]),
        (np.array([[1, 2]], dtype="int32"), [[1.0, 2.0]]),
        (pd.DataFrame({"a": [1.5], "b": [2]}), [[1.5, 2.0]]),
        ([["1", "2.5"]], [[1.0, 2.5]]),
    ],
)
def test_tensor_inputs(data: Any, expected: Any) -> None:
    v = InputValidator(Signature(TensorSpec("float32", (-1, 2))))
    out = v.prepare(data)
    assert out.dtype == np.dtype("float32") and out.tolist() == expected


def test_tensor_int_refuses_fractions() -> None:
    v = InputValidator(Signature(TensorSpec("int64", (-1, 2))))
    assert v.prepare([[1.0, 2.0]]).dtype == np.dtype("int64")
    with pytest.raises(SchemaError, match="got 2.5"):
        v.prepare([[1.0, 2.5]])
    with pytest.raises(SchemaError, match="not"):
        v.prepare([["a", "b"]])
