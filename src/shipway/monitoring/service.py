"""The monitoring service: feedback, profiles, drift, live quality, alert rules and their
actions, for models whose contract has a ``monitoring`` section.

``run(name)`` does everything once: profiles the prediction-log segments not profiled yet
(each segment exactly once), evaluates every rule over its
windows, and for each rule that fires records an alert with its evidence, logs it, posts
the webhook and takes the contract's action. The platform server calls it periodically.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import os
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import reduce
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from shipway.contracts import rules
from shipway.contracts.loading import load_version
from shipway.contracts.service import ContractService
from shipway.contracts.spec import duration
from shipway.datasets.service import DatasetService
from shipway.errors import InvalidInput, NotFound, ShipwayError
from shipway.models.loaded import LoadedModel
from shipway.monitoring import actions, quality
from shipway.monitoring.drift import MIN_ROWS, ColumnDrift, column_drift
from shipway.monitoring.profiling import (
    LATENCY,
    PREDICTION,
    feature_kinds,
    profile_log,
    reference_profile,
    schema_bounds,
)
from shipway.monitoring.sketches import Profile
from shipway.records import Alert, ModelVersion
from shipway.registry.service import RegistryService
from shipway.serving.predictions import PredictionLogService
from shipway.serving.predlog import read_counts
from shipway.store import events
from shipway.store.db import Database
from shipway.store.tables import (
    alerts,
    feedback,
    monitor_profiles,
    monitor_segments,
    monitor_state,
    reference_profiles,
)
from shipway.store.upsert import insert_missing

log = logging.getLogger("shipway.monitoring")
DEFAULT_WINDOW = 3600
MAX_FEEDBACK = 100_000
BATCH_SEGMENTS = 64  # segments profiled per transaction
LOG_COLUMNS = ["time", "version", "arm", "row", "latency_ms", "inputs", "prediction"]


def now_ms() -> int:
    return int(time.time() * 1000)


def bucket_seconds(monitoring: Mapping[str, Any]) -> int:
    """The profile bucket: the greatest common divisor of every rule's window."""
    default = int(monitoring.get("window") or DEFAULT_WINDOW)
    windows = [int(r.get("window", default)) for r in monitoring.get("rules", {}).values()]
    return max(1, reduce(math.gcd, windows, default))


class MonitoringService:
    def __init__(
        self,
        db: Database,
        registry: RegistryService,
        datasets: DatasetService,
        contracts: ContractService,
        predictions: PredictionLogService,
        home: Path,
        actor: str = "unknown",
    ) -> None:
        self.db = db
        self.registry = registry
        self.datasets = datasets
        self.contracts = contracts
        self.predictions = predictions
        self.home = Path(home)
        self.actor = actor
        self._models: dict[tuple[str, int], LoadedModel] = {}
        self.webhook_backoff = 0.5

    def with_actor(self, actor: str) -> MonitoringService:
        """The same service (sharing its cache of loaded models) acting as ``actor``."""
        other = copy.copy(self)
        other.actor = actor
        other.registry = self.registry.with_actor(actor)
        other.datasets = self.datasets.with_actor(actor)
        other.contracts = self.contracts.with_actor(actor)
        return other

    def _spec(self, name: str) -> dict[str, Any]:
        spec: dict[str, Any] = self.contracts.get(name).spec
        return spec

    def _model(self, version: ModelVersion) -> LoadedModel:
        key = (version.name, version.version)
        if key not in self._models:
            self._models[key] = load_version(self.registry, self.home, version)
        return self._models[key]

    # feedback ------------------------------------------------------------------------

    def log_feedback(self, name: str, items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Store labels for logged predictions, joined by ``request_id`` (and ``row``, default
        0). Unknown ids are reported back, not stored; the same label again is a no-op; a
        different label for the same prediction replaces it (a correction)."""
        self.registry.get_model(name)
        if not isinstance(items, Sequence) or isinstance(items, (str, bytes)):
            raise InvalidInput("feedback is a list of {request_id, row, label} items")
        if len(items) > MAX_FEEDBACK:
            raise InvalidInput(f"at most {MAX_FEEDBACK} labels per call; send them in batches")
        task = None
        with contextlib.suppress(NotFound):
            task = self._spec(name)["task"]
        clean: dict[tuple[str, int], str] = {}
        invalid: list[dict[str, Any]] = []
        for i, item in enumerate(items):
            problem = _check_item(item, task)
            if problem:
                invalid.append({"index": i, "request_id": _rid(item), "reason": problem})
                continue
            key = (str(item["request_id"]), int(item.get("row", 0) or 0))
            clean[key] = orjson.dumps(item["label"]).decode()
        known = self._known(name, list(clean))
        unknown = sorted({rid for rid, row in clean if (rid, row) not in known})
        accepted = duplicates = updated = 0
        received = now_ms()
        with self.db.write() as conn:
            rids = sorted({rid for rid, _ in clean})
            existing: dict[tuple[str, int], tuple[int, str]] = {}
            for chunk in range(0, len(rids), 500):
                rows = conn.execute(
                    sa.select(
                        feedback.c.id, feedback.c.request_id, feedback.c.row, feedback.c.label
                    ).where(
                        feedback.c.model == name,
                        feedback.c.request_id.in_(rids[chunk : chunk + 500]),
                    )
                )
                existing.update({(r.request_id, r.row): (r.id, r.label) for r in rows})
            fresh = []
            for key, label in clean.items():
                if key not in known:
                    continue
                if key in existing:
                    row_id, stored = existing[key]
                    if stored == label:
                        duplicates += 1
                    else:
                        conn.execute(
                            feedback.update()
                            .where(feedback.c.id == row_id)
                            .values(label=label, received_at=received, created_by=self.actor)
                        )
                        updated += 1
                    continue
                fresh.append(
                    {
                        "model": name,
                        "request_id": key[0],
                        "row": key[1],
                        "label": label,
                        "received_at": received,
                        "created_by": self.actor,
                    }
                )
            if fresh:
                insert_missing(conn, feedback, fresh, ["model", "request_id", "row"])
                accepted = len(fresh)
            events.record(
                conn,
                self.actor,
                "feedback",
                "model",
                name,
                {"accepted": accepted, "updated": updated, "unknown": len(unknown)},
            )
        return {
            "accepted": accepted,
            "duplicates": duplicates,
            "updated": updated,
            "unknown": unknown,
            "invalid": invalid,
        }

    def _known(self, name: str, keys: list[tuple[str, int]]) -> set[tuple[str, int]]:
        if not keys:
            return set()
        import duckdb
        import pyarrow as pa

        files = self.predictions.local_files(self.predictions.segments(name))
        if not files:
            return set()
        wanted = pa.table(
            {"request_id": [k[0] for k in keys], "row": pa.array([k[1] for k in keys], pa.int32())}
        )
        listed = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
        con = duckdb.connect()
        try:
            con.register("wanted", wanted)
            found = con.sql(
                f"""SELECT DISTINCT l.request_id, l.row
                    FROM read_parquet([{listed}], union_by_name = true) l
                    JOIN wanted w ON w.request_id = l.request_id AND w.row = l.row"""
            ).fetchall()
        finally:
            con.close()
        return {(str(r), int(n)) for r, n in found}

    def labels_table(self, name: str) -> Any:
        import pyarrow as pa

        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(feedback.c.request_id, feedback.c.row, feedback.c.label).where(
                    feedback.c.model == name
                )
            ).fetchall()
        return pa.table(
            {
                "request_id": pa.array([r.request_id for r in rows], pa.string()),
                "row": pa.array([r.row for r in rows], pa.int32()),
                "label": pa.array([r.label for r in rows], pa.string()),
            }
        )

    # profiles ------------------------------------------------------------------------

    def reference(self, name: str, version: int, *, rebuild: bool = False) -> tuple[Profile, str]:
        """The version's reference profile (built once from its training data, or from
        ``monitoring.reference``)."""
        with self.db.read() as conn:
            row = conn.execute(
                sa.select(reference_profiles).where(
                    reference_profiles.c.model == name, reference_profiles.c.version == version
                )
            ).first()
        if row is not None and not rebuild:
            return Profile.from_bytes(row.data), row.dataset
        spec = self._spec(name)
        model_version = self.registry.get_version(name, version)
        ref = spec["monitoring"].get("reference")
        if ref is None:
            training = [
                i for i in self.datasets.inputs(model_version.run_id) if i.context == "training"
            ]
            if not training:
                raise NotFound(
                    f"{name} v{version} has no training dataset linked to its run and the "
                    "contract names no monitoring.reference; set one (NAME@VERSION)"
                )
            ref = f"{training[0].dataset}@{training[0].version}"
        model = self._model(model_version)
        frame = self.datasets.read_table(ref).to_pandas()
        profile = reference_profile(
            frame, model, feature_kinds(model), schema_bounds(spec["schema"])
        )
        try:
            with self.db.write() as conn:
                conn.execute(
                    reference_profiles.delete().where(
                        reference_profiles.c.model == name, reference_profiles.c.version == version
                    )
                )
                conn.execute(
                    reference_profiles.insert().values(
                        model=name,
                        version=version,
                        dataset=ref,
                        data=profile.to_bytes(),
                        created_at=now_ms(),
                    )
                )
        except sa.exc.IntegrityError:
            pass  # a concurrent run stored the same reference first
        return profile, ref

    def update_profiles(self, name: str) -> dict[str, int]:
        """Profile every segment of the model's log not profiled yet, exactly once."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        spec = self._spec(name)
        bucket = bucket_seconds(spec["monitoring"])
        bounds = schema_bounds(spec["schema"])
        with self.db.write() as conn:
            insert_missing(
                conn, monitor_state, [{"model": name, "bucket_seconds": bucket}], ["model"]
            )
            state = conn.execute(
                sa.select(monitor_state).where(monitor_state.c.model == name)
            ).one()
            if state.bucket_seconds != bucket:  # the contract changed the windows: start over
                conn.execute(
                    monitor_state.update()
                    .where(monitor_state.c.model == name)
                    .values(bucket_seconds=bucket)
                )
                conn.execute(monitor_profiles.delete().where(monitor_profiles.c.model == name))
                conn.execute(monitor_segments.delete().where(monitor_segments.c.model == name))
        done = rows = 0
        with self.db.read() as conn:
            profiled = set(
                conn.execute(
                    sa.select(monitor_segments.c.segment_id).where(monitor_segments.c.model == name)
                ).scalars()
            )
        pending = sorted(
            (s for s in self.predictions.segments(name) if s.id not in profiled), key=lambda s: s.id
        )
        kinds_by_version: dict[int, dict[str, str]] = {}

        def load(segment: Any) -> Any:
            # read once, verified, straight from the blob store (no cache copy to write)
            data = pa.BufferReader(self.predictions.blobs.get_bytes(segment.digest))
            present = set(pq.read_schema(data).names)
            return pq.read_table(data, columns=[c for c in LOG_COLUMNS if c in present])

        # one thread fetches and decodes the next segment while this one is profiled
        with ThreadPoolExecutor(1, thread_name_prefix="shipway-monitor-read") as reader:
            for first in range(0, len(pending), BATCH_SEGMENTS):
                chunk = pending[first : first + BATCH_SEGMENTS]
                merged: dict[tuple[int, str, int], Profile] = {}
                upcoming = reader.submit(load, chunk[0])
                for i, segment in enumerate(chunk):
                    table = upcoming.result()
                    if i + 1 < len(chunk):
                        upcoming = reader.submit(load, chunk[i + 1])
                    if segment.version not in kinds_by_version:
                        version = self.registry.get_version(name, segment.version)
                        kinds_by_version[segment.version] = feature_kinds(self._model(version))
                    profiles = profile_log(table, kinds_by_version[segment.version], bounds, bucket)
                    errors, dropped = read_counts(table.schema.metadata)
                    if errors or dropped:  # counted by the server; kept with its last bucket
                        start = segment.last_time // (bucket * 1000) * bucket * 1000
                        counted = profiles.setdefault(
                            (segment.version, "primary", start), Profile()
                        )
                        counted.errors += errors
                        counted.dropped += dropped
                    for key, profile in profiles.items():
                        merged.setdefault(key, Profile()).merge(profile)
                    rows += table.num_rows
                if not self._merge(name, [s.id for s in chunk], bucket, merged):
                    break  # a concurrent run profiled these already
                done += len(chunk)
        return {"segments": done, "rows": rows}

    def _merge(
        self,
        name: str,
        segment_ids: list[int],
        bucket: int,
        profiles: dict[tuple[int, str, int], Profile],
    ) -> bool:
        """Add ``profiles`` (of ``segment_ids``) to the stored buckets and list the segments
        as profiled, in one transaction; False if another run profiled one of them first."""
        try:
            with self.db.write() as conn:
                _lock(conn, name)
                conn.execute(
                    monitor_segments.insert(),
                    [
                        {"segment_id": i, "model": name, "profiled_at": now_ms()}
                        for i in segment_ids
                    ],
                )
                self._add_profiles(conn, name, bucket, profiles)
        except sa.exc.IntegrityError:
            return False
        return True

    def _add_profiles(
        self, conn: Any, name: str, bucket: int, profiles: dict[tuple[int, str, int], Profile]
    ) -> None:
        t = monitor_profiles
        for (version, arm, start), profile in profiles.items():
            where = sa.and_(
                t.c.model == name,
                t.c.version == version,
                t.c.arm == arm,
                t.c.bucket_start == start,
                t.c.bucket_seconds == bucket,
            )
            row = conn.execute(sa.select(t.c.id, t.c.data).where(where)).first()
            if row is None:
                conn.execute(
                    t.insert().values(
                        model=name,
                        version=version,
                        arm=arm,
                        bucket_start=start,
                        bucket_seconds=bucket,
                        rows=profile.rows,
                        data=profile.to_bytes(),
                        updated_at=now_ms(),
                    )
                )
            else:
                merged = Profile.from_bytes(row.data)
                merged.merge(profile)
                conn.execute(
                    t.update()
                    .where(t.c.id == row.id)
                    .values(rows=merged.rows, data=merged.to_bytes(), updated_at=now_ms())
                )

    def window(self, name: str, start: int, end: int) -> dict[tuple[int, str], Profile]:
        """The merged profile of each (version, arm) over buckets starting in [start, end)."""
        t = monitor_profiles
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(t.c.version, t.c.arm, t.c.data).where(
                    t.c.model == name, t.c.bucket_start >= start, t.c.bucket_start < end
                )
            ).fetchall()
        out: dict[tuple[int, str], Profile] = {}
        for r in rows:
            out.setdefault((r.version, r.arm), Profile()).merge(Profile.from_bytes(r.data))
        return out

    def buckets(self, name: str, start: int, end: int) -> list[tuple[int, int, str, Profile]]:
        t = monitor_profiles
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(t.c.bucket_start, t.c.version, t.c.arm, t.c.data)
                .where(t.c.model == name, t.c.bucket_start >= start, t.c.bucket_start < end)
                .order_by(t.c.bucket_start)
            ).fetchall()
        return [(r.bucket_start, r.version, r.arm, Profile.from_bytes(r.data)) for r in rows]

    # drift and quality ---------------------------------------------------------------

    def drift(
        self, name: str, version: int, current: Profile, rule: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Drift of every feature and of the prediction against the version's reference."""
        rule = rule or {}
        try:
            reference, dataset = self.reference(name, version)
        except (NotFound, InvalidInput) as exc:
            return {"reference": None, "error": str(exc), "features": [], "prediction": None}
        overrides = rule.get("features") or {}
        min_rows = int(rule.get("min_rows", MIN_ROWS))
        hashed = _hashed(self._spec(name))
        results: list[ColumnDrift] = []
        for column in sorted(set(current.columns) - {LATENCY}):
            if column in hashed:  # the log holds digests: nothing to compare with the data
                rows = current.columns[column].count
                results.append(ColumnDrift(column, "none", math.nan, 0.0, False, "hashed", rows))
                continue
            override = overrides.get(column) or {}
            if override.get("method"):
                method, threshold = override["method"], override.get("threshold")
            else:
                method = rule.get("method") or "auto"
                threshold = override.get("threshold", rule.get("threshold"))
            results.append(
                column_drift(
                    column,
                    reference.columns.get(column),
                    current.columns[column],
                    method=method,
                    threshold=threshold,
                    min_rows=min_rows,
                )
            )
        features = [r for r in results if r.column != PREDICTION]
        evaluated = [r for r in features if r.status in ("ok", "drift")]
        drifted = [r for r in evaluated if r.drifted]
        prediction = next((r for r in results if r.column == PREDICTION), None)
        return {
            "reference": dataset,
            "features": [r.to_dict() for r in features],
            "prediction": None if prediction is None else prediction.to_dict(),
            "evaluated": len(evaluated),
            "drifted": [r.column for r in drifted],
            "share": round(len(drifted) / len(evaluated), 4) if evaluated else None,
            "insufficient": bool(features) and not evaluated,
        }

    def data_quality(self, name: str, current: Profile) -> dict[str, Any]:
        spec = self._spec(name)
        schema, hashed = spec["schema"], _hashed(spec)
        out: dict[str, Any] = {}
        for column, profile in sorted(current.columns.items()):
            if column in (LATENCY, PREDICTION) or column in hashed:
                continue
            entry: dict[str, Any] = {
                "rows": profile.rows,
                "nulls": profile.nulls,
                "out_of_range": profile.out_of_range,
            }
            allowed = (schema.get(column) or {}).get("values")
            if allowed is not None and profile.counts:
                known = {str(v) for v in allowed}
                entry["unseen"] = {v: n for v, n in profile.counts.items() if v not in known}
            if profile.nulls and not (schema.get(column) or {}).get("nullable", True):
                entry["unexpected_nulls"] = profile.nulls
            out[column] = entry
        return out

    def quality(
        self, name: str, start: int, end: int, labels: Any = None
    ) -> dict[tuple[int, str], dict[str, Any]]:
        """The contract's task metrics per (version, arm) over rows logged in [start, end)."""

        spec = self._spec(name)
        files = self.predictions.local_files(
            self.predictions.segments(name, since=start, until=end)
        )
        if labels is None:
            labels = self.labels_table(name)
        table = quality.joined(files, labels, start, end)
        return self._score(name, spec, table)

    def _score(
        self, name: str, spec: dict[str, Any], table: Any
    ) -> dict[tuple[int, str], dict[str, Any]]:
        import pyarrow.compute as pc

        if table is None or table.num_rows == 0:
            return {}
        metrics = _metric_names(spec)
        out: dict[tuple[int, str], dict[str, Any]] = {}
        versions = table.column("version").to_pylist()
        for version in sorted(set(versions)):
            model = self._model(self.registry.get_version(name, version))
            classes = model.classes
            positive = spec.get("positive_class")
            if positive is None and classes:
                positive = classes[-1] if len(classes) == 2 else classes[0]
            part = table.filter(pc.equal(table.column("version"), version))
            for arm in sorted(set(part.column("arm").to_pylist())):
                rows = part.filter(pc.equal(part.column("arm"), arm))
                out[(version, arm)] = quality.scores(rows, metrics, classes, positive)
        return out

    # rules ---------------------------------------------------------------------------

    def run(self, name: str) -> dict[str, Any]:
        """Profile new log segments, evaluate every rule, fire alerts and act on them."""
        return self.run_at(name, None)

    def run_at(self, name: str, now: int | None) -> dict[str, Any]:
        """``run`` as of ``now`` (ms since the epoch; None: the clock)."""
        spec = self._spec(name)
        monitoring = spec["monitoring"]
        profiled = self.update_profiles(name)
        now = now or now_ms()
        # windows are whole buckets, the latest ending with the bucket that holds ``now``
        bucket_ms = bucket_seconds(monitoring) * 1000
        end = (now // bucket_ms + 1) * bucket_ms
        default_window = int(monitoring.get("window") or DEFAULT_WINDOW)
        fired: list[Alert] = []
        checked: list[dict[str, Any]] = []
        labels = self.labels_table(name) if "live" in monitoring.get("rules", {}) else None
        for kind, rule in monitoring.get("rules", {}).items():
            window_ms = int(rule.get("window", default_window)) * 1000
            count = int(rule.get("for_windows", 1))
            results = [
                self._evaluate(
                    name, kind, rule, end - (k + 1) * window_ms, end - k * window_ms, labels
                )
                for k in range(count)
            ]
            for version in sorted({v for r in results for v in r}):
                per_window = [r.get(version) for r in results]
                breached = all(w is not None and w["breached"] for w in per_window)
                latest = per_window[0] or {"breached": False, "status": "no data"}
                checked.append(
                    {
                        "rule": kind,
                        "version": version,
                        "breached": breached,
                        "status": latest.get("status"),
                        "value": latest.get("value"),
                    }
                )
                if breached:
                    alert = self._fire(
                        name, version, kind, rule, latest, now, end, window_ms, count
                    )
                    if alert is not None:
                        fired.append(alert)
        acted = self._act(name, monitoring, fired)
        with self.db.write() as conn:
            conn.execute(
                monitor_state.update().where(monitor_state.c.model == name).values(last_run_at=now)
            )
        return {
            "model": name,
            "profiled": profiled,
            "checked": checked,
            "alerts": [a.to_dict() for a in acted],
        }

    def _evaluate(
        self,
        name: str,
        kind: str,
        rule: Mapping[str, Any],
        start: int,
        end: int,
        labels: Any = None,
    ) -> dict[int, dict[str, Any]]:
        """Per version with traffic in [start, end): was the rule breached, and why."""
        out: dict[int, dict[str, Any]] = {}
        if kind == "live":
            for (version, arm), scored in self.quality(name, start, end, labels).items():
                if arm == "shadow":
                    continue
                entry = rules.LiveRule.evaluate(rule, scored)
                entry["arm"] = arm
                previous = out.get(version)
                if previous is None or (entry["breached"] and not previous["breached"]):
                    out[version] = entry
            return out
        profiles: dict[int, Profile] = {}
        for (version, arm), profile in self.window(name, start, end).items():
            if arm != "shadow":
                profiles.setdefault(version, Profile()).merge(profile)
        for version, profile in profiles.items():
            out[version] = self._breach(name, kind, rule, version, profile)
        return out

    def _breach(
        self, name: str, kind: str, rule: Mapping[str, Any], version: int, profile: Profile
    ) -> dict[str, Any]:
        min_rows = int(rule.get("min_rows", MIN_ROWS))
        if kind in ("drift", "feature_drift"):
            drift = self.drift(name, version, profile, rule)
            if drift.get("error"):
                return {"breached": False, "status": "no reference", "value": None, "drift": drift}
            if drift["insufficient"] or profile.rows < min_rows:
                return {
                    "breached": False,
                    "status": "insufficient",
                    "value": profile.rows,
                    "drift": drift,
                }
            ranked = sorted(
                (f for f in drift["features"] if f["status"] == "drift"),
                key=lambda f: _severity(f),
                reverse=True,
            )
            if kind == "drift":
                share = drift["share"] or 0.0
                limit = rule.get("share_above", 0.5)
                return {
                    "breached": share > limit,
                    "status": "ok",
                    "value": share,
                    "threshold": limit,
                    "top": ranked[:5],
                    "drift": drift,
                }
            wanted = set(rule.get("features") or []) or {f["column"] for f in drift["features"]}
            limit = rule.get("score_above")
            hits = [
                f
                for f in drift["features"]
                if f["column"] in wanted
                and f["score"] is not None
                and (
                    f["score"] > limit
                    if limit is not None and f["method"] not in ("ks", "chi2")
                    else f["drifted"]
                )
            ]
            hits.sort(key=_severity, reverse=True)
            return {
                "breached": bool(hits),
                "status": "ok",
                "value": [h["column"] for h in hits],
                "threshold": limit,
                "top": hits[:5],
                "drift": drift,
            }
        if kind == "latency":
            latency = profile.columns.get(LATENCY)
            if latency is None or latency.count < min_rows:
                return {"breached": False, "status": "insufficient", "value": profile.rows}
            values = {
                "p95_ms": float(latency.sketch.get_quantile(0.95)),
                "p99_ms": float(latency.sketch.get_quantile(0.99)),
            }
            over = {
                k: v for k, v in values.items() if f"{k}_above" in rule and v > rule[f"{k}_above"]
            }
            return {
                "breached": bool(over),
                "status": "ok",
                "value": values,
                "threshold": {k: rule[f"{k}_above"] for k in values if f"{k}_above" in rule},
            }
        if kind == "errors":
            total = profile.requests + profile.errors
            if total < min_rows:
                return {"breached": False, "status": "insufficient", "value": total}
            rate = profile.errors / total
            return {
                "breached": rate > rule["rate_above"],
                "status": "ok",
                "value": round(rate, 6),
                "threshold": rule["rate_above"],
                "errors": profile.errors,
                "requests": total,
            }
        if kind == "log_drops":
            return {
                "breached": profile.dropped > rule["above"],
                "status": "ok",
                "value": profile.dropped,
                "threshold": rule["above"],
            }
        return {"breached": False, "status": f"unknown rule {kind}", "value": None}

    def _fire(
        self,
        name: str,
        version: int,
        kind: str,
        rule: Mapping[str, Any],
        result: dict[str, Any],
        now: int,
        end: int,
        window_ms: int,
        count: int,
    ) -> Alert | None:
        cooldown = int(rule.get("cooldown", 3600) * 1000)
        with self.db.write() as conn:
            # serialise with any other run of this model, so a rule fires once
            _lock(conn, name)
            recent = conn.execute(
                sa.select(alerts.c.id).where(
                    alerts.c.model == name,
                    alerts.c.rule == kind,
                    alerts.c.version == version,
                    alerts.c.fired_at > now - cooldown,
                )
            ).first()
            if recent is not None:
                return None  # in its cooldown
            message = rules.message(name, version, kind, result, count)
            evidence = {k: v for k, v in result.items() if k not in ("breached", "drift")}
            if "drift" in result:
                evidence["reference"] = result["drift"].get("reference")
                evidence["prediction"] = result["drift"].get("prediction")
            new_id = conn.execute(
                alerts.insert().values(
                    model=name,
                    version=version,
                    rule=kind,
                    severity=rule.get("severity", "warning"),
                    status="open",
                    message=message,
                    evidence=orjson.dumps(evidence, option=orjson.OPT_SERIALIZE_NUMPY).decode(),
                    window_start=end - window_ms * count,
                    window_end=end,
                    action="none",
                    fired_at=now,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            events.record(conn, self.actor, "alert", "model", name, {"alert": new_id, "rule": kind})
        log.warning("alert #%s %s", new_id, message)
        return self.get_alert(int(new_id))

    def _act(self, name: str, monitoring: Mapping[str, Any], fired: list[Alert]) -> list[Alert]:
        action = monitoring.get("on_breach", "none")
        hook = monitoring.get("webhook")
        done: list[Alert] = []
        first: dict[str, int] = {}
        for alert in fired:
            result: dict[str, Any] = {}
            if action == "rollback":
                result = self._rollback(name, alert, first)
            elif action == "retrain":
                if "retrain" in first:
                    result = {
                        "status": "skipped",
                        "reason": f"retraining started by alert #{first['retrain']}",
                    }
                else:
                    first["retrain"] = alert.id
                    context = {
                        "alert_id": alert.id,
                        "rule": alert.rule,
                        "model": name,
                        "version": alert.version,
                        "message": alert.message,
                    }
                    result = actions.start_retraining(
                        monitoring["retrain"]["command"],
                        context,
                        self.home / "monitoring",
                        timeout=monitoring["retrain"].get("timeout"),
                    )
            delivery: dict[str, Any] = {}
            if hook and hook.get("url"):
                secret = os.environ.get(hook["secret_env"]) if hook.get("secret_env") else None
                payload = alert.to_dict() | {"action": action, "action_result": result}
                delivery = actions.post_webhook(
                    hook["url"], payload, secret=secret, backoff=self.webhook_backoff
                )
                if delivery["status"] != "delivered":
                    log.warning(
                        "alert #%s: webhook to %s failed: %s", alert.id, hook["url"], delivery
                    )
            with self.db.write() as conn:
                conn.execute(
                    alerts.update()
                    .where(alerts.c.id == alert.id)
                    .values(
                        action=action,
                        action_result=orjson.dumps(result).decode(),
                        webhook=orjson.dumps(delivery).decode(),
                    )
                )
            done.append(self.get_alert(alert.id))
        return done

    def _rollback(self, name: str, alert: Alert, first: dict[str, int]) -> dict[str, Any]:
        if "rollback" in first:
            return {"status": "skipped", "reason": f"rolled back by alert #{first['rollback']}"}
        try:
            current = self.registry.resolve(f"models:/{name}@production").version
        except NotFound:
            return {"status": "skipped", "reason": "no version holds production"}
        if current != alert.version:
            return {
                "status": "skipped",
                "reason": f"production is version {current}, not {alert.version}",
            }
        history = self.registry.history(name, "production")
        if history and history[-1].reason.startswith("alert #"):
            return {
                "status": "skipped",
                "reason": f"production was rolled back already ({history[-1].reason.split(':')[0]}"
                "); another automatic rollback could bring back the version that alerted",
            }
        try:
            event = self.registry.rollback(
                name, "production", reason=f"alert #{alert.id} ({alert.rule}): {alert.message}"
            )
        except ShipwayError as exc:
            return {"status": "failed", "reason": str(exc)}
        first["rollback"] = alert.id
        return {"status": "rolled back", "from": event.from_version, "to": event.to_version}

    def monitored(self) -> list[str]:
        """Models whose current contract has monitoring rules."""
        names = [m.name for m in self.registry.list_models()]
        out = []
        for name in names:
            try:
                spec = self._spec(name)
            except NotFound:
                continue
            if spec["monitoring"].get("rules"):
                out.append(name)
        return out

    def run_all(self) -> dict[str, Any]:
        """``run`` for every monitored model; a failing model is logged, not fatal."""
        results: dict[str, Any] = {}
        for name in self.monitored():
            try:
                results[name] = self.run(name)
            except Exception as exc:  # keep monitoring the others
                log.exception("monitoring %s failed", name)
                results[name] = {"error": f"{type(exc).__name__}: {exc}"}
        return results

    # alerts --------------------------------------------------------------------------

    def get_alert(self, alert_id: int) -> Alert:
        with self.db.read() as conn:
            row = conn.execute(sa.select(alerts).where(alerts.c.id == alert_id)).first()
        if row is None:
            raise NotFound(f"no alert {alert_id}; `shipway alerts list` shows them")
        return _alert(row)

    def list_alerts(
        self, model: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[Alert]:
        if status is not None and status not in ("open", "acked"):
            raise InvalidInput(f"status must be open or acked, got {status!r}")
        query = sa.select(alerts).order_by(alerts.c.id.desc()).limit(min(max(limit, 1), 1000))
        if model:
            query = query.where(alerts.c.model == model)
        if status:
            query = query.where(alerts.c.status == status)
        with self.db.read() as conn:
            return [_alert(r) for r in conn.execute(query)]

    def ack(self, alert_id: int, comment: str = "") -> Alert:
        self.get_alert(alert_id)
        with self.db.write() as conn:
            conn.execute(
                alerts.update()
                .where(alerts.c.id == alert_id)
                .values(status="acked", acked_by=self.actor, acked_at=now_ms(), ack_comment=comment)
            )
            events.record(conn, self.actor, "ack", "alert", str(alert_id), {"comment": comment})
        return self.get_alert(alert_id)

    # report --------------------------------------------------------------------------

    def report(self, name: str, window: str | int = "24h") -> dict[str, Any]:
        """The report of the last ``window`` (a duration such as "24h", or seconds)."""
        seconds = duration(window)
        if seconds is None:
            raise InvalidInput(f"window {window!r} is not a duration; write 30m, 24h or 7d")
        return self.report_at(name, int(seconds), None)

    def report_at(self, name: str, window_seconds: int, now: int | None) -> dict[str, Any]:
        """Everything about the last ``window_seconds``: per version and arm the rows,
        latency, live metrics and label coverage; drift per feature; data quality; the
        series per bucket for plots; and the alerts fired in the window."""
        spec = self._spec(name)
        self.update_profiles(name)
        now = now or now_ms()
        bucket_ms = bucket_seconds(spec["monitoring"]) * 1000
        end = (now // bucket_ms + 1) * bucket_ms
        # whole buckets: at least the window, rounded up to the bucket
        start = end - -(-window_seconds * 1000 // bucket_ms) * bucket_ms
        window = self.window(name, start, end)
        labels = self.labels_table(name)
        scored = self.quality(name, start, end, labels)
        versions: dict[str, Any] = {}
        for (version, arm), profile in sorted(window.items()):
            entry = versions.setdefault(str(version), {"arms": {}})
            latency = profile.columns.get(LATENCY)
            entry["arms"][arm] = {
                "rows": profile.rows,
                "errors": profile.errors,
                "dropped": profile.dropped,
                "latency_p95_ms": None
                if latency is None or not latency.count
                else round(float(latency.sketch.get_quantile(0.95)), 3),
                "quality": scored.get((version, arm)),
            }
        for label in versions:
            merged = Profile.merge_all(
                [p for (v, a), p in window.items() if str(v) == label and a != "shadow"]
            )
            versions[label]["drift"] = self.drift(
                name, int(label), merged, spec["monitoring"]["rules"].get("drift")
            )
            versions[label]["data_quality"] = self.data_quality(name, merged)
        series = self._series(name, start, end, spec, labels)
        return {
            "model": name,
            "window": {"start": start, "end": end, "seconds": window_seconds},
            "production": self._production(name),
            "versions": versions,
            "series": series,
            "alerts": [
                a.to_dict() for a in self.list_alerts(name, limit=1000) if a.fired_at >= start
            ],
            "history": [e.to_dict() for e in self.registry.history(name, "production")][-10:],
        }

    def _production(self, name: str) -> int | None:
        try:
            return self.registry.resolve(f"models:/{name}@production").version
        except NotFound:
            return None

    def _series(
        self, name: str, start: int, end: int, spec: dict[str, Any], labels: Any
    ) -> list[dict[str, Any]]:
        by_bucket: dict[int, Profile] = {}
        for bucket, _version, arm, profile in self.buckets(name, start, end):
            if arm != "shadow":
                by_bucket.setdefault(bucket, Profile()).merge(profile)
        import pyarrow.compute as pc

        bucket_ms = bucket_seconds(spec["monitoring"]) * 1000
        metric = next(iter(_metric_names(spec)), None)
        files = self.predictions.local_files(
            self.predictions.segments(name, since=start, until=end)
        )
        joined = quality.joined(files, labels, start, end) if metric else None
        out = []
        for bucket, profile in sorted(by_bucket.items()):
            latency = profile.columns.get(LATENCY)
            point: dict[str, Any] = {
                "time": bucket,
                "rows": profile.rows,
                "latency_p95_ms": None
                if latency is None or not latency.count
                else float(latency.sketch.get_quantile(0.95)),
            }
            if metric and joined is not None:
                in_bucket = pc.and_(
                    pc.greater_equal(joined.column("time_ms"), bucket),
                    pc.less(joined.column("time_ms"), bucket + bucket_ms),
                )
                scored = self._score(name, spec, joined.filter(in_bucket))
                values = [s["metrics"].get(metric) for s in scored.values() if s["labelled"]]
                values = [v for v in values if v is not None]
                point[metric] = (
                    values[0]
                    if len(values) == 1
                    else (sum(values) / len(values) if values else None)
                )
            out.append(point)
        return out


def _lock(conn: Any, name: str) -> None:
    """Serialise with other monitor runs of this model (its state row, FOR UPDATE)."""
    conn.execute(
        sa.select(monitor_state.c.model).where(monitor_state.c.model == name).with_for_update()
    ).first()


def _hashed(spec: Mapping[str, Any]) -> set[str]:
    """Input columns the prediction log holds as digests (privacy.log.hash and PII)."""
    pii = {name for name, column in spec["schema"].items() if column.get("pii")}
    return set(spec["privacy"]["log"]["hash"]) | pii


def _metric_names(spec: Mapping[str, Any]) -> list[str]:
    live = spec["monitoring"].get("rules", {}).get("live", {})
    named = [k.rsplit("_", 1)[0] for k in (live.get("metrics") or {})]
    defaults = (
        ["accuracy", "f1"]
        if spec.get("task") in ("binary-classification", "multiclass-classification")
        else ["rmse", "mae"]
    )
    return list(dict.fromkeys(named + defaults))


def _severity(feature: Mapping[str, Any]) -> float:
    score = feature.get("score")
    if score is None:
        return 0.0
    return float(1 - score if feature.get("method") in ("ks", "chi2") else score)


def _rid(item: Any) -> Any:
    return item.get("request_id") if isinstance(item, Mapping) else None


def _check_item(item: Any, task: str | None) -> str | None:
    if not isinstance(item, Mapping):
        return "each item is an object {request_id, row, label}"
    unknown = sorted(set(item) - {"request_id", "row", "label"})
    if unknown:
        return f"unknown fields {unknown}; an item has request_id, row (default 0) and label"
    rid = item.get("request_id")
    if not isinstance(rid, str) or not rid or len(rid) > 128:
        return "request_id must be the non-empty id the server answered with (X-Request-ID)"
    row = item.get("row", 0)
    if row is not None and (
        isinstance(row, bool) or not isinstance(row, int) or not 0 <= row < 2**31
    ):
        return f"row must be a whole number from 0 to 2**31 - 1, got {row!r}"
    if "label" not in item or item["label"] is None:
        return "label is missing"
    label = item["label"]
    if task == "regression":
        if (
            isinstance(label, bool)
            or not isinstance(label, (int, float))
            or not math.isfinite(label)
        ):
            return f"a regression label is a finite number, got {label!r}"
    elif not isinstance(label, (str, int, bool)) or isinstance(label, float):
        return f"a class label is a string, a whole number or a boolean, got {label!r}"
    elif isinstance(label, int) and not -(2**63) <= label < 2**63:
        return f"a class label must fit in 64 bits, got {label!r}"
    elif isinstance(label, str) and len(label) > 1000:
        return "a class label is at most 1000 characters"
    return None


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
