"""The ``xgboost`` flavor: a ``Booster`` or a scikit-learn wrapper (``XGBClassifier`` …).

Saved in XGBoost's own binary format (``model.ubj``, via ``save_model``), which later
XGBoost versions can read and which runs no code when loaded. The wrapper's class name is
kept in model.yaml; XGBoost stores the wrapper's attributes (number of classes, feature
names and types, ``enable_categorical``) in the file, so a reloaded ``XGBClassifier``
keeps ``predict_proba`` and ``classes_``. A ``Booster`` has no ``predict_proba``: its
``predict`` returns what the objective outputs (probabilities for ``binary:logistic``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from shipway.errors import InvalidInput
from shipway.models.environment import installed_version
from shipway.models.flavors.base import Predictor, from_module
from shipway.models.flavors.sklearn import estimator_predictor
from shipway.models.optional import require

MODEL_FILE = "model.ubj"
BOOSTER = "Booster"
WRAPPERS = ("XGBClassifier", "XGBRegressor", "XGBRanker", "XGBRFClassifier", "XGBRFRegressor")


class XGBoostFlavor:
    name = "xgboost"
    extra = "xgboost"

    def matches(self, model: object) -> bool:
        if not from_module(model, "xgboost"):
            return False
        xgb = require("xgboost", self.extra)
        return isinstance(model, (xgb.XGBModel, xgb.Booster))

    def prepare(self, model: object) -> Any:
        return model

    def packages(self, model: object) -> Sequence[str]:
        # xgboost-cpu is the same library without the CUDA build and its NCCL dependency
        distribution = "xgboost" if installed_version("xgboost") else "xgboost-cpu"
        libs = [distribution, "numpy", "scipy", "pandas"]
        return [*libs, "scikit-learn"] if _estimator_class(model) != BOOSTER else libs

    def save(self, model: Any, folder: Path) -> dict[str, Any]:
        model.save_model(str(folder / MODEL_FILE))
        return {"estimator": _estimator_class(model)}

    def predictor(self, model: Any) -> Predictor:
        if _estimator_class(model) == BOOSTER:
            return _booster_predictor(model)
        return estimator_predictor(model)

    def load(self, folder: Path, options: Mapping[str, Any]) -> Predictor:
        xgb = require("xgboost", self.extra)
        estimator = str(options.get("estimator", BOOSTER))
        if estimator not in (BOOSTER, *WRAPPERS):
            raise InvalidInput(
                f"model.yaml: unknown xgboost estimator {estimator!r}; "
                f"expected one of {', '.join((BOOSTER, *WRAPPERS))}"
            )
        if estimator == BOOSTER:
            return _booster_predictor(xgb.Booster(model_file=str(folder / MODEL_FILE)))
        model = getattr(xgb, estimator)()
        model.load_model(str(folder / MODEL_FILE))
        return estimator_predictor(model)


def _estimator_class(model: object) -> str:
    """The xgboost class to rebuild on load: the nearest xgboost base of a subclass."""
    for cls in type(model).__mro__:
        if cls.__module__.startswith("xgboost") and cls.__name__ in (BOOSTER, *WRAPPERS):
            return cls.__name__
    raise InvalidInput(
        f"cannot save {type(model).__name__}: not a Booster or one of {', '.join(WRAPPERS)}"
    )


def _booster_predictor(booster: Any) -> Predictor:
    xgb = require("xgboost", "xgboost")

    def predict(data: Any) -> Any:
        return booster.predict(xgb.DMatrix(data, enable_categorical=True))

    return Predictor(predict=predict, feature_names=booster.feature_names)
