"""Signatures inferred from an input example and the model's own output on it."""

from __future__ import annotations

from typing import Any

from shipway.errors import InvalidInput
from shipway.models.examples import EXAMPLE_ROWS, normalize_example
from shipway.models.flavors import Predictor, get_flavor
from shipway.models.jsonable import to_plain
from shipway.models.optional import require
from shipway.models.signature import ColumnSpec, OutputSpec, Signature, TensorSpec
from shipway.models.validation import InputValidator

_OUTPUT_KINDS = {"b": "bool", "i": "int", "u": "int", "f": "float", "M": "datetime"}


def infer_signature(model: Any, input_example: Any, flavor: str) -> Signature:
    """The signature of ``model`` (a model of ``flavor``) from an example of its input.

    Example::

        sig = infer_signature(pipeline, X_train.head(), "sklearn")
        [c.name for c in sig.columns]
    """
    chosen = get_flavor(flavor)
    predictor = chosen.predictor(chosen.prepare(model))
    example = normalize_example(input_example, predictor.feature_names)
    return signature_from_example(predictor, example)[0]


def signature_from_example(
    predictor: Predictor, example: Any, signature: Signature | None = None
) -> tuple[Signature, Any]:
    """``(signature, prepared example)``: inputs from ``example`` (a DataFrame or array)
    unless ``signature`` is given, outputs from predicting on its first rows.
    """
    pd = require("pandas", "sklearn")
    if signature is None:
        inputs: tuple[ColumnSpec, ...] | TensorSpec = (
            tuple(column_spec(str(name), example[name]) for name in example.columns)
            if isinstance(example, pd.DataFrame)
            else tensor_spec(example)
        )
        signature = Signature(inputs)
    is_frame = isinstance(example, pd.DataFrame)
    head = example.head(EXAMPLE_ROWS) if is_frame else example[:EXAMPLE_ROWS]
    prepared = InputValidator(signature).prepare(head)
    outputs = [output_spec("prediction", _call(predictor.predict, prepared))]
    if predictor.predict_proba is not None:
        proba = _call(predictor.predict_proba, prepared)
        outputs.append(output_spec("probabilities", proba))
    classes = None if predictor.classes is None else tuple(predictor.classes)
    return (
        Signature(
            signature.inputs,
            signature.outputs or tuple(outputs),
            signature.classes if signature.classes is not None else classes,
        ),
        prepared,
    )


def _call(method: Any, data: Any) -> Any:
    try:
        return method(data)
    except InvalidInput:
        raise
    except Exception as exc:  # whatever the library raises: report it, do not hide it
        raise InvalidInput(
            f"the input example does not fit the model: {type(exc).__name__}: {exc}",
            details={"error": str(exc)},
        ) from exc


def column_spec(name: str, series: Any) -> ColumnSpec:
    """The column type of one example column (``InvalidInput`` for unusable dtypes)."""
    pd = require("pandas", "sklearn")
    api = pd.api.types
    dtype = series.dtype
    nullable = bool(series.isna().any())
    if isinstance(dtype, pd.CategoricalDtype):
        categories = tuple(to_plain(c) for c in dtype.categories)
        return ColumnSpec(name, "category", nullable, categories, bool(dtype.ordered), "category")
    kind = _dtype_kind(dtype, api)
    if kind is None and api.is_object_dtype(dtype):
        kind = _OBJECT_KINDS.get(api.infer_dtype(series, skipna=True))
    if kind is None:
        raise InvalidInput(
            f"input example column {name!r} has dtype {dtype} "
            f"({api.infer_dtype(series, skipna=True)} values), which a signature cannot "
            "describe; convert it to int, float, bool, string, category or datetime, or pass "
            "a signature"
        )
    return ColumnSpec(name, kind, nullable, dtype=str(dtype))


_OBJECT_KINDS = {
    "string": "string",
    "empty": "string",
    "boolean": "bool",
    "integer": "int",
    "floating": "float",
    "mixed-integer-float": "float",
    "datetime": "datetime",
    "datetime64": "datetime",
}


def _dtype_kind(dtype: Any, api: Any) -> str | None:
    if api.is_bool_dtype(dtype):
        return "bool"
    if api.is_integer_dtype(dtype):
        return "int"
    if api.is_float_dtype(dtype):
        return "float"
    if api.is_datetime64_any_dtype(dtype):
        return "datetime"
    if api.is_string_dtype(dtype) and not api.is_object_dtype(dtype):
        return "string"
    return None


def tensor_spec(array: Any) -> TensorSpec:
    return TensorSpec(str(array.dtype), (-1, *array.shape[1:]))


def output_spec(name: str, value: Any) -> OutputSpec:
    np = require("numpy", "sklearn")
    array = np.asarray(value)
    kind = _OUTPUT_KINDS.get(array.dtype.kind, "string")
    shape = None if array.ndim <= 1 else (-1, *array.shape[1:])
    return OutputSpec(name, kind, shape)
