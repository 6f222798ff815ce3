"""Emptying a test database between tests (every table, identities reset)."""

from __future__ import annotations

import sqlalchemy as sa

from shipway.store.tables import metadata


def empty_database(url: str) -> None:
    """Delete every shipway row in the PostgreSQL database at ``url`` (tables are kept)."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        present = set(sa.inspect(conn).get_table_names())
        names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables if t.name in present)
        if names:
            conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    engine.dispose()
