"""Artifacts repository: logical path -> blob digest, per run."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipway.records import Artifact
from shipway.store.tables import artifacts
from shipway.store.upsert import upsert as upsert_rows


def upsert(conn: Connection, run_pk: int, path: str, digest: str, size: int, now: int) -> None:
    row = {"run_pk": run_pk, "path": path, "digest": digest, "size": size, "created_at": now}
    upsert_rows(conn, artifacts, [row], ["run_pk", "path"])


def under(conn: Connection, run_pk: int, prefix: str) -> list[Artifact]:
    """The artifact at ``prefix`` itself, or every artifact below the folder ``prefix``."""
    query = sa.select(artifacts.c.path, artifacts.c.size, artifacts.c.digest).where(
        artifacts.c.run_pk == run_pk
    )
    if prefix:
        # exact, case-sensitive comparisons (SQLite's LIKE ignores case)
        folder = prefix + "/"
        query = query.where(
            sa.or_(
                artifacts.c.path == prefix,
                sa.func.substr(artifacts.c.path, 1, len(folder)) == folder,
            )
        )
    rows = conn.execute(query.order_by(artifacts.c.path))
    return [Artifact(path=r.path, size=r.size, digest=r.digest) for r in rows]
