"""Monitoring: feedback, profiles, drift, live quality, alert rules and their actions.
See ``docs/monitoring.md``.

``MonitoringService`` loads on first use, so importing a light module of this package
(``shipway.monitoring.report``) does not import the service and pandas with it."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shipway.monitoring.service import MonitoringService

__all__ = ["MonitoringService"]


def __getattr__(name: str) -> Any:
    if name == "MonitoringService":
        return importlib.import_module("shipway.monitoring.service").MonitoringService
    raise AttributeError(f"module 'shipway.monitoring' has no attribute {name!r}")
