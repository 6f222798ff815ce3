"""The ``python`` flavor: a :class:`~shipway.models.PythonModel` subclass instance.

Saved as ``python_model.pkl`` (cloudpickle) plus copies of its ``artifacts`` under
``artifacts/<name>/``. **Loading it unpickles, which runs code**: the package's digests
are verified first; load packages only from a source you trust.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from shipway.errors import InvalidInput
from shipway.models.flavors import pickling
from shipway.models.flavors.base import Predictor
from shipway.models.jsonable import to_plain
from shipway.models.optional import require
from shipway.models.python_model import ModelContext, PythonModel

MODEL_FILE = "python_model.pkl"
ARTIFACTS = "artifacts"
_ARTIFACT_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")


class PythonFlavor:
    name = "python"
    extra = "sklearn"  # cloudpickle, numpy and pandas

    def matches(self, model: object) -> bool:
        return isinstance(model, PythonModel)

    def prepare(self, model: object) -> Any:
        return model

    def packages(self, model: object) -> Sequence[str]:
        return ("cloudpickle", "numpy", "pandas")

    def save(self, model: Any, folder: Path) -> dict[str, Any]:
        artifacts: dict[str, str] = {}
        for name, source in _artifacts(model).items():
            dest = folder / ARTIFACTS / name / source.name
            dest.parent.mkdir(parents=True)
            if source.is_dir():
                shutil.copytree(source, dest)
            else:
                shutil.copyfile(source, dest)
            artifacts[name] = dest.relative_to(folder).as_posix()
        pickling.dump(model, folder / MODEL_FILE, self.extra)
        return {"artifacts": artifacts} if artifacts else {}

    def predictor(self, model: Any) -> Predictor:
        # Load a copy, so the caller's object is not changed by load() before it is saved.
        copy = pickling.roundtrip(model, self.extra)
        return _loaded(copy, ModelContext(None, _artifacts(model)))

    def load(self, folder: Path, options: Mapping[str, Any]) -> Predictor:
        model = pickling.load(folder / MODEL_FILE)
        stored = options.get("artifacts") or {}
        artifacts = {str(k): folder / str(v) for k, v in stored.items()}
        return _loaded(model, ModelContext(folder, artifacts))


def _artifacts(model: Any) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for name, source in dict(getattr(model, "artifacts", None) or {}).items():
        path = Path(source)
        if not _ARTIFACT_NAME.fullmatch(str(name)) or name in {".", ".."}:
            raise InvalidInput(
                f"artifact name {name!r} is not allowed; use letters, digits, '_', '-' and '.'"
            )
        if not path.exists():
            raise InvalidInput(f"artifact {name!r}: {path} does not exist")
        found[str(name)] = path
    return found


def _loaded(model: Any, context: ModelContext) -> Predictor:
    model.load(context)
    np = require("numpy", "sklearn")
    proba = getattr(model, "predict_proba", None)

    def predict(data: Any) -> Any:
        return np.asarray(model.predict(data))

    def predict_proba(data: Any) -> Any:
        assert proba is not None
        return np.asarray(proba(data), dtype="float64")

    classes = getattr(model, "classes", None)
    if classes is None:
        classes = getattr(model, "classes_", None)
    return Predictor(
        predict=predict,
        predict_proba=predict_proba if callable(proba) else None,
        classes=None if classes is None else [to_plain(c) for c in classes],
    )
