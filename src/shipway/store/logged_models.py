"""Logged models repository (MLflow's ``logged-models``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipway.records import MlflowLoggedModel
from shipway.store.tables import logged_models, runs

_COLUMNS = (logged_models, runs.c.id.label("run_id"))


def _record(row: Any) -> MlflowLoggedModel:
    return MlflowLoggedModel(
        id=row.id,
        experiment_id=row.experiment_id,
        run_id=row.run_id,
        source_run=bool(row.source_run),
        name=row.name,
        artifact_path=row.artifact_path,
        status=row.status,
        model_type=row.model_type,
        tags=orjson.loads(row.tags or "{}"),
        params=orjson.loads(row.params or "{}"),
        created_at=row.created_at,
        updated_at=row.updated_at,
        created_by=row.created_by,
        deleted=bool(row.deleted),
    )


def _select() -> sa.Select[Any]:
    return sa.select(*_COLUMNS).join(runs, runs.c.pk == logged_models.c.run_pk)


def insert(conn: Connection, values: Mapping[str, Any]) -> None:
    conn.execute(logged_models.insert().values(**values))


def get(conn: Connection, model_id: str) -> MlflowLoggedModel | None:
    row = conn.execute(_select().where(logged_models.c.id == model_id)).first()
    return _record(row) if row else None


def at_path(conn: Connection, run_pk: int, path: str) -> MlflowLoggedModel | None:
    row = conn.execute(
        _select().where(logged_models.c.run_pk == run_pk, logged_models.c.artifact_path == path)
    ).first()
    return _record(row) if row else None


def of_run(conn: Connection, run_pk: int) -> list[MlflowLoggedModel]:
    rows = conn.execute(
        _select().where(logged_models.c.run_pk == run_pk).order_by(logged_models.c.created_at)
    )
    return [_record(r) for r in rows]


def update(conn: Connection, model_id: str, values: Mapping[str, Any]) -> None:
    conn.execute(logged_models.update().where(logged_models.c.id == model_id).values(**values))


def search(
    conn: Connection,
    experiment_ids: Sequence[int],
    *,
    name: str | None,
    run_pk: int | None,
    deleted: bool,
    after: tuple[int, str] | None,
    limit: int,
) -> list[MlflowLoggedModel]:
    """Newest first, then by id; ``after`` is the last (created_at, id) of the page before."""
    query = _select().where(logged_models.c.deleted == deleted)
    if experiment_ids:
        query = query.where(logged_models.c.experiment_id.in_(experiment_ids))
    if name is not None:
        query = query.where(logged_models.c.name == name)
    if run_pk is not None:
        query = query.where(logged_models.c.run_pk == run_pk)
    if after is not None:
        created, last = after
        query = query.where(
            sa.or_(
                logged_models.c.created_at < created,
                sa.and_(logged_models.c.created_at == created, logged_models.c.id > last),
            )
        )
    query = query.order_by(logged_models.c.created_at.desc(), logged_models.c.id).limit(limit)
    return [_record(r) for r in conn.execute(query)]
