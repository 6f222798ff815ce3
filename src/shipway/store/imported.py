"""What an import brought in: (source, kind, id there) -> id here."""

from __future__ import annotations

import time

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipway.store.tables import imported


def local_id(conn: Connection, source: str, kind: str, external_id: str) -> str | None:
    found = conn.execute(
        sa.select(imported.c.local_id).where(
            imported.c.source == source,
            imported.c.kind == kind,
            imported.c.external_id == external_id,
        )
    ).scalar()
    return None if found is None else str(found)


def record(conn: Connection, source: str, kind: str, external_id: str, local: str) -> None:
    """Record it once (a second record of the same thing keeps the first)."""
    if local_id(conn, source, kind, external_id) is not None:
        return
    conn.execute(
        _INSERT,
        {
            "source": source,
            "kind": kind,
            "external_id": external_id,
            "local_id": local,
            "imported_at": int(time.time() * 1000),
        },
    )


_INSERT = imported.insert()
