"""The platform's side of pipelines: which pipelines exist and where their definitions live,
the step cache (what each step produced under each key), pipeline runs and what started
them, and the schedules that start them by themselves.

Steps execute elsewhere (``shipway.runner``, on Dask workers); they reach this service
through the declared operations, in-process or over HTTP, so a worker on another machine
reads and records the same cache.

>>> service.lookup(["9f2c…"])                     # the cached entries among these keys
>>> service.schedule("churn", cron="0 3 * * *")   # every day at 03:00 UTC
>>> service.tick(now_ms)                          # queue the runs that are due
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipway.errors import Conflict, InvalidInput, MissingDependency, NotFound
from shipway.records import (
    PIPELINE_RUN_STATUSES,
    PIPELINE_TRIGGERS,
    CachedStep,
    Pipeline,
    PipelineRun,
    Schedule,
)
from shipway.store import events
from shipway.store import runs as runs_repo
from shipway.store.db import Database
from shipway.store.pipelines import pipeline_row, queue_run
from shipway.store.tables import (
    dataset_versions,
    datasets,
    pipeline_cache,
    pipeline_runs,
    pipeline_schedules,
    pipelines,
    runs,
)
from shipway.tracking.validation import check_slug

MAX_RUNS = 1000
MAX_KEYS = 1000
# pipeline runs and schedules with their pipeline's name
_RUNS = sa.select(pipeline_runs, pipelines.c.name).join(
    pipelines, pipelines.c.id == pipeline_runs.c.pipeline_id
)
_SCHEDULES = sa.select(pipeline_schedules, pipelines.c.name).join(
    pipelines, pipelines.c.id == pipeline_schedules.c.pipeline_id
)


def _now() -> int:
    return int(time.time() * 1000)


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _pipeline(row: Any) -> Pipeline:
    return Pipeline(
        name=row.name,
        source=row.source,
        project=row.project,
        experiment=row.experiment,
        steps=orjson.loads(row.steps),
        created_at=row.created_at,
        created_by=row.created_by,
        updated_at=row.updated_at,
    )


def _run(row: Any, name: str) -> PipelineRun:
    return PipelineRun(
        id=row.id,
        pipeline=name,
        run_id=row.run_id,
        status=row.status,
        trigger=row.trigger,
        trigger_detail=orjson.loads(row.trigger_detail),
        params=orjson.loads(row.params),
        outcome=row.outcome,
        steps=orjson.loads(row.steps),
        error=row.error,
        requested_at=row.requested_at,
        started_at=row.started_at,
        ended_at=row.ended_at,
        created_by=row.created_by,
    )


def _cached(row: Any) -> CachedStep:
    return CachedStep(
        key=row.key,
        pipeline=row.pipeline,
        step=row.step,
        run_id=row.run_id,
        output=orjson.loads(row.output),
        components=orjson.loads(row.components),
        duration_ms=row.duration_ms,
        created_at=row.created_at,
    )


def _schedule(row: Any, name: str) -> Schedule:
    return Schedule(
        id=row.id,
        pipeline=name,
        kind=row.kind,
        spec=row.spec,
        params=orjson.loads(row.params),
        last_fired=row.last_fired,
        seen=row.seen,
        created_at=row.created_at,
        created_by=row.created_by,
    )


def check_cron(expression: str) -> str:
    """A five-field cron expression (UTC), or ``InvalidInput`` saying what is wrong."""
    try:
        from croniter import croniter
    except ImportError:
        raise MissingDependency(
            "cron schedules need croniter: pip install 'shipway[pipelines]'"
        ) from None
    text = " ".join(str(expression).split())
    if len(text.split()) != 5 or not croniter.is_valid(text):
        raise InvalidInput(
            f"cron expression {expression!r} is not valid: give five fields, "
            "minute hour day-of-month month day-of-week (e.g. '0 3 * * *', every day at 03:00 UTC)",
            details={"field": "cron"},
        )
    return text


def next_fire(expression: str, after_ms: int) -> int:
    """The first time (ms, UTC) after ``after_ms`` the cron expression names."""
    from datetime import UTC, datetime

    from croniter import croniter

    start = datetime.fromtimestamp(after_ms / 1000, tz=UTC)
    nxt: datetime = croniter(expression, start).get_next(datetime)
    return int(nxt.timestamp() * 1000)


class PipelineService:
    def __init__(self, db: Database, actor: str = "unknown") -> None:
        self.db = db
        self.actor = actor

    def with_actor(self, actor: str) -> PipelineService:
        other = copy.copy(self)
        other.actor = actor
        return other

    # pipelines ------------------------------------------------------------------------

    def register(
        self,
        name: str,
        source: str,
        project: str,
        *,
        experiment: str | None = None,
        steps: Sequence[Mapping[str, Any]] = (),
    ) -> Pipeline:
        check_slug("pipeline", name)
        if not source:
            raise InvalidInput("a pipeline needs its source (FILE.py[:ATTR] or shipway.yaml)")
        now = _now()
        values = {
            "source": source,
            "project": project,
            "experiment": experiment or name,
            "steps": _json([dict(s) for s in steps]),
            "updated_at": now,
        }
        with self.db.write() as conn:
            row = conn.execute(sa.select(pipelines.c.id).where(pipelines.c.name == name)).first()
            if row is None:
                try:
                    with conn.begin_nested():
                        conn.execute(
                            pipelines.insert().values(
                                name=name, created_at=now, created_by=self.actor, **values
                            )
                        )
                except sa.exc.IntegrityError:  # a concurrent first run registered it
                    pass
                else:
                    events.record(conn, self.actor, "create", "pipeline", name, {"source": source})
            conn.execute(pipelines.update().where(pipelines.c.name == name).values(**values))
            return _pipeline(pipeline_row(conn, name))

    def get(self, name: str) -> Pipeline:
        with self.db.read() as conn:
            return _pipeline(pipeline_row(conn, name))

    def list_pipelines(self) -> list[Pipeline]:
        with self.db.read() as conn:
            rows = conn.execute(sa.select(pipelines).order_by(pipelines.c.name))
            return [_pipeline(r) for r in rows]

    # the step cache -------------------------------------------------------------------

    def lookup(self, keys: Sequence[str]) -> list[CachedStep]:
        """The cache entries among ``keys`` (missing keys are simply absent)."""
        if len(keys) > MAX_KEYS:
            raise InvalidInput(f"look up at most {MAX_KEYS} keys at a time, got {len(keys)}")
        if not keys:
            return []
        with self.db.read() as conn:
            rows = conn.execute(sa.select(pipeline_cache).where(pipeline_cache.c.key.in_(keys)))
            return [_cached(r) for r in rows]

    def record_step(
        self,
        pipeline: str,
        step: str,
        key: str,
        run_id: str,
        output: Mapping[str, Any],
        components: Mapping[str, Any],
        duration_ms: int = 0,
    ) -> CachedStep:
        """Record what a step produced under ``key``; a key recorded before keeps its first
        entry (two workers that ran the same step agree on its outputs' place)."""
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise InvalidInput(f"cache key {key!r} is not 64 hex digits", details={"field": "key"})
        if output.get("kind") not in ("none", "value", "path"):
            raise InvalidInput(
                "a step output's kind is one of none, value, path", details={"field": "output"}
            )
        with self.db.write() as conn:
            try:
                with conn.begin_nested():
                    conn.execute(
                        pipeline_cache.insert().values(
                            key=key,
                            pipeline=pipeline,
                            step=step,
                            run_id=run_id,
                            output=_json(dict(output)),
                            components=_json(dict(components)),
                            duration_ms=max(0, int(duration_ms)),
                            created_at=_now(),
                        )
                    )
            except sa.exc.IntegrityError:
                pass
            row = conn.execute(sa.select(pipeline_cache).where(pipeline_cache.c.key == key)).one()
            return _cached(row)

    def record_hits(
        self, pipeline: str, run: int, parent_id: str, hits: Sequence[Mapping[str, Any]]
    ) -> list[str]:
        """Record steps reused from the cache as finished nested runs of ``parent_id``, in
        one transaction: ``hits`` are ``{"step", "key", "cached_from"}``; the new run ids,
        in order. (A cached re-run of a long pipeline costs one write, not one per step.)"""
        if len(hits) > MAX_KEYS:
            raise InvalidInput(f"record at most {MAX_KEYS} hits at a time, got {len(hits)}")
        with self.db.write() as conn:
            parent = conn.execute(
                sa.select(runs.c.pk, runs.c.experiment_id).where(runs.c.id == parent_id)
            ).first()
            if parent is None:
                raise NotFound(f"no run with id {parent_id!r}")
            now = _now()
            made = []
            for hit in hits:
                step, key, source = str(hit["step"]), str(hit["key"]), str(hit["cached_from"])
                run_id = uuid.uuid4().hex
                pk = runs_repo.insert(
                    conn,
                    {
                        "id": run_id,
                        "experiment_id": parent.experiment_id,
                        "name": step[:255],
                        "description": "",
                        "status": "finished",
                        "user": self.actor,
                        "start_time": now,
                        "end_time": now,
                        "parent_pk": parent.pk,
                    },
                )
                runs_repo.upsert_tags(
                    conn,
                    pk,
                    {
                        "shipway.pipeline": pipeline,
                        "shipway.pipeline_run": str(run),
                        "shipway.step": step,
                        "shipway.cache": "hit",
                        "shipway.cache_key": key,
                        "shipway.cached_from": source,
                    },
                )
                made.append(run_id)
            events.record(
                conn,
                self.actor,
                "record_hits",
                "pipeline",
                pipeline,
                {"run": run, "hits": len(made)},
            )
            return made

    def latest_steps(self, name: str) -> list[CachedStep]:
        """The newest cache entry of each of the pipeline's steps: what ``status`` compares
        the current keys' components with to say why a step is stale."""
        c = pipeline_cache.c
        newest = (
            sa.select(c.step, sa.func.max(c.created_at).label("at"))
            .where(c.pipeline == name)
            .group_by(c.step)
            .subquery()
        )
        query = (
            sa.select(pipeline_cache)
            .join(newest, sa.and_(c.step == newest.c.step, c.created_at == newest.c.at))
            .where(c.pipeline == name)
            .order_by(c.step, c.key)
        )
        with self.db.read() as conn:
            found: dict[str, CachedStep] = {}
            for row in conn.execute(query):
                found.setdefault(row.step, _cached(row))
            return list(found.values())

    # runs -----------------------------------------------------------------------------

    def request_run(
        self,
        name: str,
        *,
        trigger: str = "api",
        detail: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> PipelineRun:
        """Queue a run; ``shipway server``'s scheduler starts it (one at a time per
        pipeline)."""
        _check_trigger(trigger)
        with self.db.write() as conn:
            run_id = queue_run(
                conn, name, trigger, dict(detail or {}), self.actor, dict(params or {})
            )
            events.record(conn, self.actor, "request_run", "pipeline", name, {"run": run_id})
            return self._run_by_id(conn, run_id)

    def start_run(
        self,
        name: str,
        *,
        run_id: str,
        trigger: str = "manual",
        detail: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        queued: int | None = None,
    ) -> PipelineRun:
        """Record that a run started under parent run ``run_id`` (a queued one when
        ``queued`` names it, else a new one)."""
        _check_trigger(trigger)
        now = _now()
        with self.db.write() as conn:
            row = pipeline_row(conn, name)
            if queued is not None:
                found = self._run_by_id(conn, queued)
                if found.pipeline != name or found.status != "queued":
                    raise InvalidInput(
                        f"pipeline run #{queued} is not a queued run of {name!r} "
                        f"(it is {found.status}, of {found.pipeline!r})"
                    )
                claimed = conn.execute(  # only if still queued: two starters, one wins
                    pipeline_runs.update()
                    .where(pipeline_runs.c.id == queued, pipeline_runs.c.status == "queued")
                    .values(status="running", run_id=run_id, started_at=now)
                )
                if claimed.rowcount != 1:
                    raise Conflict(f"pipeline run #{queued} was started by another process")
                number = queued
            else:
                result = conn.execute(
                    pipeline_runs.insert().values(
                        pipeline_id=row.id,
                        run_id=run_id,
                        status="running",
                        trigger=trigger,
                        trigger_detail=_json(dict(detail or {})),
                        params=_json(dict(params or {})),
                        requested_at=now,
                        started_at=now,
                        created_by=self.actor,
                    )
                )
                key = result.inserted_primary_key
                assert key is not None
                number = int(key[0])
            return self._run_by_id(conn, number)

    def finish_run(
        self,
        run: int,
        *,
        status: str,
        outcome: str = "",
        steps: Mapping[str, Any] | None = None,
        error: str | None = None,
    ) -> PipelineRun:
        if status not in PIPELINE_RUN_STATUSES or status in ("queued", "running"):
            raise InvalidInput(
                f"a pipeline run ends finished or failed, not {status!r}",
                details={"field": "status"},
            )
        with self.db.write() as conn:
            self._run_by_id(conn, run)
            conn.execute(
                pipeline_runs.update()
                .where(pipeline_runs.c.id == run)
                .values(
                    status=status,
                    outcome=outcome,
                    steps=_json(dict(steps or {})),
                    error=error,
                    ended_at=_now(),
                )
            )
            return self._run_by_id(conn, run)

    def get_run(self, run: int) -> PipelineRun:
        with self.db.read() as conn:
            return self._run_by_id(conn, run)

    def list_runs(
        self, name: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[PipelineRun]:
        """Pipeline runs, newest first (of one pipeline, with one status)."""
        query = _RUNS.order_by(pipeline_runs.c.id.desc()).limit(min(max(1, limit), MAX_RUNS))
        with self.db.read() as conn:
            if name is not None:
                query = query.where(pipeline_runs.c.pipeline_id == pipeline_row(conn, name).id)
            if status is not None:
                query = query.where(pipeline_runs.c.status == status)
            return [_run(r, r.name) for r in conn.execute(query)]

    def _run_by_id(self, conn: Connection, run: int) -> PipelineRun:
        row = conn.execute(_RUNS.where(pipeline_runs.c.id == run)).first()
        if row is None:
            raise NotFound(f"pipeline run #{run} does not exist")
        return _run(row, row.name)

    # schedules and triggers -----------------------------------------------------------

    def schedule(
        self,
        name: str,
        *,
        cron: str | None = None,
        on_dataset: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Schedule:
        """Start the pipeline on a cron schedule (UTC) or on each new version of a
        dataset; the same schedule twice is kept once."""
        if (cron is None) == (on_dataset is None):
            raise InvalidInput("give one of cron or on_dataset", details={"field": "cron"})
        with self.db.write() as conn:
            row = pipeline_row(conn, name)
            if cron is not None:
                kind, spec, seen = "cron", check_cron(cron), 0
            else:
                assert on_dataset is not None
                kind, spec = "dataset", on_dataset
                seen = self._latest_version(conn, on_dataset)
            c = pipeline_schedules.c
            existing = conn.execute(
                sa.select(pipeline_schedules).where(
                    c.pipeline_id == row.id, c.kind == kind, c.spec == spec
                )
            ).first()
            if existing is None:
                conn.execute(
                    pipeline_schedules.insert().values(
                        pipeline_id=row.id,
                        kind=kind,
                        spec=spec,
                        params=_json(dict(params or {})),
                        seen=seen,
                        created_at=_now(),
                        created_by=self.actor,
                    )
                )
                events.record(conn, self.actor, "schedule", "pipeline", name, {kind: spec})
            found = conn.execute(
                sa.select(pipeline_schedules).where(
                    c.pipeline_id == row.id, c.kind == kind, c.spec == spec
                )
            ).one()
            return _schedule(found, name)

    def unschedule(self, name: str, schedule_id: int) -> None:
        with self.db.write() as conn:
            row = pipeline_row(conn, name)
            c = pipeline_schedules.c
            gone = conn.execute(
                pipeline_schedules.delete().where(c.id == schedule_id, c.pipeline_id == row.id)
            )
            if not gone.rowcount:
                raise NotFound(
                    f"pipeline {name!r} has no schedule #{schedule_id}; "
                    f"'shipway pipelines show {name}' lists them"
                )
            events.record(conn, self.actor, "unschedule", "pipeline", name, {"id": schedule_id})

    def schedules(self, name: str | None = None) -> list[Schedule]:
        query = _SCHEDULES.order_by(pipeline_schedules.c.id)
        with self.db.read() as conn:
            if name is not None:
                query = query.where(pipeline_schedules.c.pipeline_id == pipeline_row(conn, name).id)
            return [_schedule(r, r.name) for r in conn.execute(query)]

    def tick(self, now: int | None = None) -> list[PipelineRun]:
        """Queue a run for every schedule that is due at ``now`` (ms; the clock by
        default): a cron time passed since it last fired, or a dataset that has a new
        version. Each queued run records what started it. A cron schedule that missed
        several times (the server was down) fires once."""
        now = _now() if now is None else now
        queued: list[PipelineRun] = []
        with self.db.write() as conn:
            rows = conn.execute(_SCHEDULES).all()
            for row in rows:
                detail: dict[str, Any]
                if row.kind == "cron":
                    since = row.last_fired or row.created_at
                    due = next_fire(row.spec, since)
                    if due > now:
                        continue
                    detail = {"schedule": row.id, "cron": row.spec, "due": due}
                    changes: dict[str, Any] = {"last_fired": now}
                    trigger = "schedule"
                else:
                    latest = self._latest_version(conn, row.spec, missing_ok=True)
                    if latest <= row.seen:
                        continue
                    detail = {"schedule": row.id, "dataset": f"{row.spec}@{latest}"}
                    changes = {"last_fired": now, "seen": latest}
                    trigger = "dataset"
                c = pipeline_schedules.c
                fired = conn.execute(  # only if no other scheduler fired it meanwhile
                    pipeline_schedules.update()
                    .where(c.id == row.id, c.seen == row.seen)
                    .where(
                        c.last_fired.is_(None) if row.last_fired is None
                        else c.last_fired == row.last_fired
                    )
                    .values(**changes)
                )  # fmt: skip
                if fired.rowcount != 1:
                    continue
                number = queue_run(
                    conn, row.name, trigger, detail, self.actor, orjson.loads(row.params)
                )
                queued.append(self._run_by_id(conn, number))
        return queued

    def _latest_version(self, conn: Connection, dataset: str, *, missing_ok: bool = False) -> int:
        found = conn.execute(
            sa.select(sa.func.max(dataset_versions.c.version))
            .join(datasets, datasets.c.id == dataset_versions.c.dataset_id)
            .where(datasets.c.name == dataset)
        ).scalar()
        if found is None and not missing_ok:
            exists = conn.execute(sa.select(datasets.c.id).where(datasets.c.name == dataset))
            if exists.first() is None:
                raise NotFound(
                    f"dataset {dataset!r} does not exist; add it with 'shipway data add'"
                )
        return int(found or 0)


def _check_trigger(trigger: str) -> None:
    if trigger not in PIPELINE_TRIGGERS:
        raise InvalidInput(
            f"trigger {trigger!r} is not one of {', '.join(PIPELINE_TRIGGERS)}",
            details={"field": "trigger"},
        )
