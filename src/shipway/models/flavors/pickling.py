"""Pickled models: written with cloudpickle (so classes and functions defined in a notebook
or a script travel with the model), read with the standard pickle module.

**Unpickling runs code.** Packages are checked against their BLAKE3 digests before any
pickle is read, but only load packages from a source you trust.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from shipway.errors import InvalidInput, MissingDependency
from shipway.models.optional import require


def dump(model: Any, path: Path, extra: str) -> None:
    cloudpickle = require("cloudpickle", extra)
    with open(path, "wb") as f:
        cloudpickle.dump(model, f, protocol=pickle.HIGHEST_PROTOCOL)


def load(path: Path) -> Any:
    try:
        with open(path, "rb") as f:
            return pickle.load(f)  # noqa: S301 (digest-checked, documented above)
    except ModuleNotFoundError as exc:
        raise MissingDependency(
            f"{path.name} needs the module {exc.name!r}, which is not installed; install the "
            "package's requirements (requirements_txt(info)), or save the model with its own "
            "code in python_files",
            details={"module": exc.name},
        ) from exc
    except Exception as exc:  # a pickle can raise anything while it rebuilds objects
        raise InvalidInput(
            f"cannot unpickle {path.name}: {type(exc).__name__}: {exc} (was it saved with "
            "other library versions? compare model.yaml's requirements)"
        ) from exc


def roundtrip(model: Any, extra: str) -> Any:
    """A deep copy made the way saving and loading would make it."""
    cloudpickle = require("cloudpickle", extra)
    return pickle.loads(cloudpickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
