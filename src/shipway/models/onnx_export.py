"""scikit-learn models converted to ONNX with skl2onnx, for serving with onnxruntime."""

from __future__ import annotations

from typing import Any

from shipway.errors import InvalidInput
from shipway.models.examples import normalize_example
from shipway.models.optional import require


def to_onnx(model: Any, input_example: Any) -> Any:
    """``model`` (a scikit-learn estimator or Pipeline) as an ``onnx.ModelProto``.

    The inputs follow the example: one float tensor for an array or an all-numeric
    DataFrame, else one ``[n, 1]`` input per column (int64, float, bool or string).
    Classifiers output ``label`` and ``probabilities`` (a 2-D array, no ZipMap).

    Example::

        proto = to_onnx(pipeline, X_train.head())
        save_package(proto, Path("churn-onnx"), input_example=X_train.head())
    """
    skl2onnx = require("skl2onnx", "onnx")
    base = require("sklearn.base", "onnx")
    example = normalize_example(input_example, getattr(model, "feature_names_in_", None))
    options = {"zipmap": False} if base.is_classifier(model) else None
    attempts = [_tensor_input(example)]
    if hasattr(example, "columns"):
        attempts.append(_column_inputs(example))
    error: Exception | None = None
    for initial_types in attempts:
        if initial_types is None:
            continue
        try:
            return skl2onnx.to_onnx(model, initial_types=initial_types, options=options)
        except Exception as exc:  # skl2onnx raises many kinds; report the last one
            error = exc
    raise InvalidInput(f"cannot convert {type(model).__name__} to ONNX: {error}") from error


def _tensor_input(example: Any) -> list[tuple[str, Any]] | None:
    """One float input of all columns, when every column is numeric."""
    types = require("skl2onnx.common.data_types", "onnx")
    if hasattr(example, "columns"):
        if not all(getattr(d, "kind", "O") in "biuf" for d in example.dtypes):
            return None
        width = len(example.columns)
    else:
        width = example.shape[1] if example.ndim == 2 else 1
    return [("input", types.FloatTensorType([None, width]))]


def _column_inputs(example: Any) -> list[tuple[str, Any]]:
    types = require("skl2onnx.common.data_types", "onnx")
    inputs = []
    for name in example.columns:
        kind = getattr(example[name].dtype, "kind", "O")
        if kind == "b":
            tensor = types.BooleanTensorType([None, 1])
        elif kind in "iu":
            tensor = types.Int64TensorType([None, 1])
        elif kind == "f":
            tensor = types.FloatTensorType([None, 1])
        elif kind == "M":
            raise InvalidInput(f"cannot convert the datetime column {name!r} to an ONNX input")
        else:
            tensor = types.StringTensorType([None, 1])
        inputs.append((str(name), tensor))
    return inputs
