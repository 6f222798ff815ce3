"""Heavy libraries are optional extras, imported only when a model needs them."""

from __future__ import annotations

import importlib
from types import ModuleType

from shipway.errors import MissingDependency


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependency` naming the extra that installs it.

    Example::

        xgboost = require("xgboost", "xgboost")
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependency(
            f"{module} is needed for this model but is not installed ({exc}); "
            f"install it with: pip install 'shipway[{extra}]'",
            details={"module": module, "extra": extra},
        ) from exc
