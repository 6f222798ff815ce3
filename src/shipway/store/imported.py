"""What an import brought in: (source, kind, id there) -> id here."""

from __future__ import annotations

import time

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipway.store.tables import imported
from shipway.store.upsert import insert_missing

imported_table = imported  # for callers that hold a name "imported" already


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
    insert_missing(
        conn,
        imported,
        [
            {
                "source": source,
                "kind": kind,
                "external_id": external_id,
                "local_id": local,
                "imported_at": int(time.time() * 1000),
            }
        ],
        ["source", "kind", "external_id"],
    )
