"""MLflow's model format read without MLflow: a folder with an ``MLmodel`` file (what
``mlflow.<flavor>.log_model`` writes) described as a shipway package's model.yaml.

The folder is kept as MLflow wrote it, so ``mlflow.pyfunc.load_model`` still loads it;
model.yaml is added beside ``MLmodel`` and lists every file with its digest, like any
package. The model is never unpickled here (the server describes uploaded files, it does
not run them), so everything comes from ``MLmodel``, ``requirements.txt``,
``python_env.yaml`` and the saved input example:

- a scikit-learn model pickled as ``model.pkl`` (MLflow's default) becomes shipway's
  ``sklearn`` flavor, which reads that same file;
- any other MLflow model becomes the ``mlflow`` flavor, loaded through
  ``mlflow.pyfunc`` (which must then be installed where it is served);
- MLflow's column signature maps type for type (``double`` -> float64, ``long`` ->
  int64, …), a tensor signature to a tensor; its outputs to ``prediction``;
- the input example (pandas ``split`` JSON, or records) becomes model.yaml's records.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

import orjson
import yaml

from shipway.errors import InvalidInput
from shipway.models.environment import Requirements
from shipway.models.info import FileEntry, PackageInfo
from shipway.models.signature import Signature

MLMODEL = "MLmodel"
# MLflow's column types -> (shipway's type, the pandas dtype)
COLUMN_TYPES = {
    "double": ("float", "float64"),
    "float": ("float", "float32"),
    "long": ("int", "int64"),
    "integer": ("int", "int32"),
    "boolean": ("bool", "bool"),
    "string": ("string", "object"),
    "datetime": ("datetime", "datetime64[ns]"),
}


def is_mlflow_model(files: Mapping[str, Any]) -> bool:
    return MLMODEL in files


def describe(files: Mapping[str, FileEntry], read: Callable[[str], bytes]) -> PackageInfo:
    """The model.yaml of the MLflow model whose files (relative path -> digest and size)
    are ``files``; ``read(path)`` gives a small file's bytes. ``InvalidInput`` names what
    is wrong with a malformed ``MLmodel``."""
    try:
        mlmodel = yaml.safe_load(read(MLMODEL))
    except yaml.YAMLError as exc:
        raise InvalidInput(f"MLmodel is not valid YAML: {exc}") from None
    if not isinstance(mlmodel, dict) or not isinstance(mlmodel.get("flavors"), dict):
        raise InvalidInput("MLmodel has no 'flavors' mapping; is this an MLflow model folder?")
    flavors: dict[str, Any] = mlmodel["flavors"]
    flavor, options = _flavor(flavors, files)
    signature = _signature(mlmodel.get("signature"))
    return PackageInfo(
        flavor=flavor,
        created_at=_created(mlmodel.get("utc_time_created")),
        files=dict(files),
        requirements=_requirements(files, read, flavors),
        signature=signature,
        description=None,
        input_example=_example(mlmodel.get("saved_input_example_info"), files, read),
        predict_proba=False,  # known once loaded; the server does not unpickle uploads
        classes=None,
        flavor_options=options,
    )


def _flavor(flavors: dict[str, Any], files: Mapping[str, FileEntry]) -> tuple[str, dict[str, Any]]:
    sk = flavors.get("sklearn")
    if (
        isinstance(sk, dict)
        and sk.get("pickled_model") == "model.pkl"
        and sk.get("serialization_format", "cloudpickle") in ("cloudpickle", "pickle")
        and "model.pkl" in files
    ):
        return "sklearn", {}
    if "python_function" not in flavors:
        raise InvalidInput(
            f"MLmodel has flavors {sorted(flavors)} but no python_function flavor, so it "
            "cannot be loaded for prediction; log it with a flavor that MLflow can load"
        )
    return "mlflow", {"flavors": sorted(flavors)}


def _created(value: Any) -> str:
    if isinstance(value, str) and value:
        try:
            return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC).isoformat("T", "seconds")
        except ValueError:
            pass
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _requirements(
    files: Mapping[str, FileEntry], read: Callable[[str], bytes], flavors: dict[str, Any]
) -> Requirements:
    packages: dict[str, str] = {}
    if "requirements.txt" in files:
        for line in read("requirements.txt").decode("utf-8", "replace").splitlines():
            name, sep, version = line.strip().partition("==")
            name = name.strip()
            if sep and name and not name.startswith(("#", "-")):
                # MLflow pins itself as "mlflow"; its skinny client is all loading needs
                packages["mlflow-skinny" if name == "mlflow" else name] = version.strip()
    python = str((flavors.get("python_function") or {}).get("python_version") or "")
    if "python_env.yaml" in files:
        try:
            env = yaml.safe_load(read("python_env.yaml"))
            python = str((env or {}).get("python") or python)
        except yaml.YAMLError:
            pass
    return Requirements(python=python, packages=packages)


def _signature(raw: Any) -> Signature | None:
    if not isinstance(raw, dict) or not raw.get("inputs"):
        return None
    try:
        inputs = orjson.loads(raw["inputs"]) if isinstance(raw["inputs"], str) else raw["inputs"]
        outputs = raw.get("outputs") or "[]"
        outputs = orjson.loads(outputs) if isinstance(outputs, str) else outputs
    except orjson.JSONDecodeError:
        raise InvalidInput("MLmodel's signature is not valid JSON") from None
    if not isinstance(inputs, list) or not inputs:
        return None
    if inputs[0].get("type") == "tensor":
        spec = inputs[0].get("tensor-spec") or {}
        data: dict[str, Any] = {
            "inputs": {"type": "tensor", "dtype": spec.get("dtype"), "shape": spec.get("shape")}
        }
    else:
        columns = []
        for i, col in enumerate(inputs):
            kind = COLUMN_TYPES.get(str(col.get("type")))
            if kind is None:  # binary, arrays, objects: shipway checks no narrower type
                return None
            columns.append(
                {
                    "name": str(col.get("name", i)),
                    "type": kind[0],
                    "nullable": not col.get("required", True),
                    "dtype": kind[1],
                }
            )
        data = {"inputs": columns}
    data["outputs"] = [_output(o) for o in outputs if isinstance(o, dict)][:1]
    return Signature.from_dict(data)


def _output(spec: dict[str, Any]) -> dict[str, Any]:
    if spec.get("type") == "tensor":
        tensor = spec.get("tensor-spec") or {}
        dtype = str(tensor.get("dtype", "float64"))
        kind = "int" if "int" in dtype else "bool" if dtype == "bool" else "float"
        shape = tensor.get("shape")
        out: dict[str, Any] = {"name": "prediction", "type": kind}
        if isinstance(shape, list) and len(shape) > 1:
            out["shape"] = shape
        return out
    return {"name": "prediction", "type": COLUMN_TYPES.get(str(spec.get("type")), ("float",))[0]}


def _example(info: Any, files: Mapping[str, FileEntry], read: Callable[[str], bytes]) -> Any:
    if not isinstance(info, dict):
        return None
    path = str(info.get("artifact_path") or "")
    if path not in files or files[path].size > 1_000_000:
        return None
    try:
        data = orjson.loads(read(path))
    except orjson.JSONDecodeError:
        return None
    if isinstance(data, dict) and "dataframe_split" in data:
        data = data["dataframe_split"]
    if isinstance(data, dict) and isinstance(data.get("columns"), list):
        columns = [str(c) for c in data["columns"]]
        return [dict(zip(columns, row, strict=False)) for row in data.get("data") or []]
    if isinstance(data, list) and all(isinstance(r, dict) for r in data):
        return data
    return None
