"""A loaded model package: one interface for every flavor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shipway.errors import InvalidInput
from shipway.models.flavors import Predictor
from shipway.models.info import PackageInfo
from shipway.models.signature import Signature
from shipway.models.validation import InputValidator, prepare_untyped


class LoadedModel:
    """A model ready to predict; input is checked against the package's signature first.

    ``data`` may be a pandas DataFrame, a list of records (dicts), a dict of columns (or
    one record), a numpy array or a list of lists (in the signature's column order).
    Bad input raises :class:`~shipway.errors.SchemaError`, naming the column.

    Example::

        model = load_package(Path("churn-model"))
        model.predict([{"tenure_months": 3, "plan": "pro"}])   # numpy array
        model.predict_proba(frame)                              # 2-D array, model.classes order
    """

    def __init__(self, info: PackageInfo, predictor: Predictor, path: Path) -> None:
        self.info = info
        self.path = path
        self._predictor = predictor
        self._validator = None if info.signature is None else InputValidator(info.signature)

    @property
    def flavor(self) -> str:
        return self.info.flavor

    @property
    def signature(self) -> Signature | None:
        return self.info.signature

    @property
    def classes(self) -> list[Any] | None:
        """Class labels of a classifier, in the order of ``predict_proba``'s columns (from
        model.yaml, or the loaded model's own for a package described without loading it,
        such as one logged by MLflow)."""
        if self.info.classes is not None:
            return self.info.classes
        known = self._predictor.classes
        return None if known is None else list(known)

    @property
    def has_predict_proba(self) -> bool:
        return self._predictor.predict_proba is not None

    def prepare(self, data: Any) -> Any:
        """``data`` checked and converted to what the model takes, without predicting."""
        if self._validator is None:
            return prepare_untyped(data)
        return self._validator.prepare(data)

    def predict(self, data: Any) -> Any:
        return self._predictor.predict(self.prepare(data))

    def predict_proba(self, data: Any) -> Any:
        proba = self._predictor.predict_proba
        if proba is None:
            raise InvalidInput(
                f"this model has no predict_proba (a {self.flavor} model at {self.path}); "
                "use predict",
                details={"flavor": self.flavor},
            )
        return proba(self.prepare(data))

    def __repr__(self) -> str:
        return f"<LoadedModel {self.flavor} from {self.path}>"
