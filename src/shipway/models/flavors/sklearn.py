"""The ``sklearn`` flavor: any scikit-learn estimator, Pipeline or ColumnTransformer.

Saved as ``model.pkl`` with cloudpickle. **Loading it unpickles, which runs code**: the
package's digests are verified first; load packages only from a source you trust.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from shipway.models.flavors import pickling
from shipway.models.flavors.base import Predictor, feature_names, from_module, plain_classes
from shipway.models.optional import require

MODEL_FILE = "model.pkl"


class SklearnFlavor:
    name = "sklearn"
    extra = "sklearn"

    def matches(self, model: object) -> bool:
        if not from_module(model, "sklearn"):
            return False
        base = require("sklearn.base", self.extra)
        return isinstance(model, base.BaseEstimator)

    def prepare(self, model: object) -> Any:
        return model

    def packages(self, model: object) -> Sequence[str]:
        return ("scikit-learn", "numpy", "scipy", "pandas", "cloudpickle")

    def save(self, model: Any, folder: Path) -> dict[str, Any]:
        pickling.dump(model, folder / MODEL_FILE, self.extra)
        return {}

    def predictor(self, model: Any) -> Predictor:
        return estimator_predictor(model)

    def load(self, folder: Path, options: Mapping[str, Any]) -> Predictor:
        require("sklearn", self.extra)
        return estimator_predictor(pickling.load(folder / MODEL_FILE))


def estimator_predictor(model: Any) -> Predictor:
    """The predictor of an object with the scikit-learn estimator API."""
    proba = model.predict_proba if hasattr(model, "predict_proba") else None
    return Predictor(
        predict=model.predict,
        predict_proba=proba,
        classes=plain_classes(model),
        feature_names=feature_names(model),
    )
