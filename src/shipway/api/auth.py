"""Who is calling, and may they? With auth off every caller is trusted and named by the
``X-Shipway-User`` header (the client sends its OS user) or the server's OS user."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, Request

from shipway.records import ROLES
from shipway.services import Services


def require(role: str) -> Callable[[Request], Services]:
    """A dependency giving the services acting as the caller, once their role is checked."""
    assert role in ROLES

    def dependency(request: Request) -> Services:
        base: Services = request.app.state.services
        services = base.as_caller(
            request.headers.get("authorization"), request.headers.get("x-shipway-user"), role
        )
        request.state.user = services.actor
        request.state.role = services.role
        return services

    return dependency


Viewer = Depends(require("viewer"))
DataScientist = Depends(require("data-scientist"))
Developer = Depends(require("developer"))
Admin = Depends(require("admin"))
