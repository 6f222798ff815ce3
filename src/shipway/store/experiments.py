"""Experiments repository."""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipway.records import Experiment
from shipway.store.tables import experiments


def _record(row: Any) -> Experiment:
    return Experiment(
        id=row.id,
        name=row.name,
        description=row.description,
        created_at=row.created_at,
        created_by=row.created_by,
        tags=orjson.loads(row.tags or "{}"),
        deleted=bool(row.deleted),
    )


def insert(conn: Connection, name: str, description: str, now: int, actor: str) -> Experiment:
    new_id = conn.execute(
        experiments.insert()
        .values(name=name, description=description, created_at=now, created_by=actor)
        .returning(experiments.c.id)
    ).scalar_one()
    return Experiment(new_id, name, description, now, actor)


def by_name(conn: Connection, name: str) -> Experiment | None:
    row = conn.execute(sa.select(experiments).where(experiments.c.name == name)).first()
    return _record(row) if row else None


def by_id(conn: Connection, experiment_id: int) -> Experiment | None:
    row = conn.execute(sa.select(experiments).where(experiments.c.id == experiment_id)).first()
    return _record(row) if row else None


def page(conn: Connection, after_id: int, limit: int) -> list[Experiment]:
    rows = conn.execute(
        sa.select(experiments)
        .where(experiments.c.id > after_id)
        .order_by(experiments.c.id)
        .limit(limit)
    )
    return [_record(r) for r in rows]


def update(conn: Connection, experiment_id: int, values: dict[str, Any]) -> None:
    conn.execute(experiments.update().where(experiments.c.id == experiment_id).values(**values))
