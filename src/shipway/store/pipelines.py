"""Rows of the pipeline tables that more than one service writes: a queued pipeline run
(the pipeline service, the monitor's retraining action) and reading a pipeline's id."""

from __future__ import annotations

import time
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipway.errors import NotFound
from shipway.store.tables import pipeline_runs, pipelines


def pipeline_row(conn: Connection, name: str) -> Any:
    row = conn.execute(sa.select(pipelines).where(pipelines.c.name == name)).first()
    if row is None:
        raise NotFound(
            f"pipeline {name!r} is not known; run it once with "
            f"'shipway pipelines run FILE.py' (or shipway.yaml) so the platform records it"
        )
    return row


def queue_run(
    conn: Connection,
    name: str,
    trigger: str,
    detail: dict[str, Any],
    actor: str,
    params: dict[str, Any] | None = None,
) -> int:
    """Queue a run of pipeline ``name`` (the server's scheduler starts it); its id."""
    row = pipeline_row(conn, name)
    result = conn.execute(
        pipeline_runs.insert().values(
            pipeline_id=row.id,
            status="queued",
            trigger=trigger,
            trigger_detail=orjson.dumps(detail).decode(),
            params=orjson.dumps(params or {}).decode(),
            requested_at=int(time.time() * 1000),
            created_by=actor,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])
