"""Who is calling, and may they? With auth off every caller is trusted and named by the
``X-Shipway-User`` header (the client sends its OS user) or the server's OS user."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, Request

from shipway.accounts import role_allows
from shipway.errors import PermissionDenied, Unauthenticated
from shipway.records import ROLES
from shipway.services import Services


def _caller(request: Request) -> tuple[str, str]:
    base: Services = request.app.state.services
    if not base.settings.auth:
        return request.headers.get("x-shipway-user") or base.actor, "admin"
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthenticated(
            "this server requires a token: send 'Authorization: Bearer <token>' "
            "(set SHIPWAY_TOKEN for the client; an admin creates one with "
            "`shipway tokens create USER`)"
        )
    user = base.accounts.authenticate(secret.strip())
    if user is None:
        raise Unauthenticated("the token is unknown or revoked; ask an admin for a new one")
    return user.name, user.role


def require(role: str) -> Callable[[Request], Services]:
    """A dependency giving the services acting as the caller, once their role is checked."""
    assert role in ROLES

    def dependency(request: Request) -> Services:
        name, caller_role = _caller(request)
        if not role_allows(caller_role, role):
            raise PermissionDenied(
                f"user {name!r} has role {caller_role!r}; this needs {role!r} or higher"
            )
        request.state.user = name
        request.state.role = caller_role
        services: Services = request.app.state.services
        return services.as_actor(name, caller_role)

    return dependency


Viewer = Depends(require("viewer"))
DataScientist = Depends(require("data-scientist"))
Developer = Depends(require("developer"))
Admin = Depends(require("admin"))
