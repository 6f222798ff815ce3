"""Every platform operation, declared once (see ``declare``): the table the HTTP API
generates its routes from, the remote client calls through, and the in-process client
reaches as the services themselves.

``Platform`` is what both client modes offer: one surface per domain. ``Services``
satisfies it in-process; ``shipway.client.remote.RemotePlatform`` over HTTP.
"""

from __future__ import annotations

from typing import Protocol

from shipway.operations.accounts import Accounts
from shipway.operations.contracts import Contracts
from shipway.operations.datasets import Datasets
from shipway.operations.declare import Operation, Param, Route, op, operations_of
from shipway.operations.deployments import Deployments
from shipway.operations.monitoring import Monitoring
from shipway.operations.pipelines import Pipelines
from shipway.operations.predictions import Predictions
from shipway.operations.registry import Registry
from shipway.operations.tracking import Tracking

SURFACES: dict[str, type] = {
    "tracking": Tracking,
    "registry": Registry,
    "accounts": Accounts,
    "datasets": Datasets,
    "deployments": Deployments,
    "predictions": Predictions,
    "contracts": Contracts,
    "monitoring": Monitoring,
    "pipelines": Pipelines,
}


class Platform(Protocol):
    """The declared operations of one platform, by domain."""

    @property
    def tracking(self) -> Tracking: ...
    @property
    def registry(self) -> Registry: ...
    @property
    def accounts(self) -> Accounts: ...
    @property
    def datasets(self) -> Datasets: ...
    @property
    def deployments(self) -> Deployments: ...
    @property
    def predictions(self) -> Predictions: ...
    @property
    def contracts(self) -> Contracts: ...
    @property
    def monitoring(self) -> Monitoring: ...
    @property
    def pipelines(self) -> Pipelines: ...


def all_operations() -> list[Operation]:
    """Every declared operation, surface by surface."""
    return [o for name, surface in SURFACES.items() for o in operations_of(name, surface)]


__all__ = [
    "SURFACES",
    "Accounts",
    "Contracts",
    "Datasets",
    "Deployments",
    "Monitoring",
    "Operation",
    "Param",
    "Pipelines",
    "Platform",
    "Predictions",
    "Registry",
    "Route",
    "Tracking",
    "all_operations",
    "op",
    "operations_of",
]
