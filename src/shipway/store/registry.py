"""Model registry repository: registered models, versions, aliases and alias events."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipway.records import AliasEvent, ModelVersion, RegisteredModel
from shipway.store.tables import (
    alias_events,
    model_aliases,
    model_versions,
    registered_models,
    runs,
)
from shipway.store.upsert import insert_missing, upsert


def model_row(conn: Connection, name: str, *, lock: bool = False) -> Any:
    query = sa.select(registered_models).where(registered_models.c.name == name)
    if lock:  # serialises alias moves on PostgreSQL (SQLite writers are serial already)
        query = query.with_for_update()
    return conn.execute(query).first()


def ensure_model(conn: Connection, name: str, now: int, actor: str) -> int:
    insert_missing(
        conn,
        registered_models,
        [{"name": name, "created_at": now, "created_by": actor}],
        ["name"],
    )
    row = model_row(conn, name)
    return int(row.id)


def update_model(conn: Connection, model_id: int, values: Mapping[str, Any]) -> None:
    conn.execute(
        registered_models.update().where(registered_models.c.id == model_id).values(**values)
    )


def aliases_of(conn: Connection, model_id: int) -> dict[str, int]:
    rows = conn.execute(
        sa.select(model_aliases.c.alias, model_aliases.c.version).where(
            model_aliases.c.model_id == model_id
        )
    )
    return {r.alias: r.version for r in rows}


def model_record(conn: Connection, row: Any) -> RegisteredModel:
    latest = conn.execute(
        sa.select(sa.func.max(model_versions.c.version)).where(model_versions.c.model_id == row.id)
    ).scalar()
    return RegisteredModel(
        name=row.name,
        description=row.description,
        owners=orjson.loads(row.owners),
        tags=orjson.loads(row.tags),
        created_at=row.created_at,
        created_by=row.created_by,
        latest_version=latest,
        aliases=dict(sorted(aliases_of(conn, row.id).items())),
    )


def list_models(conn: Connection) -> list[RegisteredModel]:
    rows = conn.execute(sa.select(registered_models).order_by(registered_models.c.name))
    return [model_record(conn, r) for r in rows]


def _versions_query() -> Any:
    return (
        sa.select(model_versions, registered_models.c.name, runs.c.id.label("run_id"))
        .join(registered_models, registered_models.c.id == model_versions.c.model_id)
        .join(runs, runs.c.pk == model_versions.c.run_pk)
    )


def _version(row: Any, aliases: list[str]) -> ModelVersion:
    return ModelVersion(
        name=row.name,
        version=row.version,
        run_id=row.run_id,
        artifact_path=row.artifact_path,
        package_digest=row.package_digest,
        flavor=row.flavor,
        status=row.status,
        description=row.description,
        tags=orjson.loads(row.tags),
        aliases=sorted(aliases),
        created_at=row.created_at,
        created_by=row.created_by,
    )


def versions(conn: Connection, where: Any, order: Any = None) -> list[ModelVersion]:
    rows = list(conn.execute(_versions_query().where(where).order_by(order or model_versions.c.id)))
    by_model: dict[int, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    model_ids = {r.model_id for r in rows}
    if model_ids:
        for a in conn.execute(
            sa.select(model_aliases).where(model_aliases.c.model_id.in_(model_ids))
        ):
            by_model[a.model_id][a.version].append(a.alias)
    return [_version(r, by_model[r.model_id][r.version]) for r in rows]


def version(conn: Connection, model_id: int, number: int) -> ModelVersion | None:
    found = versions(
        conn, (model_versions.c.model_id == model_id) & (model_versions.c.version == number)
    )
    return found[0] if found else None


def version_by_digest(conn: Connection, model_id: int, digest: str) -> ModelVersion | None:
    found = versions(
        conn,
        (model_versions.c.model_id == model_id) & (model_versions.c.package_digest == digest),
    )
    return found[0] if found else None


def next_number(conn: Connection, model_id: int) -> int:
    top = conn.execute(
        sa.select(sa.func.max(model_versions.c.version)).where(
            model_versions.c.model_id == model_id
        )
    ).scalar()
    return int(top or 0) + 1


def insert_version(conn: Connection, values: Mapping[str, Any]) -> None:
    conn.execute(model_versions.insert().values(**values))


def update_version(conn: Connection, model_id: int, number: int, values: Mapping[str, Any]) -> None:
    conn.execute(
        model_versions.update()
        .where(model_versions.c.model_id == model_id, model_versions.c.version == number)
        .values(**values)
    )


def card_sections(conn: Connection, model_id: int, number: int) -> dict[str, str]:
    raw = conn.execute(
        sa.select(model_versions.c.card_sections).where(
            model_versions.c.model_id == model_id, model_versions.c.version == number
        )
    ).scalar()
    return dict(orjson.loads(raw or "{}"))


def set_alias(conn: Connection, model_id: int, alias: str, number: int) -> None:
    upsert(
        conn,
        model_aliases,
        [{"model_id": model_id, "alias": alias, "version": number}],
        ["model_id", "alias"],
    )


def delete_alias(conn: Connection, model_id: int, alias: str) -> None:
    conn.execute(
        model_aliases.delete().where(
            model_aliases.c.model_id == model_id, model_aliases.c.alias == alias
        )
    )


def add_event(conn: Connection, model_id: int, values: Mapping[str, Any]) -> None:
    conn.execute(alias_events.insert().values(model_id=model_id, **values))


def events(conn: Connection, model_id: int, name: str, alias: str | None) -> list[AliasEvent]:
    query = sa.select(alias_events).where(alias_events.c.model_id == model_id)
    if alias:
        query = query.where(alias_events.c.alias == alias)
    return [
        AliasEvent(
            model=name,
            alias=r.alias,
            from_version=r.from_version,
            to_version=r.to_version,
            actor=r.actor,
            reason=r.reason,
            time=r.time,
        )
        for r in conn.execute(query.order_by(alias_events.c.id))
    ]
