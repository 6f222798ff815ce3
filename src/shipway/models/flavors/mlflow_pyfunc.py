"""The ``mlflow`` flavor: a model logged by MLflow in a flavor shipway does not read
itself, loaded through ``mlflow.pyfunc`` (install ``shipway[mlflow]`` where it is served).

Packages of this flavor are made from MLflow's model folders (see
:mod:`shipway.models.mlflow_format`), never saved from an object: ``save_package`` does
not pick it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from shipway.errors import InvalidInput
from shipway.models.flavors.base import Predictor
from shipway.models.optional import require


class MlflowFlavor:
    name = "mlflow"
    extra = "mlflow"

    def matches(self, model: object) -> bool:
        return False  # made from MLflow's folders only

    def prepare(self, model: object) -> Any:
        return model

    def packages(self, model: object) -> Sequence[str]:
        return ("mlflow-skinny",)

    def save(self, model: Any, folder: Path) -> dict[str, Any]:
        raise InvalidInput(
            "the mlflow flavor is not saved from an object: log the model with "
            "mlflow.<flavor>.log_model against shipway server, or save it with a shipway flavor"
        )

    def predictor(self, model: Any) -> Predictor:
        return Predictor(predict=model.predict)

    def load(self, folder: Path, options: Mapping[str, Any]) -> Predictor:
        pyfunc = require("mlflow.pyfunc", self.extra)
        return self.predictor(pyfunc.load_model(str(folder)))
