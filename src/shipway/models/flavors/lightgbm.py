"""The ``lightgbm`` flavor: a ``Booster`` or a scikit-learn wrapper (``LGBMClassifier`` …).

A ``Booster`` is saved in LightGBM's text format (``model.txt``), which runs no code when
loaded; its ``predict`` returns what the objective outputs and it has no
``predict_proba``. The scikit-learn wrappers are pickled (``model.pkl``, cloudpickle)
instead: LightGBM cannot rebuild a wrapper from a model file, and only the pickle keeps
``classes_`` (labels of any type), the label encoding and ``predict_proba``.
**Loading a pickled wrapper runs code**: digests are verified first; load packages only
from a source you trust.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from shipway.models.flavors import pickling
from shipway.models.flavors.base import Predictor, from_module
from shipway.models.flavors.sklearn import estimator_predictor
from shipway.models.optional import require

BOOSTER_FILE = "model.txt"
PICKLE_FILE = "model.pkl"


class LightGBMFlavor:
    name = "lightgbm"
    extra = "lightgbm"

    def matches(self, model: object) -> bool:
        if not from_module(model, "lightgbm"):
            return False
        lgb = require("lightgbm", self.extra)
        return isinstance(model, (lgb.LGBMModel, lgb.Booster))

    def prepare(self, model: object) -> Any:
        return model

    def packages(self, model: object) -> Sequence[str]:
        libs = ["lightgbm", "numpy", "scipy", "pandas"]
        return libs if _is_booster(model) else [*libs, "scikit-learn", "cloudpickle"]

    def save(self, model: Any, folder: Path) -> dict[str, Any]:
        if _is_booster(model):
            model.save_model(str(folder / BOOSTER_FILE))
            return {"format": "booster"}
        pickling.dump(model, folder / PICKLE_FILE, self.extra)
        return {"format": "pickle"}

    def predictor(self, model: Any) -> Predictor:
        if _is_booster(model):
            return _booster_predictor(model)
        return estimator_predictor(model)

    def load(self, folder: Path, options: Mapping[str, Any]) -> Predictor:
        lgb = require("lightgbm", self.extra)
        if options.get("format") == "booster":
            return _booster_predictor(lgb.Booster(model_file=str(folder / BOOSTER_FILE)))
        return estimator_predictor(pickling.load(folder / PICKLE_FILE))


def _is_booster(model: object) -> bool:
    return any(
        c.__name__ == "Booster" and c.__module__.startswith("lightgbm") for c in type(model).__mro__
    )


def _booster_predictor(booster: Any) -> Predictor:
    # No feature names: a Booster fitted on an array names its columns Column_0, Column_1 …
    return Predictor(predict=booster.predict)
