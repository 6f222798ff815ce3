"""Contracts: the versioned agreement on a registered model, its gates, sign-offs and the
promotion policy. See ``docs/contracts.md``.

The names below load on first use, so importing a light module of this package
(``shipway.contracts.report``) does not import the service and the store with it."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shipway.contracts.service import ContractService
    from shipway.contracts.spec import Contract, parse, parse_gate

__all__ = ["Contract", "ContractService", "parse", "parse_gate"]

_HOMES = {
    "Contract": "shipway.contracts.spec",
    "ContractService": "shipway.contracts.service",
    "parse": "shipway.contracts.spec",
    "parse_gate": "shipway.contracts.spec",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'shipway.contracts' has no attribute {name!r}")
