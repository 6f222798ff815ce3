"""Monitoring repository: feedback labels, reference and window profiles, the profiled
segments, each model's monitor state, and alerts.

Functions take an open connection (``db.read()`` / ``db.write()``) and speak in rows and
bytes: profiles are stored as the bytes of ``monitoring.sketches.Profile`` and merged by
the caller, so this layer knows nothing of sketches.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipway.records import Alert
from shipway.store.tables import (
    alerts,
    feedback,
    monitor_profiles,
    monitor_segments,
    monitor_state,
    reference_profiles,
)
from shipway.store.upsert import insert_missing

CHUNK = 500  # request ids per IN (...) query

# feedback ------------------------------------------------------------------------------


def feedback_of(
    conn: Connection, model: str, request_ids: Sequence[str]
) -> dict[tuple[str, int], tuple[int, str]]:
    """The stored labels of these requests: ``(request_id, row) -> (id, label)``."""
    out: dict[tuple[str, int], tuple[int, str]] = {}
    t = feedback
    for first in range(0, len(request_ids), CHUNK):
        rows = conn.execute(
            sa.select(t.c.id, t.c.request_id, t.c.row, t.c.label).where(
                t.c.model == model, t.c.request_id.in_(request_ids[first : first + CHUNK])
            )
        )
        out.update({(r.request_id, r.row): (r.id, r.label) for r in rows})
    return out


def relabel(conn: Connection, feedback_id: int, label: str, received: int, actor: str) -> None:
    conn.execute(
        feedback.update()
        .where(feedback.c.id == feedback_id)
        .values(label=label, received_at=received, created_by=actor)
    )


def add_feedback(conn: Connection, rows: list[dict[str, Any]]) -> None:
    insert_missing(conn, feedback, rows, ["model", "request_id", "row"])


def labels(conn: Connection, model: str) -> list[Any]:
    """Every label of the model: rows of ``request_id``, ``row``, ``label`` (JSON)."""
    t = feedback
    return list(
        conn.execute(sa.select(t.c.request_id, t.c.row, t.c.label).where(t.c.model == model))
    )


# reference profiles ----------------------------------------------------------------------


def reference(conn: Connection, model: str, version: int) -> Any:
    """The stored reference row (``data``, ``dataset``) or None."""
    t = reference_profiles
    return conn.execute(sa.select(t).where(t.c.model == model, t.c.version == version)).first()


def replace_reference(
    conn: Connection, model: str, version: int, dataset: str, data: bytes, now: int
) -> None:
    t = reference_profiles
    conn.execute(t.delete().where(t.c.model == model, t.c.version == version))
    conn.execute(
        t.insert().values(model=model, version=version, dataset=dataset, data=data, created_at=now)
    )


# monitor state and profiled segments ---------------------------------------------------


def lock(conn: Connection, model: str) -> None:
    """Serialise with other monitor runs of this model (its state row, FOR UPDATE)."""
    t = monitor_state
    conn.execute(sa.select(t.c.model).where(t.c.model == model).with_for_update()).first()


def ensure_state(conn: Connection, model: str, bucket_seconds: int) -> None:
    """The model's state row with this bucket size; a different size (the contract changed
    its windows) drops the stored profiles so they are built again."""
    t = monitor_state
    insert_missing(conn, t, [{"model": model, "bucket_seconds": bucket_seconds}], ["model"])
    state = conn.execute(sa.select(t).where(t.c.model == model)).one()
    if state.bucket_seconds != bucket_seconds:
        conn.execute(t.update().where(t.c.model == model).values(bucket_seconds=bucket_seconds))
        conn.execute(monitor_profiles.delete().where(monitor_profiles.c.model == model))
        conn.execute(monitor_segments.delete().where(monitor_segments.c.model == model))


def ran(conn: Connection, model: str, now: int) -> None:
    t = monitor_state
    conn.execute(t.update().where(t.c.model == model).values(last_run_at=now))


def profiled(conn: Connection, model: str) -> set[int]:
    """Ids of the prediction-log segments already profiled."""
    t = monitor_segments
    return set(conn.execute(sa.select(t.c.segment_id).where(t.c.model == model)).scalars())


def mark_profiled(conn: Connection, model: str, segment_ids: Iterable[int], now: int) -> None:
    """List segments as profiled (an IntegrityError: another run listed one first)."""
    rows = [{"segment_id": i, "model": model, "profiled_at": now} for i in segment_ids]
    conn.execute(monitor_segments.insert(), rows)


# window profiles -----------------------------------------------------------------------


def bucket(
    conn: Connection, model: str, version: int, arm: str, start: int, bucket_seconds: int
) -> Any:
    """The stored bucket (``id``, ``data``) or None."""
    t = monitor_profiles
    return conn.execute(
        sa.select(t.c.id, t.c.data).where(
            t.c.model == model,
            t.c.version == version,
            t.c.arm == arm,
            t.c.bucket_start == start,
            t.c.bucket_seconds == bucket_seconds,
        )
    ).first()


def add_bucket(
    conn: Connection,
    model: str,
    key: tuple[int, str, int],
    bucket_seconds: int,
    rows: int,
    data: bytes,
    now: int,
) -> None:
    version, arm, start = key
    conn.execute(
        monitor_profiles.insert().values(
            model=model,
            version=version,
            arm=arm,
            bucket_start=start,
            bucket_seconds=bucket_seconds,
            rows=rows,
            data=data,
            updated_at=now,
        )
    )


def update_bucket(conn: Connection, bucket_id: int, rows: int, data: bytes, now: int) -> None:
    t = monitor_profiles
    conn.execute(t.update().where(t.c.id == bucket_id).values(rows=rows, data=data, updated_at=now))


def buckets(conn: Connection, model: str, start: int, end: int) -> list[Any]:
    """Rows (``bucket_start``, ``version``, ``arm``, ``data``) of buckets starting in
    [start, end), oldest first."""
    t = monitor_profiles
    return list(
        conn.execute(
            sa.select(t.c.bucket_start, t.c.version, t.c.arm, t.c.data)
            .where(t.c.model == model, t.c.bucket_start >= start, t.c.bucket_start < end)
            .order_by(t.c.bucket_start)
        )
    )


# alerts --------------------------------------------------------------------------------


def fired_since(conn: Connection, model: str, rule: str, version: int, since: int) -> bool:
    """Whether the rule fired for this version after ``since`` (its cooldown)."""
    t = alerts
    return (
        conn.execute(
            sa.select(t.c.id).where(
                t.c.model == model, t.c.rule == rule, t.c.version == version, t.c.fired_at > since
            )
        ).first()
        is not None
    )


def add_alert(conn: Connection, values: Mapping[str, Any]) -> int:
    """Insert an open alert; its id."""
    row = dict(values) | {
        "status": "open",
        "action": "none",
        "evidence": orjson.dumps(values["evidence"], option=orjson.OPT_SERIALIZE_NUMPY).decode(),
    }
    return int(conn.execute(alerts.insert().values(**row)).inserted_primary_key[0])  # type: ignore[index]


def set_action(
    conn: Connection,
    alert_id: int,
    action: str,
    result: Mapping[str, Any],
    webhook: Mapping[str, Any],
) -> None:
    conn.execute(
        alerts.update()
        .where(alerts.c.id == alert_id)
        .values(
            action=action,
            action_result=orjson.dumps(result).decode(),
            webhook=orjson.dumps(webhook).decode(),
        )
    )


def ack(conn: Connection, alert_id: int, actor: str, now: int, comment: str) -> None:
    conn.execute(
        alerts.update()
        .where(alerts.c.id == alert_id)
        .values(status="acked", acked_by=actor, acked_at=now, ack_comment=comment)
    )


def alert(conn: Connection, alert_id: int) -> Alert | None:
    row = conn.execute(sa.select(alerts).where(alerts.c.id == alert_id)).first()
    return None if row is None else _alert(row)


def list_alerts(conn: Connection, model: str | None, status: str | None, limit: int) -> list[Alert]:
    """Alerts newest first, of one model and/or one status."""
    query = sa.select(alerts).order_by(alerts.c.id.desc()).limit(limit)
    if model:
        query = query.where(alerts.c.model == model)
    if status:
        query = query.where(alerts.c.status == status)
    return [_alert(r) for r in conn.execute(query)]


def _alert(row: Any) -> Alert:
    return Alert(
        id=row.id,
        model=row.model,
        version=row.version,
        rule=row.rule,
        severity=row.severity,
        status=row.status,
        message=row.message,
        evidence=orjson.loads(row.evidence),
        window_start=row.window_start,
        window_end=row.window_end,
        action=row.action,
        action_result=orjson.loads(row.action_result),
        webhook=orjson.loads(row.webhook),
        fired_at=row.fired_at,
        acked_by=row.acked_by,
        acked_at=row.acked_at,
        ack_comment=row.ack_comment,
    )
