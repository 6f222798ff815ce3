"""The generic ``python`` flavor: any Python object with ``predict``, written by the user.

Saved as ``python_model.pkl`` with cloudpickle. **Loading it runs Python code** (that is
how pickle works): load packages only from a source you trust; the BLAKE3 digests in
model.yaml are checked first, so a package changed after saving is refused.

Example::

    class Threshold(PythonModel):
        artifacts = {"cutoffs": "cutoffs.json"}      # copied into the package

        def load(self, context: ModelContext) -> None:
            self.cutoffs = json.loads(context.artifacts["cutoffs"].read_text())

        def predict(self, inputs):
            return (inputs["score"] > self.cutoffs["score"]).to_numpy()

    save_package(Threshold(), Path("pkg"), input_example=[{"score": 0.3}])
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class ModelContext:
    """What :meth:`PythonModel.load` gets: the package folder and its artifacts' paths."""

    path: Path | None
    artifacts: Mapping[str, Path] = field(default_factory=dict)


class PythonModel:
    """Base class of ``python``-flavor models.

    Subclasses implement :meth:`predict` (and optionally ``predict_proba(inputs)``), and
    :meth:`load` when they read files: name them in ``artifacts`` (name -> local path);
    :func:`save_package` copies them into the package and ``context.artifacts[name]`` is
    the copy's path at load time. ``inputs`` is a DataFrame in the signature's columns
    and dtypes (a numpy array for a tensor signature).
    """

    artifacts: Mapping[str, str | os.PathLike[str]] = MappingProxyType({})

    def load(self, context: ModelContext) -> None:
        """Called once after unpickling, before the first prediction."""

    def predict(self, inputs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement predict(inputs)")
