"""Dataset versions: snapshot, manifest, profile, diff, materialize.

This package is also the user-facing ``sw.datasets`` API (``add``, ``get``, ``versions``,
``list``, ``diff``, ``status``, ``used_by``). Those functions need a client, which lives in
a layer above this one, so the client registers its implementation here when it loads
(``shipway.client.datasets``) and the names below forward to it, loading it by name on
first use (``import shipway`` is lazy and loads nothing of the client until then).
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

# Submodules must not be named like these: an imported submodule would shadow the name.
PUBLIC = ("DatasetHandle", "add", "diff", "get", "list", "status", "used_by", "versions")
_api: ModuleType | None = None


def register_api(module: ModuleType) -> None:
    global _api
    _api = module


def __getattr__(name: str) -> Any:
    if name in PUBLIC:
        if _api is None:
            importlib.import_module("shipway.client.datasets")  # it calls register_api
        return getattr(_api, name)
    raise AttributeError(f"module 'shipway.datasets' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *PUBLIC])
