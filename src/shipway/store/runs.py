"""Runs repository: runs, their params and tags, and loading full run records."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipway.records import GitInfo, Run
from shipway.store.tables import experiments, latest_metrics, params, runs, tags
from shipway.store.upsert import insert_missing, upsert


def insert(conn: Connection, values: Mapping[str, Any]) -> int:
    pk: int = conn.execute(runs.insert().values(**values).returning(runs.c.pk)).scalar_one()
    return pk


def pk_of(conn: Connection, run_id: str) -> int | None:
    pk: int | None = conn.execute(sa.select(runs.c.pk).where(runs.c.id == run_id)).scalar()
    return pk


def update(conn: Connection, pk: int, values: Mapping[str, Any]) -> None:
    conn.execute(runs.update().where(runs.c.pk == pk).values(**values))


def params_of(conn: Connection, pk: int, keys: Sequence[str]) -> dict[str, str]:
    rows = conn.execute(
        sa.select(params.c.key, params.c.value).where(params.c.run_pk == pk, params.c.key.in_(keys))
    )
    return {r.key: r.value for r in rows}


def insert_params(conn: Connection, pk: int, values: Mapping[str, str]) -> None:
    rows = [{"run_pk": pk, "key": k, "value": v} for k, v in values.items()]
    insert_missing(conn, params, rows, ["run_pk", "key"])


_PARAMS, _TAGS = params.insert(), tags.insert()


def insert_new(
    conn: Connection, pk: int, param_values: Mapping[str, str], tag_values: Mapping[str, str]
) -> None:
    """The params and tags of a run that has none yet (plain inserts, one cached
    statement each: an import writes thousands of runs)."""
    if param_values:
        conn.execute(
            _PARAMS, [{"run_pk": pk, "key": k, "value": v} for k, v in param_values.items()]
        )
    if tag_values:
        conn.execute(_TAGS, [{"run_pk": pk, "key": k, "value": v} for k, v in tag_values.items()])


def upsert_tags(conn: Connection, pk: int, values: Mapping[str, str]) -> None:
    rows = [{"run_pk": pk, "key": k, "value": v} for k, v in values.items()]
    upsert(conn, tags, rows, ["run_pk", "key"])


def delete_tag(conn: Connection, pk: int, key: str) -> int:
    return conn.execute(tags.delete().where(tags.c.run_pk == pk, tags.c.key == key)).rowcount


def load(conn: Connection, pks: Sequence[int]) -> list[Run]:
    """Full run records for ``pks``, in the order given."""
    if not pks:
        return []
    parent = runs.alias("parent")
    rows = conn.execute(
        sa.select(runs, experiments.c.name.label("experiment_name"), parent.c.id.label("parent_id"))
        .join(experiments, experiments.c.id == runs.c.experiment_id)
        .outerjoin(parent, parent.c.pk == runs.c.parent_pk)
        .where(runs.c.pk.in_(pks))
    ).all()
    p = _key_values(conn, params, pks)
    t = _key_values(conn, tags, pks)
    m: dict[int, dict[str, float]] = defaultdict(dict)
    for row in conn.execute(
        sa.select(latest_metrics.c.run_pk, latest_metrics.c.key, latest_metrics.c.value).where(
            latest_metrics.c.run_pk.in_(pks)
        )
    ):
        m[row.run_pk][row.key] = math.nan if row.value is None else row.value
    by_pk = {
        r.pk: Run(
            id=r.id,
            experiment_id=r.experiment_id,
            experiment=r.experiment_name,
            name=r.name,
            description=r.description,
            status=r.status,
            user=r.user,
            start_time=r.start_time,
            end_time=r.end_time,
            parent_id=r.parent_id,
            git=GitInfo(r.git_commit, r.git_branch, r.git_remote, r.git_dirty),
            source=r.source,
            error=r.error,
            deleted=bool(r.deleted),
            params=dict(sorted(p[r.pk].items())),
            metrics=dict(sorted(m[r.pk].items())),
            tags=dict(sorted(t[r.pk].items())),
        )
        for r in rows
    }
    return [by_pk[pk] for pk in pks if pk in by_pk]


def _key_values(conn: Connection, table: sa.Table, pks: Sequence[int]) -> dict[int, dict[str, str]]:
    out: dict[int, dict[str, str]] = defaultdict(dict)
    rows = conn.execute(
        sa.select(table.c.run_pk, table.c.key, table.c.value).where(table.c.run_pk.in_(pks))
    )
    for row in rows:
        out[row.run_pk][row.key] = row.value
    return out
