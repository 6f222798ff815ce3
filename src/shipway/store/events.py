"""Audit events: who did what to which object, when. Written in the same transaction as
the change they record, so an event exists exactly when its change does."""

from __future__ import annotations

import time
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipway.records import Event
from shipway.store.tables import events

_INSERT = events.insert()


def record(
    conn: Connection,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    details: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        _INSERT,  # one statement, its compiled form cached: events are written on every write
        {
            "time": int(time.time() * 1000),
            "actor": actor,
            "action": action,
            "object_type": object_type,
            "object_id": str(object_id),
            "details": orjson.dumps(details or {}, option=orjson.OPT_SERIALIZE_NUMPY).decode(),
        },
    )


def page(
    conn: Connection,
    *,
    after_id: int,
    limit: int,
    object_type: str | None = None,
    object_id: str | None = None,
    actor: str | None = None,
) -> list[Event]:
    query = sa.select(events).where(events.c.id > after_id)
    if object_type:
        query = query.where(events.c.object_type == object_type)
    if object_id:
        query = query.where(events.c.object_id == object_id)
    if actor:
        query = query.where(events.c.actor == actor)
    rows = conn.execute(query.order_by(events.c.id).limit(limit))
    return [
        Event(
            id=r.id,
            time=r.time,
            actor=r.actor,
            action=r.action,
            object_type=r.object_type,
            object_id=r.object_id,
            details=orjson.loads(r.details),
        )
        for r in rows
    ]
