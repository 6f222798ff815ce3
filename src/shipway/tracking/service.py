"""The tracking service: experiments, runs, params, tags, metric series and search.

Every method is one transaction. Writes record an audit event in the same transaction.
The CLI, the HTTP API and the in-process client all call this class.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import math
import re
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipway.errors import Conflict, InvalidInput, NotFound, ParamConflict
from shipway.records import (
    RUN_STATUSES,
    Experiment,
    GitInfo,
    MetricPoint,
    MetricSeries,
    Page,
    Run,
    RunGroup,
    Series,
    positive_int,
)
from shipway.store import events
from shipway.store import experiments as experiments_repo
from shipway.store import metrics as metrics_repo
from shipway.store import runs as runs_repo
from shipway.store.db import Database
from shipway.tracking import validation as check

DEFAULT_EXPERIMENT = "Default"
MAX_PAGE = 1000
MAX_SERIES_RUNS = 100  # runs in one chart request
MAX_SERIES = 1000  # series in one chart request


RUN_ID = re.compile(r"[0-9a-f]{32}")


def now_ms() -> int:
    return int(time.time() * 1000)


class TrackingService:
    def __init__(self, db: Database, actor: str = "unknown") -> None:
        self.db = db
        self.actor = actor

    def with_actor(self, actor: str) -> TrackingService:
        other = copy.copy(self)
        other.actor = actor
        return other

    # experiments ---------------------------------------------------------------------

    def create_experiment(self, name: str, description: str = "") -> Experiment:
        check.check_name("experiment", name)
        taken = Conflict(f"experiment {name!r} already exists; pick another name")
        try:
            with self.db.write() as conn:
                if experiments_repo.by_name(conn, name):
                    raise taken
                exp = experiments_repo.insert(conn, name, description, now_ms(), self.actor)
                events.record(conn, self.actor, "create", "experiment", str(exp.id), {"name": name})
        except sa.exc.IntegrityError:  # another writer created it between check and insert
            raise taken from None
        return exp

    def update_experiment(
        self,
        ref: int | str,
        *,
        name: str | None = None,
        description: str | None = None,
        set_tags: Mapping[str, Any] | None = None,
        delete_tags: Sequence[str] = (),
        deleted: bool | None = None,
    ) -> Experiment:
        """Rename an experiment, change its description or tags, or mark it deleted (or
        restore it); runs keep their experiment."""
        values: dict[str, Any] = {}
        if name is not None:
            values["name"] = check.check_name("experiment", name)
        if description is not None:
            values["description"] = description
        if deleted is not None:
            values["deleted"] = bool(deleted)
        tag_changes = {check.check_key("tag", k): str(v) for k, v in (set_tags or {}).items()}
        taken = Conflict(f"experiment {name!r} already exists; pick another name")
        try:
            with self.db.write() as conn:
                exp = self._experiment(conn, ref)
                other = experiments_repo.by_name(conn, name) if name is not None else None
                if other is not None and other.id != exp.id:
                    raise taken
                if tag_changes or delete_tags:
                    tags = {**exp.tags, **tag_changes}
                    for key in delete_tags:
                        tags.pop(key, None)
                    values["tags"] = orjson.dumps(tags).decode()
                if values:
                    experiments_repo.update(conn, exp.id, values)
                    changed = {"fields": list(values)}
                    events.record(conn, self.actor, "update", "experiment", str(exp.id), changed)
                return self._experiment(conn, exp.id)
        except sa.exc.IntegrityError:  # another writer took the name meanwhile
            raise taken from None

    def get_experiment(self, ref: int | str) -> Experiment:
        with self.db.read() as conn:
            return self._experiment(conn, ref)

    def get_or_create_experiment(self, name: str) -> Experiment:
        with self.db.read() as conn:
            found = experiments_repo.by_name(conn, name)
        if found:
            return found
        try:
            return self.create_experiment(name)
        except Conflict:  # created meanwhile by another writer
            return self.get_experiment(name)

    def list_experiments(self, limit: int = 100, cursor: str | None = None) -> Page[Experiment]:
        after = decode_cursor(cursor, "experiments").get("after", 0) if cursor else 0
        limit = _check_limit(limit)
        with self.db.read() as conn:
            items = experiments_repo.page(conn, int(after), limit + 1)
        return page_of(items, limit, lambda last: {"after": last.id}, "experiments")

    def _experiment_ids(
        self, conn: Connection, experiment: str | int | Sequence[str | int] | None
    ) -> list[int] | None:
        """The ids of the experiments named (None: every experiment); NotFound if one is
        unknown."""
        if experiment is None:
            return None
        refs = [experiment] if isinstance(experiment, str | int) else list(experiment)
        return [self._experiment(conn, ref).id for ref in refs]

    def _experiment(self, conn: Connection, ref: int | str) -> Experiment:
        # a string is a name first (start_run(experiment="1") creates one named "1"),
        # and an id only when no experiment has that name
        found = experiments_repo.by_name(conn, ref) if isinstance(ref, str) else None
        number = positive_int(ref)
        if found is None and number is not None:
            found = experiments_repo.by_id(conn, number)
        if found is None:
            raise NotFound(f"no experiment {ref!r}; `shipway experiments list` shows them")
        return found

    # runs ------------------------------------------------------------------------------

    def create_run(
        self,
        experiment: str | None = None,
        *,
        name: str | None = None,
        description: str = "",
        tags: Mapping[str, Any] | None = None,
        parent_id: str | None = None,
        git: GitInfo | None = None,
        source: str | None = None,
        run_id: str | None = None,
        start_time: int | None = None,
    ) -> Run:
        """A new running run of the actor. ``run_id`` and ``start_time`` (ms) keep another
        store's values (an import, MLflow's client); by default a new id and now."""
        exp = self.get_or_create_experiment(experiment or DEFAULT_EXPERIMENT)
        if run_id is not None and not RUN_ID.fullmatch(run_id):
            raise InvalidInput(f"run id {run_id!r} must be 32 lowercase hex digits")
        run_id = run_id or uuid.uuid4().hex
        if name is not None:
            check.check_name("run", name)
        clean_tags = {check.check_key("tag", k): str(v) for k, v in (tags or {}).items()}
        git = git or GitInfo()
        with self.db.write() as conn:
            if runs_repo.pk_of(conn, run_id) is not None:
                raise Conflict(f"a run with id {run_id} exists already")
            parent_pk = self._run_pk(conn, parent_id) if parent_id else None
            pk = runs_repo.insert(
                conn,
                {
                    "id": run_id,
                    "experiment_id": exp.id,
                    "name": name or f"run-{run_id[:8]}",
                    "description": description,
                    "status": "running",
                    "user": self.actor,
                    "start_time": now_ms() if start_time is None else int(start_time),
                    "parent_pk": parent_pk,
                    "git_commit": git.commit,
                    "git_branch": git.branch,
                    "git_remote": git.remote,
                    "git_dirty": git.dirty,
                    "source": source,
                },
            )
            if clean_tags:
                runs_repo.upsert_tags(conn, pk, clean_tags)
            events.record(conn, self.actor, "create", "run", run_id, {"experiment": exp.name})
            return runs_repo.load(conn, [pk])[0]

    def import_run(
        self,
        experiment: int | str,
        run_id: str,
        *,
        name: str | None,
        user: str,
        start_time: int,
        end_time: int | None,
        status: str,
        params: Mapping[str, Any],
        tags: Mapping[str, Any],
        metrics: Mapping[str, Series],
        deleted: bool = False,
        parent_id: str | None = None,
        source: str | None = None,
    ) -> bool:
        """Store a whole run from another store, in an existing experiment, in one
        transaction (all of it or nothing: an interrupted import finds it complete or
        absent). False if a run with this id exists already. The event names the importer
        as its actor."""
        if not RUN_ID.fullmatch(run_id):
            raise InvalidInput(f"run id {run_id!r} must be 32 lowercase hex digits")
        if status not in ("running", "finished", "failed", "killed"):
            raise InvalidInput(f"run status {status!r} is not running, finished, failed or killed")
        if name is not None:
            check.check_name("run", name)
        clean_params = {
            check.check_key("param", k): check.param_value(k, v) for k, v in params.items()
        }
        clean_tags = {check.check_key("tag", k): str(v) for k, v in tags.items()}
        for key in metrics:
            check.check_key("metric", key)
        with self.db.write() as conn:
            exp = self._experiment(conn, experiment)
            if runs_repo.pk_of(conn, run_id) is not None:
                return False
            parent_pk = runs_repo.pk_of(conn, parent_id) if parent_id else None
            pk = runs_repo.insert(
                conn,
                {
                    "id": run_id,
                    "experiment_id": exp.id,
                    "name": name or f"run-{run_id[:8]}",
                    "description": "",
                    "status": status,
                    "user": user,
                    "start_time": int(start_time),
                    "end_time": None if end_time is None else int(end_time),
                    "parent_pk": parent_pk,
                    "source": source,
                    "deleted": deleted,
                },
            )
            runs_repo.insert_new(conn, pk, clean_params, clean_tags)
            if any(len(s) for s in metrics.values()):
                metrics_repo.insert_chunks(conn, pk, metrics)
            points = sum(len(s) for s in metrics.values())
            events.record(conn, self.actor, "import", "run", run_id, {"points": points})
        return True

    def get_run(self, run_id: str) -> Run:
        with self.db.read() as conn:
            return runs_repo.load(conn, [self._run_pk(conn, run_id)])[0]

    def update_run(
        self,
        run_id: str,
        *,
        status: str | None = None,
        end_time: int | None = None,
        error: str | None = None,
        name: str | None = None,
        description: str | None = None,
    ) -> Run:
        values: dict[str, Any] = {}
        if status is not None:
            if status not in RUN_STATUSES:
                raise InvalidInput(f"status {status!r} is not one of {', '.join(RUN_STATUSES)}")
            values["status"] = status
            if status != "running":
                values["end_time"] = end_time or now_ms()
        if error is not None:
            values["error"] = error[:20000]
        if name is not None:
            values["name"] = check.check_name("run", name)
        if description is not None:
            values["description"] = description
        with self.db.write() as conn:
            pk = self._writable_run_pk(conn, run_id)
            if values:
                runs_repo.update(conn, pk, values)
                events.record(conn, self.actor, "update", "run", run_id, _summary(values))
            return runs_repo.load(conn, [pk])[0]

    def delete_run(self, run_id: str) -> Run:
        return self._mark_deleted(run_id, restore=False)

    def restore_run(self, run_id: str) -> Run:
        return self._mark_deleted(run_id, restore=True)

    def _mark_deleted(self, run_id: str, *, restore: bool) -> Run:
        with self.db.write() as conn:
            pk = self._run_pk(conn, run_id)
            runs_repo.update(conn, pk, {"deleted": not restore})
            action = "restore" if restore else "delete"
            events.record(conn, self.actor, action, "run", run_id)
            return runs_repo.load(conn, [pk])[0]

    def _run_pk(self, conn: Connection, run_id: str) -> int:
        if not isinstance(run_id, str) or not run_id:
            raise InvalidInput(f"run id must be a non-empty string, got {run_id!r}")
        pk = runs_repo.pk_of(conn, run_id)
        if pk is None:
            raise NotFound(f"no run with id {run_id!r}; `shipway runs list` shows run ids")
        return pk

    def _writable_run_pk(self, conn: Connection, run_id: str) -> int:
        pk = self._run_pk(conn, run_id)
        deleted = conn.execute(
            sa.text("SELECT deleted FROM runs WHERE pk = :pk"), {"pk": pk}
        ).scalar_one()
        if deleted:
            raise Conflict(
                f"run {run_id} is deleted; restore it with `shipway runs restore {run_id}`"
            )
        return pk

    # params and tags -------------------------------------------------------------------

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        clean = {check.check_key("param", k): check.param_value(k, v) for k, v in params.items()}
        if not clean:
            return
        with self.db.write() as conn:
            pk = self._writable_run_pk(conn, run_id)
            stored = runs_repo.params_of(conn, pk, list(clean))
            for key, old in stored.items():
                if old != clean[key]:
                    raise ParamConflict(
                        f"param {key!r} of run {run_id} is already {old!r} and params are "
                        f"immutable, so it cannot become {clean[key]!r}; log it under another "
                        "key or start a new run",
                        details={"key": key, "stored": old, "given": clean[key]},
                    )
            new = {k: v for k, v in clean.items() if k not in stored}
            if new:
                runs_repo.insert_params(conn, pk, new)
                raced = runs_repo.params_of(conn, pk, list(new))
                lost = [k for k, v in raced.items() if v != new[k]]
                if lost:
                    raise ParamConflict(
                        f"param {lost[0]!r} of run {run_id} was just logged by another writer "
                        f"as {raced[lost[0]]!r}; params are immutable"
                    )
                events.record(conn, self.actor, "log_params", "run", run_id, {"keys": list(new)})

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        clean = {check.check_key("tag", k): str(v) for k, v in tags.items()}
        if not clean:
            return
        with self.db.write() as conn:
            pk = self._writable_run_pk(conn, run_id)
            runs_repo.upsert_tags(conn, pk, clean)
            events.record(conn, self.actor, "set_tags", "run", run_id, {"keys": list(clean)})

    def delete_tag(self, run_id: str, key: str) -> None:
        with self.db.write() as conn:
            pk = self._writable_run_pk(conn, run_id)
            if not runs_repo.delete_tag(conn, pk, key):
                raise NotFound(f"run {run_id} has no tag {key!r}")
            events.record(conn, self.actor, "delete_tag", "run", run_id, {"key": key})

    # metrics ---------------------------------------------------------------------------

    def log_metric_series(self, run_id: str, batch: Mapping[str, Series]) -> int:
        """Store one batch of points (per key: parallel value/step/timestamp arrays)."""
        total = 0
        for key, series in batch.items():
            check.check_key("metric", key)
            n = len(series)
            if len(series.steps) != n or len(series.timestamps) != n:
                raise InvalidInput(
                    f"metric {key!r}: values, steps and timestamps must have the same length "
                    f"(got {n}, {len(series.steps)}, {len(series.timestamps)})"
                )
            total += n
        if total == 0:
            return 0
        with self.db.write() as conn:
            pk = self._writable_run_pk(conn, run_id)
            metrics_repo.insert_chunks(conn, pk, batch)
            events.record(
                conn,
                self.actor,
                "log_metrics",
                "run",
                run_id,
                {"points": total, "keys": len(batch)},
            )
        return total

    def latest_steps(self, run_ids: Sequence[str]) -> dict[str, dict[str, tuple[int, int]]]:
        """``{run id: {key: (step, timestamp)}}`` of each run's latest metric points (the
        values are in ``Run.metrics``), for up to 1,000 runs in one query."""
        ids = list(dict.fromkeys(run_ids))
        if len(ids) > 1000:
            raise InvalidInput(f"ask for at most 1000 runs at once, got {len(ids)}")
        with self.db.read() as conn:
            return metrics_repo.latest_steps(conn, ids)

    def get_metric_history(
        self, run_id: str, key: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[MetricPoint]:
        offset = int(decode_cursor(cursor, "history").get("offset", 0)) if cursor else 0
        with self.db.read() as conn:
            pk = self._run_pk(conn, run_id)
            points: list[MetricPoint] = []
            stop = None if limit is None else offset + _check_limit(limit, 1_000_000)
            for i, (value, step, ts) in enumerate(metrics_repo.history(conn, pk, key)):
                if i < offset:
                    continue
                if stop is not None and i >= stop:
                    return Page(points, encode_cursor({"offset": i}, "history"))
                points.append(MetricPoint(key, value, step, ts))
            if not points and offset == 0 and key not in metrics_repo.keys(conn, pk):
                known = ", ".join(metrics_repo.keys(conn, pk)) or "none"
                raise NotFound(f"run {run_id} has no metric {key!r}; its metrics: {known}")
        return Page(points, None)

    def metric_series(
        self,
        runs: Sequence[str],
        keys: Sequence[str] = (),
        *,
        x: str = "step",
        points: int = 1000,
        x_min: float | None = None,
        x_max: float | None = None,
    ) -> list[MetricSeries]:
        """Chart data: the metric series of each run (all its metrics unless ``keys`` are
        named), on x = step, time or relative, within [x_min, x_max], each thinned to at most
        ``points`` points on the server (first/min/max/last per x bucket)."""
        from shipway.tracking import series  # numpy: only charts pay for importing it

        series.check_axis(x, points)
        ids = list(dict.fromkeys(runs))
        if not ids:
            raise InvalidInput("name at least one run (run=ID, repeated for several)")
        if len(ids) > MAX_SERIES_RUNS:
            raise InvalidInput(f"chart at most {MAX_SERIES_RUNS} runs at once, got {len(ids)}")
        wanted = list(dict.fromkeys(keys))
        out: list[MetricSeries] = []
        with self.db.read() as conn:
            pks = [self._run_pk(conn, i) for i in ids]  # an unknown run: NotFound
            found = runs_repo.load(conn, pks)
            known_any: set[str] = set()
            for run, pk in zip(found, pks, strict=True):
                known = metrics_repo.keys(conn, pk)
                known_any.update(known)
                for key in wanted or known:
                    if key not in known:
                        continue  # a compared run need not log every key
                    chunks = metrics_repo.chunks(conn, pk, key)
                    out.append(
                        series.build(
                            run.id,
                            key,
                            chunks,
                            x=x,
                            start_ms=run.start_time,
                            points=points,
                            x_min=x_min,
                            x_max=x_max,
                        )
                    )
                    if len(out) > MAX_SERIES:
                        raise InvalidInput(
                            f"that is more than {MAX_SERIES} series; name fewer runs or keys"
                        )
        missing = [k for k in wanted if k not in known_any]
        if missing:
            logged = ", ".join(sorted(known_any)) or "none"
            raise NotFound(f"no run named logs metric {missing[0]!r}; their metrics: {logged}")
        return out

    def group_runs(
        self,
        experiment: str | int | Sequence[str | int] | None = None,
        *,
        by: str,
        filter: str | None = None,
        include_deleted: bool = False,
    ) -> list[RunGroup]:
        """The runs matching ``filter`` grouped by a param, a tag, ``status`` or ``user``:
        per group its run count and, per metric, the mean, min, max and (sample) standard
        deviation of the runs' latest values. Largest groups first, at most 1,000."""
        from shipway.tracking.search import build_query, group_query

        with self.db.read() as conn:
            ids = self._experiment_ids(conn, experiment)
            counts, stats = group_query(build_query(filter, (), ids, include_deleted), by)
            groups = {row.value: RunGroup(row.value, row.runs, {}) for row in conn.execute(counts)}
            for row in conn.execute(stats):
                group = groups.get(row.value)
                if group is None or not row.n:
                    continue
                std = None
                if row.n > 1 and row.squared == row.n:  # every distance could be squared
                    shift = row.spread / row.n  # the mean's distance to the minimum
                    variance = (row.squares - row.n * shift * shift) / (row.n - 1)
                    std = math.sqrt(max(variance, 0.0))
                group.metrics[row.key] = {
                    "count": row.n,
                    "mean": row.low + row.spread / row.n,
                    "min": row.low,
                    "max": row.high,
                    "std": std,
                }
        return list(groups.values())

    # search ----------------------------------------------------------------------------

    def search_runs(
        self,
        experiment: str | int | Sequence[str | int] | None = None,
        *,
        filter: str | None = None,
        order_by: Sequence[str] = (),
        limit: int = 100,
        cursor: str | None = None,
        include_deleted: bool = False,
    ) -> Page[Run]:
        from shipway.tracking.search import build_query

        limit = _check_limit(limit)
        scope = _query_hash(experiment, filter, order_by, include_deleted)
        after = None
        if cursor:  # a keyset cursor: the last row's order values, not an offset
            state = decode_cursor(cursor, "runs")
            if state.get("q") != scope or not isinstance(state.get("after"), list):
                raise InvalidInput("this cursor belongs to another search; start without a cursor")
            after = [_key_from_json(v, cursor) for v in state["after"]]
        with self.db.read() as conn:
            ids = self._experiment_ids(conn, experiment)
            query = build_query(filter, order_by, ids, include_deleted, after)
            try:
                rows = conn.execute(query.limit(limit + 1)).all()
            except sa.exc.StatementError:
                if after is None:
                    raise
                # a hand-made cursor whose values do not fit the sort keys' types
                raise InvalidInput(
                    "this cursor does not fit this search; start without a cursor"
                ) from None
            runs = runs_repo.load(conn, [row.pk for row in rows[:limit]])
        next_cursor = None
        if len(rows) > limit:
            last = [_key_to_json(v) for v in list(rows[limit - 1])[1:]]  # where the next starts
            next_cursor = encode_cursor({"after": last, "q": scope}, "runs")
        return Page(runs, next_cursor)


def _key_to_json(value: Any) -> Any:
    """A sort value as a cursor keeps it: JSON has no infinities (a diverged loss is one)."""
    if isinstance(value, float) and not math.isfinite(value):
        return {"f": repr(value)}  # 'inf', '-inf' ('nan' is stored as NULL)
    return value


def _key_from_json(value: Any, cursor: str) -> Any:
    if isinstance(value, dict) and value.get("f") in ("inf", "-inf", "nan"):
        return float(value["f"])
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise InvalidInput(
        f"cursor {cursor[:20]!r} is not valid here; pass the next_cursor of the previous page"
    )


def _summary(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v if not isinstance(v, str) else v[:200]) for k, v in values.items()}


def _check_limit(limit: int, most: int = MAX_PAGE) -> int:
    if not isinstance(limit, int) or limit < 1 or limit > most:
        raise InvalidInput(f"limit must be an integer from 1 to {most}, got {limit!r}")
    return limit


def _query_hash(*parts: Any) -> str:
    return hashlib.blake2s(repr(parts).encode(), digest_size=6).hexdigest()


def encode_cursor(state: dict[str, Any], kind: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"k": kind, **state})).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        state = orjson.loads(base64.urlsafe_b64decode(padded))
        if not isinstance(state, dict) or state.get("k") != kind:
            raise ValueError
        return state
    except (ValueError, binascii.Error, orjson.JSONDecodeError):
        raise InvalidInput(
            f"cursor {cursor[:20]!r} is not valid here; pass the next_cursor of the previous page"
        ) from None


def page_of(items: list[Any], limit: int, state: Any, kind: str) -> Page[Any]:
    if len(items) > limit:
        return Page(items[:limit], encode_cursor(state(items[limit - 1]), kind))
    return Page(items, None)
