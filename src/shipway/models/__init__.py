"""Model packages: a folder with ``model.yaml`` and the model's files, for any flavor.

A pure library over a local folder: no database, no server. Save a model with its
signature, input example, pinned requirements and file digests; load it back as one
:class:`LoadedModel` whatever the flavor, with input checked against the signature.

Example::

    from shipway.models import load_package, save_package

    save_package(pipeline, Path("churn-model"), input_example=X_train.head())
    model = load_package(Path("churn-model"))          # digests verified
    model.predict([{"tenure_months": 3, "plan": "pro"}])

Pickle-based flavors (sklearn, the lightgbm wrappers, python) **run code when loaded**:
load packages only from a source you trust. Their digests are verified before loading.

``sw.models.load(uri)`` (by ``models:/`` or ``runs:/`` URI) needs a client, which lives in
a layer above this one: the client registers it here when it loads (``register_api``),
and ``load`` below forwards to it, loading the client's module by name on first use.
"""

import importlib
from types import ModuleType
from typing import Any

from shipway.errors import SchemaError
from shipway.models.flavors import SUPPORTED_FLAVORS
from shipway.models.inference import infer_signature
from shipway.models.info import FileEntry, PackageInfo, read_info, requirements_txt
from shipway.models.loaded import LoadedModel
from shipway.models.onnx_export import to_onnx
from shipway.models.package import load_package, save_package
from shipway.models.python_model import ModelContext, PythonModel
from shipway.models.signature import ColumnSpec, OutputSpec, Signature, TensorSpec

_api: ModuleType | None = None


def register_api(module: ModuleType) -> None:
    """Called by ``shipway.client.models`` when it is imported."""
    global _api
    _api = module


def load(uri: Any, **kwargs: Any) -> LoadedModel:
    """Load a model package by ``models:/NAME/VERSION``, ``models:/NAME@ALIAS``,
    ``runs:/RUN_ID/PATH`` or folder; see :func:`shipway.client.models.load`."""
    if _api is None:
        importlib.import_module("shipway.client.models")  # it calls register_api
    assert _api is not None
    loaded: LoadedModel = _api.load(uri, **kwargs)
    return loaded


__all__ = [
    "ColumnSpec",
    "FileEntry",
    "LoadedModel",
    "ModelContext",
    "OutputSpec",
    "PackageInfo",
    "PythonModel",
    "SUPPORTED_FLAVORS",
    "SchemaError",
    "Signature",
    "TensorSpec",
    "infer_signature",
    "load",
    "load_package",
    "read_info",
    "requirements_txt",
    "save_package",
    "to_onnx",
]
