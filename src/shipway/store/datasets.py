"""Datasets repository: datasets, their versions, and run inputs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipway.records import Dataset, DatasetVersion, RunInput
from shipway.store.tables import dataset_versions, datasets, run_inputs, runs
from shipway.store.upsert import insert_missing


def _version(row: Any) -> DatasetVersion:
    return DatasetVersion(
        name=row.name,
        version=row.version,
        manifest_digest=row.manifest_digest,
        file_count=row.file_count,
        total_size=row.total_size,
        message=row.message,
        source=row.source,
        created_at=row.created_at,
        created_by=row.created_by,
        run_id=row.run_id,
        git_commit=row.git_commit,
        profile=orjson.loads(row.profile) if row.profile else None,
    )


def _versions_query() -> sa.Select[Any]:
    return (
        sa.select(dataset_versions, datasets.c.name, runs.c.id.label("run_id"))
        .join(datasets, datasets.c.id == dataset_versions.c.dataset_id)
        .outerjoin(runs, runs.c.pk == dataset_versions.c.run_pk)
    )


def dataset_id(conn: Connection, name: str) -> int | None:
    found: int | None = conn.execute(
        sa.select(datasets.c.id).where(datasets.c.name == name)
    ).scalar()
    return found


def insert_dataset(conn: Connection, name: str, now: int, actor: str) -> int:
    insert_missing(
        conn,
        datasets,
        [{"name": name, "description": "", "created_at": now, "created_by": actor}],
        ["name"],
    )
    found = dataset_id(conn, name)
    assert found is not None
    return found


def latest_number(conn: Connection, ds_id: int) -> int:
    top = conn.execute(
        sa.select(sa.func.max(dataset_versions.c.version)).where(
            dataset_versions.c.dataset_id == ds_id
        )
    ).scalar()
    return int(top or 0)


def insert_version(conn: Connection, values: Mapping[str, Any]) -> None:
    row = dict(values)
    if row.get("profile") is not None:
        row["profile"] = orjson.dumps(row["profile"]).decode()
    conn.execute(dataset_versions.insert().values(**row))


def version(conn: Connection, name: str, number: int | None) -> DatasetVersion | None:
    query = _versions_query().where(datasets.c.name == name)
    if number is None:
        query = query.order_by(dataset_versions.c.version.desc()).limit(1)
    else:
        query = query.where(dataset_versions.c.version == number)
    row = conn.execute(query).first()
    return _version(row) if row else None


def version_id(conn: Connection, name: str, number: int) -> int | None:
    found: int | None = conn.execute(
        sa.select(dataset_versions.c.id)
        .join(datasets, datasets.c.id == dataset_versions.c.dataset_id)
        .where(datasets.c.name == name, dataset_versions.c.version == number)
    ).scalar()
    return found


def versions(conn: Connection, name: str) -> list[DatasetVersion]:
    rows = conn.execute(
        _versions_query().where(datasets.c.name == name).order_by(dataset_versions.c.version)
    )
    return [_version(r) for r in rows]


def list_datasets(conn: Connection) -> list[Dataset]:
    latest = (
        sa.select(sa.func.max(dataset_versions.c.version))
        .where(dataset_versions.c.dataset_id == datasets.c.id)
        .scalar_subquery()
    )
    rows = conn.execute(sa.select(datasets, latest.label("latest")).order_by(datasets.c.name))
    return [Dataset(r.name, r.description, r.created_at, r.created_by, r.latest) for r in rows]


def add_input(conn: Connection, run_pk: int, version_id: int, context: str) -> None:
    insert_missing(
        conn,
        run_inputs,
        [{"run_pk": run_pk, "dataset_version_id": version_id, "context": context}],
        ["run_pk", "dataset_version_id", "context"],
    )


def _inputs(conn: Connection, where: Any, *order: Any) -> list[RunInput]:
    """Run inputs matching ``where``: which run read which dataset version, as what."""
    rows = conn.execute(
        sa.select(runs.c.id, datasets.c.name, dataset_versions.c.version, run_inputs.c.context)
        .join(dataset_versions, dataset_versions.c.id == run_inputs.c.dataset_version_id)
        .join(datasets, datasets.c.id == dataset_versions.c.dataset_id)
        .join(runs, runs.c.pk == run_inputs.c.run_pk)
        .where(where)
        .order_by(*order)
    )
    return [RunInput(r.id, r.name, r.version, r.context) for r in rows]


def inputs_of(conn: Connection, run_pk: int) -> list[RunInput]:
    return _inputs(conn, run_inputs.c.run_pk == run_pk, datasets.c.name, dataset_versions.c.version)


def inputs_of_runs(conn: Connection, run_ids: Sequence[str]) -> list[RunInput]:
    """The inputs of many runs in one query, by run id then dataset."""
    return _inputs(
        conn, runs.c.id.in_(list(run_ids)), runs.c.id, datasets.c.name, dataset_versions.c.version
    )


def readers_of(conn: Connection, name: str) -> list[RunInput]:
    """Every run that read any version of dataset ``name``, by version then start."""
    return _inputs(conn, datasets.c.name == name, dataset_versions.c.version, runs.c.start_time)


def runs_using(conn: Connection, version_id: int) -> list[RunInput]:
    return _inputs(conn, run_inputs.c.dataset_version_id == version_id, runs.c.start_time)
