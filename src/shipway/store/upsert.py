"""Race-free insert-or-update, done by the database (SQLite and PostgreSQL share the syntax)."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def dialect_insert(conn: Connection, table: sa.Table) -> Any:
    """An INSERT with ``on_conflict_do_*`` for the connection's dialect (imported here:
    a SQLite home never loads the PostgreSQL dialect)."""
    name = "postgresql" if conn.dialect.name == "postgresql" else "sqlite"
    return importlib.import_module(f"sqlalchemy.dialects.{name}").insert(table)


def upsert(
    conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> None:
    """Insert ``rows``; where a row with the same ``keys`` exists, overwrite its other columns."""
    if not rows:
        return
    stmt = dialect_insert(conn, table).values(list(rows))
    others = [c for c in rows[0] if c not in keys]
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[table.c[k] for k in keys],
            set_={c: stmt.excluded[c] for c in others},
        )
    )


def insert_missing(
    conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> None:
    """Insert ``rows``, skipping those whose ``keys`` already exist."""
    if rows:
        stmt = dialect_insert(conn, table).values(list(rows))
        conn.execute(stmt.on_conflict_do_nothing(index_elements=[table.c[k] for k in keys]))
