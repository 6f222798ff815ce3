"""Users, roles and tokens.

Roles are ordered: ``viewer`` reads; ``data-scientist`` also writes runs, datasets and model
versions; ``developer`` also manages deployments; ``admin`` also manages users and tokens.
A token is shown once when created; only its SHA-256 hash is stored (tokens are 32 random
bytes, so a fast hash is enough: there is nothing to brute-force).
"""

from __future__ import annotations

import copy
import hashlib
import secrets
import time

import sqlalchemy as sa

from shipway.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from shipway.records import ROLES, Event, Page, Token, User, positive_int
from shipway.store import accounts as repo
from shipway.store import events
from shipway.store.db import Database

ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}
TOKEN_PREFIX = "swt_"


def now_ms() -> int:
    return int(time.time() * 1000)


def role_allows(role: str, needed: str) -> bool:
    return ROLE_RANK.get(role, -1) >= ROLE_RANK[needed]


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class AccountService:
    def __init__(self, db: Database, actor: str = "unknown", role: str = "admin") -> None:
        self.db = db
        self.actor = actor
        self.role = role  # the caller's account role (admin with authentication off)

    def with_actor(self, actor: str) -> AccountService:
        other = copy.copy(self)
        other.actor = actor
        return other

    def create_user(self, name: str, role: str = "viewer") -> User:
        _check_role(role)
        if (
            not name
            or len(name) > 255
            or not name.replace("-", "").replace("_", "").replace(".", "").isalnum()
        ):
            raise InvalidInput(f"user name {name!r} must be 1-255 letters, digits, '-', '_' or '.'")
        taken = Conflict(
            f"user {name!r} already exists; change a role with `shipway users set-role`"
        )
        try:
            with self.db.write() as conn:
                if repo.user_by_name(conn, name):
                    raise taken
                user = repo.insert_user(conn, name, role, now_ms())
                events.record(conn, self.actor, "create", "user", name, {"role": role})
        except sa.exc.IntegrityError:  # created meanwhile by another writer
            raise taken from None
        return user

    def set_role(self, name: str, role: str) -> User:
        _check_role(role)
        with self.db.write() as conn:
            user_id, user = self._user(conn, name)
            repo.set_role(conn, user_id, role)
            events.record(
                conn, self.actor, "set_role", "user", name, {"from": user.role, "to": role}
            )
        return User(name=name, role=role, created_at=user.created_at)

    def get_user(self, name: str) -> User:
        with self.db.read() as conn:
            return self._user(conn, name)[1]

    def list_users(self) -> list[User]:
        with self.db.read() as conn:
            return repo.list_users(conn)

    def create_token(self, user: str) -> Token:
        if self.role != "admin" and self.actor != user:
            raise PermissionDenied("only admins create tokens for other users")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token_id = secrets.token_hex(4)
        with self.db.write() as conn:
            user_id, _ = self._user(conn, user)
            now = now_ms()
            repo.insert_token(conn, token_id, user_id, hash_token(secret), now)
            events.record(conn, self.actor, "create", "token", token_id, {"user": user})
        return Token(id=token_id, user=user, created_at=now, revoked=False, secret=secret)

    def list_tokens(self, user: str | None = None) -> list[Token]:
        with self.db.read() as conn:
            user_id = self._user(conn, user)[0] if user else None
            return repo.list_tokens(conn, user_id)

    def revoke_token(self, token_id: str) -> None:
        with self.db.write() as conn:
            if not repo.revoke_token(conn, token_id):
                raise NotFound(f"no token {token_id!r}; `shipway tokens list` shows token ids")
            events.record(conn, self.actor, "revoke", "token", token_id)

    def authenticate(self, secret: str) -> User | None:
        with self.db.read() as conn:
            return repo.user_for_token(conn, hash_token(secret))

    def list_events(
        self,
        *,
        limit: int = 100,
        cursor: str | None = None,
        object_type: str | None = None,
        object_id: str | None = None,
        actor: str | None = None,
    ) -> Page[Event]:
        if limit < 1 or limit > 1000:
            raise InvalidInput(f"limit must be from 1 to 1000, got {limit}")
        after = 0
        if cursor:
            after_id = positive_int(cursor[1:]) if cursor.startswith("e") else None
            if after_id is None:
                raise InvalidInput(f"cursor {cursor!r} is not valid; pass next_cursor as given")
            after = after_id
        with self.db.read() as conn:
            items = events.page(
                conn,
                after_id=after,
                limit=limit + 1,
                object_type=object_type,
                object_id=object_id,
                actor=actor,
            )
        if len(items) > limit:
            return Page(items[:limit], f"e{items[limit - 1].id}")
        return Page(items, None)

    def _user(self, conn: object, name: str) -> tuple[int, User]:
        found = repo.user_by_name(conn, name)  # type: ignore[arg-type]
        if found is None:
            raise NotFound(
                f"no user {name!r}; create one with `shipway users create {name} --role viewer`"
            )
        return found


def _check_role(role: str) -> None:
    if role not in ROLE_RANK:
        raise InvalidInput(f"role {role!r} is not one of {', '.join(ROLES)}")
