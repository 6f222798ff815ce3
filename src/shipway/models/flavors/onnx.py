"""The ``onnx`` flavor: an ``onnx.ModelProto`` (or the path or bytes of an ``.onnx`` file
with ``flavor="onnx"``), served with an onnxruntime ``InferenceSession`` on the CPU.

Saved as ``model.onnx``; loading runs no Python code. Input mapping: a graph with one
input gets the whole table as a 2-D array of the input's element type; a graph with one
input per column (as skl2onnx makes for mixed dtypes) gets each column as ``[n, 1]``.
The first output is the prediction; an output whose name contains ``prob`` is
``predict_proba`` (a ZipMap list of dicts is turned into a 2-D array in class order).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from shipway.errors import InvalidInput, SchemaError
from shipway.models.flavors.base import Predictor, from_module
from shipway.models.jsonable import to_plain
from shipway.models.optional import require

MODEL_FILE = "model.onnx"
_ELEMENT_TYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(float16)": "float16",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(int8)": "int8",
    "tensor(uint8)": "uint8",
    "tensor(bool)": "bool",
    "tensor(string)": "object",
}
_CLASS_LABELS = ("classlabels_int64s", "classlabels_ints", "classlabels_strings")


class OnnxFlavor:
    name = "onnx"
    extra = "onnx"

    def matches(self, model: object) -> bool:
        if not from_module(model, "onnx"):
            return False
        onnx = require("onnx", self.extra)
        return isinstance(model, onnx.ModelProto)

    def prepare(self, model: object) -> Any:
        onnx = require("onnx", self.extra)
        if isinstance(model, onnx.ModelProto):
            return model
        try:
            if isinstance(model, (bytes, bytearray)):
                return onnx.load_from_string(bytes(model))
            if isinstance(model, (str, Path)) and Path(model).is_file():
                return onnx.load(str(model))
        except Exception as exc:  # onnx raises DecodeError and friends
            raise InvalidInput(f"cannot read the ONNX model: {exc}") from exc
        raise InvalidInput(
            f"the onnx flavor takes an onnx.ModelProto, the bytes of an .onnx file or the path "
            f"of one; got {type(model).__name__} {str(model)[:80]!r}"
        )

    def packages(self, model: object) -> Sequence[str]:
        return ("onnx", "onnxruntime", "numpy", "pandas")

    def save(self, model: Any, folder: Path) -> dict[str, Any]:
        onnx = require("onnx", self.extra)
        onnx.save_model(model, str(folder / MODEL_FILE))
        classes = _class_labels(model)
        return {} if classes is None else {"classes": classes}

    def predictor(self, model: Any) -> Predictor:
        return _session_predictor(model.SerializeToString(), _class_labels(model))

    def load(self, folder: Path, options: Mapping[str, Any]) -> Predictor:
        classes = options.get("classes")
        return _session_predictor(str(folder / MODEL_FILE), classes)


def _class_labels(model: Any) -> list[Any] | None:
    """Class labels from a classifier node (skl2onnx writes them as node attributes)."""
    for node in model.graph.node:
        for attribute in node.attribute:
            if attribute.name in _CLASS_LABELS:
                values = attribute.strings or attribute.ints
                return [to_plain(v.decode() if isinstance(v, bytes) else v) for v in values]
    return None


def _session_predictor(source: str | bytes, classes: Sequence[Any] | None) -> Predictor:
    ort = require("onnxruntime", "onnx")
    try:
        session = ort.InferenceSession(source, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph errors
        raise InvalidInput(f"onnxruntime cannot load the model: {exc}") from exc
    runner = _SessionRunner(session, classes)
    return Predictor(
        predict=runner.predict,
        predict_proba=runner.predict_proba if runner.proba_output else None,
        classes=list(classes) if classes is not None else None,
    )


class _SessionRunner:
    def __init__(self, session: Any, classes: Sequence[Any] | None) -> None:
        self._pd = require("pandas", "onnx")
        self._np = require("numpy", "onnx")
        self._session = session
        self._inputs = [
            (i.name, self._np.dtype(_ELEMENT_TYPES.get(i.type, "float32")), len(i.shape or [0, 0]))
            for i in session.get_inputs()
        ]
        outputs = [o.name for o in session.get_outputs()]
        self.label_output = outputs[0]
        self.proba_output = next((o for o in outputs[1:] if "prob" in o.lower()), None)
        self._classes = classes

    def predict(self, data: Any) -> Any:
        out = self._session.run([self.label_output], self._feed(data))[0]
        if getattr(out, "ndim", 0) == 2 and out.shape[1] == 1:
            out = out.ravel()  # a regressor's [n, 1], as scikit-learn returns [n]
        return out

    def predict_proba(self, data: Any) -> Any:
        out = self._session.run([self.proba_output], self._feed(data))[0]
        if isinstance(out, list):  # ZipMap: one {class: probability} per row
            keys = self._classes if self._classes is not None else list(out[0]) if out else []
            return self._np.array([[row[k] for k in keys] for row in out], dtype="float64")
        return out

    def _feed(self, data: Any) -> dict[str, Any]:
        np = self._np
        if len(self._inputs) == 1:
            name, dtype, _ = self._inputs[0]
            array = data.to_numpy() if isinstance(data, self._pd.DataFrame) else np.asarray(data)
            return {name: _as(array, dtype, np)}
        if not isinstance(data, self._pd.DataFrame):
            raise SchemaError(
                "this ONNX model takes one input per column "
                f"({', '.join(n for n, _, _ in self._inputs)}); give a table with named columns"
            )
        feed = {}
        for name, dtype, rank in self._inputs:
            if name not in data.columns:
                raise SchemaError(f"missing input column {name!r} for the ONNX model")
            column = _as(data[name].to_numpy(), dtype, np)
            feed[name] = column.reshape(-1, 1) if rank == 2 else column
        return feed


def _as(array: Any, dtype: Any, np: Any) -> Any:
    if dtype == np.dtype(object):
        return array.astype(str).astype(object)
    return array.astype(dtype, copy=False)
