"""Users and tokens repository. Tokens are stored as SHA-256 hashes, never in clear."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipway.records import Token, User
from shipway.store.tables import tokens, users


def _user(row: Any) -> User:
    return User(name=row.name, role=row.role, created_at=row.created_at)


def insert_user(conn: Connection, name: str, role: str, now: int) -> User:
    conn.execute(users.insert().values(name=name, role=role, created_at=now))
    return User(name=name, role=role, created_at=now)


def user_by_name(conn: Connection, name: str) -> tuple[int, User] | None:
    row = conn.execute(sa.select(users).where(users.c.name == name)).first()
    return (row.id, _user(row)) if row else None


def set_role(conn: Connection, user_id: int, role: str) -> None:
    conn.execute(users.update().where(users.c.id == user_id).values(role=role))


def list_users(conn: Connection) -> list[User]:
    return [_user(r) for r in conn.execute(sa.select(users).order_by(users.c.name))]


def insert_token(conn: Connection, token_id: str, user_id: int, digest: str, now: int) -> None:
    conn.execute(tokens.insert().values(id=token_id, user_id=user_id, hash=digest, created_at=now))


def user_for_token(conn: Connection, digest: str) -> User | None:
    row = conn.execute(
        sa.select(users)
        .join(tokens, tokens.c.user_id == users.c.id)
        .where(tokens.c.hash == digest, tokens.c.revoked == sa.false())
    ).first()
    return _user(row) if row else None


def list_tokens(conn: Connection, user_id: int | None = None) -> list[Token]:
    query = sa.select(tokens.c.id, tokens.c.created_at, tokens.c.revoked, users.c.name).join(
        users, users.c.id == tokens.c.user_id
    )
    if user_id is not None:
        query = query.where(tokens.c.user_id == user_id)
    return [
        Token(id=r.id, user=r.name, created_at=r.created_at, revoked=bool(r.revoked))
        for r in conn.execute(query.order_by(tokens.c.created_at))
    ]


def revoke_token(conn: Connection, token_id: str) -> int:
    return conn.execute(
        tokens.update().where(tokens.c.id == token_id).values(revoked=True)
    ).rowcount
