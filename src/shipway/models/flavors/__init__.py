"""The flavors: one module per kind of model, found by :func:`detect_flavor`."""

from __future__ import annotations

from shipway.errors import InvalidInput
from shipway.models.flavors.base import Flavor, Predictor
from shipway.models.flavors.lightgbm import LightGBMFlavor
from shipway.models.flavors.mlflow_pyfunc import MlflowFlavor
from shipway.models.flavors.onnx import OnnxFlavor
from shipway.models.flavors.python import PythonFlavor
from shipway.models.flavors.sklearn import SklearnFlavor
from shipway.models.flavors.xgboost import XGBoostFlavor

SUPPORTED_FLAVORS = ("sklearn", "xgboost", "lightgbm", "onnx", "python", "mlflow")

_FLAVORS: dict[str, Flavor] = {
    f.name: f
    for f in (
        SklearnFlavor(),
        XGBoostFlavor(),
        LightGBMFlavor(),
        OnnxFlavor(),
        PythonFlavor(),
        MlflowFlavor(),  # packages made from MLflow's model folders; never detected
    )
}
# xgboost and lightgbm first: their scikit-learn wrappers are sklearn estimators too.
_DETECTION_ORDER = ("xgboost", "lightgbm", "onnx", "python", "sklearn")


def get_flavor(name: str) -> Flavor:
    """The flavor called ``name``; ``InvalidInput`` listing the supported ones otherwise."""
    try:
        return _FLAVORS[name]
    except KeyError:
        raise InvalidInput(
            f"unknown model flavor {name!r}; supported flavors: {', '.join(SUPPORTED_FLAVORS)}",
            details={"flavor": name, "supported": list(SUPPORTED_FLAVORS)},
        ) from None


def detect_flavor(model: object) -> Flavor:
    """The flavor of ``model``; ``InvalidInput`` listing the supported flavors otherwise."""
    for name in _DETECTION_ORDER:
        if _FLAVORS[name].matches(model):
            return _FLAVORS[name]
    raise InvalidInput(
        f"cannot package a {type(model).__module__}.{type(model).__qualname__}: it is not a "
        f"model of a supported flavor ({', '.join(SUPPORTED_FLAVORS)}). Supported: scikit-learn "
        "estimators, XGBoost and LightGBM models, onnx.ModelProto, and PythonModel subclasses",
        details={"type": type(model).__qualname__, "supported": list(SUPPORTED_FLAVORS)},
    )


def resolve_flavor(model: object, name: str | None) -> Flavor:
    """The flavor named ``name`` (checked against ``model``), or the detected one."""
    if name is None:
        return detect_flavor(model)
    flavor = get_flavor(name)
    if flavor.name != "onnx" and not flavor.matches(model):
        raise InvalidInput(
            f"the model is a {type(model).__qualname__}, not a {name} model; "
            f"leave flavor unset to detect it, or pick one of {', '.join(SUPPORTED_FLAVORS)}"
        )
    return flavor


__all__ = [
    "Flavor",
    "Predictor",
    "SUPPORTED_FLAVORS",
    "detect_flavor",
    "get_flavor",
    "resolve_flavor",
]
