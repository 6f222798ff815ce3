"""The accounts operations: users, roles, tokens and the audit trail."""

from __future__ import annotations

from typing import Protocol

from shipway.errors import Conflict, PermissionDenied
from shipway.operations.declare import op
from shipway.operations.types import Limit
from shipway.records import Event, Page, Token, User


class Accounts(Protocol):
    @op("GET", "/users", role="admin", key="users")
    def list_users(self) -> list[User]:
        """Every user, by name."""
        ...

    @op("POST", "/users", role="admin", status=201, event="create", errors=(Conflict,))
    def create_user(self, name: str, role: str = "viewer") -> User:
        """Create a user with a role (viewer, data-scientist, developer, admin)."""
        ...

    @op("PATCH", "/users/{name}", role="admin", event="set_role")
    def set_role(self, name: str, role: str) -> User:
        """Change a user's role."""
        ...

    @op(
        "POST",
        "/users/{user}/tokens",
        role="viewer",
        status=201,
        event="create",
        errors=(PermissionDenied,),
    )
    def create_token(self, user: str) -> Token:
        """A new token for ``user`` (its secret is shown once); only admins create tokens
        for other users."""
        ...

    @op("GET", "/tokens", role="admin", key="tokens")
    def list_tokens(self, user: str | None = None) -> list[Token]:
        """Tokens (never their secrets), of one user or all."""
        ...

    @op("DELETE", "/tokens/{token_id}", role="admin", event="revoke")
    def revoke_token(self, token_id: str) -> None:
        """Revoke a token."""
        ...

    @op("GET", "/events", role="admin", key="events")
    def list_events(
        self,
        *,
        limit: Limit = 100,
        cursor: str | None = None,
        object_type: str | None = None,
        object_id: str | None = None,
        actor: str | None = None,
    ) -> Page[Event]:
        """The audit trail, oldest first, a page at a time."""
        ...
