"""What every flavor provides: how to recognise, save and load one kind of model.

A flavor turns a model object into files in a package folder and back into a
:class:`Predictor`, the one calling convention the rest of shipway uses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from shipway.models.jsonable import to_plain


@dataclass(frozen=True)
class Predictor:
    """A loaded model reduced to functions over prepared input (DataFrame or array).

    ``predict_proba`` is None when the model has none; ``classes`` are the class labels of
    a classifier in the order of ``predict_proba``'s columns; ``feature_names`` are the
    columns the model was fitted on, when it knows them.
    """

    predict: Callable[[Any], Any]
    predict_proba: Callable[[Any], Any] | None = None
    classes: Sequence[Any] | None = None
    feature_names: Sequence[str] | None = None


class Flavor(Protocol):
    name: str
    extra: str  # the pip extra that installs what this flavor needs

    def matches(self, model: object) -> bool:
        """Whether ``model`` is an object of this flavor (imports nothing heavy when not)."""
        ...

    def prepare(self, model: object) -> Any:
        """The object to save (the onnx flavor reads a path or bytes into a ModelProto)."""
        ...

    def packages(self, model: object) -> Sequence[str]:
        """Distributions to pin in the package's requirements."""
        ...

    def save(self, model: Any, folder: Path) -> dict[str, Any]:
        """Write the model's files into ``folder``; return the options ``load`` needs."""
        ...

    def predictor(self, model: Any) -> Predictor:
        """A predictor over the in-memory model (for signature inference while saving)."""
        ...

    def load(self, folder: Path, options: Mapping[str, Any]) -> Predictor:
        """Read the files ``save`` wrote."""
        ...


def from_module(model: object, *roots: str) -> bool:
    """Whether ``model``'s class or a base class comes from one of the packages ``roots``,
    so a flavor can rule a model out without importing its library.
    """
    return any(cls.__module__.split(".")[0] in roots for cls in type(model).__mro__)


def plain_classes(model: object) -> list[Any] | None:
    """``model.classes_`` as plain Python values, or None for a regressor."""
    classes = getattr(model, "classes_", None)
    if classes is None:
        return None
    return [to_plain(c) for c in classes]


def feature_names(model: object) -> list[str] | None:
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        return None
    return [str(n) for n in names]
