"""Metric series repository: chunked series and the latest value per key.

A chunk holds one key's points from one logged batch as packed little-endian arrays
(float64 values, int64 steps, int64 millisecond timestamps).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipway.records import Series, pack, unpack
from shipway.store.tables import latest_metrics, metric_chunks, runs
from shipway.store.upsert import dialect_insert


def insert_chunks(conn: Connection, run_pk: int, batch: Mapping[str, Series]) -> None:
    rows = [
        {
            "run_pk": run_pk,
            "key": key,
            "count": len(s),
            "min_step": min(s.steps),
            "max_step": max(s.steps),
            "values": pack(s.values),
            "steps": pack(s.steps),
            "timestamps": pack(s.timestamps),
        }
        for key, s in batch.items()
        if len(s)
    ]
    if rows:
        conn.execute(metric_chunks.insert(), rows)
    _update_latest(conn, run_pk, batch)


def _last_point(s: Series) -> tuple[int, int, float]:
    """The point with the highest step, then the latest timestamp: (step, timestamp, value)."""
    top = max(s.steps)
    best = max((s.timestamps[i], i) for i, step in enumerate(s.steps) if step == top)[1]
    return s.steps[best], s.timestamps[best], s.values[best]


def _update_latest(conn: Connection, run_pk: int, batch: Mapping[str, Series]) -> None:
    """Upsert the latest point per key; an older point never replaces a newer one, even when
    two writers race (the comparison happens inside the database)."""
    rows = []
    for key, s in batch.items():
        if len(s):
            step, ts, value = _last_point(s)
            stored = None if math.isnan(value) else value
            rows.append(
                {"run_pk": run_pk, "key": key, "value": stored, "step": step, "timestamp": ts}
            )
    if not rows:
        return
    conn.execute(_latest_upsert(conn), rows)  # one cached statement, many rows


_UPSERTS: dict[str, Any] = {}


def _latest_upsert(conn: Connection) -> Any:
    """The latest-point upsert, built once per dialect: SQLAlchemy then finds its compiled
    form in the cache instead of building a statement for every batch."""
    if conn.dialect.name not in _UPSERTS:
        stmt = dialect_insert(conn, latest_metrics)
        new = stmt.excluded
        table = latest_metrics.c
        _UPSERTS[conn.dialect.name] = stmt.on_conflict_do_update(
            index_elements=[table.run_pk, table.key],
            set_={"value": new.value, "step": new.step, "timestamp": new.timestamp},
            where=sa.or_(
                table.step < new.step,
                sa.and_(table.step == new.step, table.timestamp <= new.timestamp),
            ),
        )
    return _UPSERTS[conn.dialect.name]


def history(conn: Connection, run_pk: int, key: str) -> Iterator[tuple[float, int, int]]:
    """Every point of one series in logged order, as (value, step, timestamp)."""
    for values, steps, stamps in chunks(conn, run_pk, key):
        yield from zip(unpack("d", values), unpack("q", steps), unpack("q", stamps), strict=True)


def chunks(conn: Connection, run_pk: int, key: str) -> list[tuple[bytes, bytes, bytes]]:
    """One series' stored chunks in logged order, as packed (values, steps, timestamps)."""
    rows = conn.execute(
        sa.select(
            metric_chunks.c["values"], metric_chunks.c["steps"], metric_chunks.c["timestamps"]
        )
        .where(metric_chunks.c.run_pk == run_pk, metric_chunks.c.key == key)
        .order_by(metric_chunks.c.id)
    )
    return [(bytes(r[0]), bytes(r[1]), bytes(r[2])) for r in rows]


def latest_steps(conn: Connection, run_ids: Sequence[str]) -> dict[str, dict[str, tuple[int, int]]]:
    """The step and timestamp of each run's latest point per key, in one query."""
    found: dict[str, dict[str, tuple[int, int]]] = {}
    if not run_ids:
        return found
    rows = conn.execute(
        sa.select(
            runs.c.id, latest_metrics.c.key, latest_metrics.c.step, latest_metrics.c.timestamp
        )
        .join(runs, runs.c.pk == latest_metrics.c.run_pk)
        .where(runs.c.id.in_(list(run_ids)))
    )
    for run_id, key, step, timestamp in rows:
        found.setdefault(run_id, {})[key] = (int(step), int(timestamp))
    return found


def keys(conn: Connection, run_pk: int) -> Sequence[str]:
    return list(
        conn.execute(
            sa.select(latest_metrics.c.key)
            .where(latest_metrics.c.run_pk == run_pk)
            .order_by(latest_metrics.c.key)
        ).scalars()
    )


def count(conn: Connection, run_pk: int) -> int:
    total = conn.execute(
        sa.select(sa.func.coalesce(sa.func.sum(metric_chunks.c.count), 0)).where(
            metric_chunks.c.run_pk == run_pk
        )
    ).scalar_one()
    return int(total)
