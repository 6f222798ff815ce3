"""/api/v1/users, /api/v1/tokens, /api/v1/events, /api/v1/me"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from shipway.api.auth import Admin, Viewer
from shipway.api.pagination import body, page
from shipway.errors import PermissionDenied
from shipway.services import Services

router = APIRouter(tags=["users"])


class NewUser(BaseModel):
    name: str
    role: str = "viewer"


class RoleChange(BaseModel):
    role: str


@router.get("/me", summary="The calling user and role")
def me(request: Request, services: Services = Viewer) -> dict[str, Any]:
    return {"name": request.state.user, "role": request.state.role, "auth": services.settings.auth}


@router.get("/users", summary="List users")
def list_users(
    limit: int = 100, cursor: str | None = None, services: Services = Admin
) -> dict[str, Any]:
    items, next_cursor = page(services.accounts.list_users(), limit, cursor)
    return body("users", items, next_cursor)


@router.post("/users", status_code=201, summary="Create a user")
def create_user(new: NewUser, services: Services = Admin) -> dict[str, Any]:
    return services.accounts.create_user(new.name, new.role).to_dict()


@router.patch("/users/{name}", summary="Change a user's role")
def set_role(name: str, change: RoleChange, services: Services = Admin) -> dict[str, Any]:
    return services.accounts.set_role(name, change.role).to_dict()


@router.post("/users/{name}/tokens", status_code=201, summary="Create a token (shown once)")
def create_token(name: str, request: Request, services: Services = Viewer) -> dict[str, Any]:
    if request.state.role != "admin" and request.state.user != name:
        raise PermissionDenied("only admins create tokens for other users")
    return services.accounts.create_token(name).to_dict()


@router.get("/tokens", summary="List tokens (never their secrets)")
def list_tokens(
    user: str | None = None, limit: int = 100, cursor: str | None = None, services: Services = Admin
) -> dict[str, Any]:
    items, next_cursor = page(services.accounts.list_tokens(user), limit, cursor)
    return body("tokens", items, next_cursor)


@router.delete("/tokens/{token_id}", summary="Revoke a token")
def revoke_token(token_id: str, services: Services = Admin) -> dict[str, Any]:
    services.accounts.revoke_token(token_id)
    return {"revoked": token_id}


@router.get("/events", summary="The audit trail (cursor-paginated, oldest first)")
def list_events(
    limit: int = 100,
    cursor: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    actor: str | None = None,
    services: Services = Admin,
) -> dict[str, Any]:
    result = services.accounts.list_events(
        limit=limit, cursor=cursor, object_type=object_type, object_id=object_id, actor=actor
    )
    return body("events", result.items, result.next_cursor)
