"""The deployment operations: what inference servers serve, and their traffic policy."""

from __future__ import annotations

import builtins
from typing import Protocol

from shipway.errors import Conflict
from shipway.operations.declare import op
from shipway.records import Deployment, Event

DEV = "developer"


class Deployments(Protocol):
    @op(
        "POST",
        "/deployments",
        role=DEV,
        status=201,
        event="create",
        extras=("api_key",),
        errors=(Conflict,),
    )
    def create(
        self,
        name: str,
        model: str,
        *,
        mode: str = "single",
        candidate: str | None = None,
        percent: float | None = None,
        api_key: bool = False,
    ) -> tuple[Deployment, str | None]:
        """Create a deployment serving ``model`` (a ``models:/`` URI): ``single``, ``canary``
        (``percent`` of traffic to ``candidate``) or ``shadow``; with ``api_key`` a key is
        made for it and returned once.

        >>> deployment, key = client.deployments.create("churn", "models:/churn@production")
        """
        ...

    @op("GET", "/deployments/{name}", role="viewer")
    def get(self, name: str) -> Deployment:
        """One deployment."""
        ...

    @op("PATCH", "/deployments/{name}", role=DEV, event="set-traffic")
    def set_traffic(
        self,
        name: str,
        *,
        model: str | None = None,
        mode: str | None = None,
        candidate: str | None = None,
        percent: float | None = None,
    ) -> Deployment:
        """Change a deployment's model or traffic policy (running servers follow it)."""
        ...

    @op("GET", "/deployments/{name}/history", role="viewer", key="events")
    def history(self, name: str) -> builtins.list[Event]:
        """Who created the deployment and changed its traffic policy, when and to what
        (oldest first)."""
        ...

    @op("DELETE", "/deployments/{name}", role=DEV, event="delete")
    def delete(self, name: str) -> None:
        """Delete a deployment."""
        ...

    @op("POST", "/deployments/{name}/check-key", role="viewer", key="valid")
    def check_api_key(self, name: str, key: str) -> bool:
        """Whether ``key`` is the deployment's API key (compared in constant time)."""
        ...

    @op("GET", "/deployments", role="viewer", key="deployments")
    def list(self) -> builtins.list[Deployment]:
        """Every deployment."""
        ...
