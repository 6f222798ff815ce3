"""Profiles: each version's reference (from its training data), the log's window profiles
per (version, arm, bucket) — each prediction-log segment profiled exactly once — and
what a window shows against the reference: drift per feature and data quality."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import sqlalchemy as sa

from shipway.contracts import rules
from shipway.contracts.terms import Rule, Terms
from shipway.errors import InvalidInput, NotFound
from shipway.monitoring.context import Context, bucket_seconds, hashed, now_ms
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
from shipway.serving.predlog import read_counts
from shipway.store import monitoring as repo

BATCH_SEGMENTS = 64  # segments profiled per transaction
LOG_COLUMNS = ["time", "version", "arm", "row", "latency_ms", "inputs", "prediction"]
Key = tuple[int, str, int]  # version, arm, bucket start (ms)


class Profiles:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def reference(
        self, name: str, version: int, *, rebuild: bool = False, t: Terms | None = None
    ) -> tuple[Profile, str]:
        """The version's reference profile (built once from its training data, or from
        ``monitoring.reference``) and the dataset version it came from."""
        ctx = self.ctx
        with ctx.db.read() as conn:
            row = repo.reference(conn, name, version)
        if row is not None and not rebuild:
            return Profile.from_bytes(row.data), row.dataset
        t = t or ctx.terms(name)
        ref = t.monitoring.reference
        if ref is None:
            run_id = ctx.registry.get_version(name, version).run_id
            training = [i for i in ctx.datasets.inputs(run_id) if i.context == "training"]
            if not training:
                raise NotFound(
                    f"{name} v{version} has no training dataset linked to its run and the "
                    "contract names no monitoring.reference; set one (NAME@VERSION)"
                )
            ref = f"{training[0].dataset}@{training[0].version}"
        model = ctx.model(name, version)
        frame = ctx.datasets.read_table(ref).to_pandas()
        profile = reference_profile(frame, model, feature_kinds(model), schema_bounds(t.schema))
        try:
            with ctx.db.write() as conn:
                repo.replace_reference(conn, name, version, ref, profile.to_bytes(), now_ms())
        except sa.exc.IntegrityError:
            pass  # a concurrent run stored the same reference first
        return profile, ref

    def update(self, name: str, t: Terms | None = None) -> dict[str, int]:
        """Profile every segment of the model's log not profiled yet, exactly once."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        ctx = self.ctx
        t = t or ctx.terms(name)
        bucket = bucket_seconds(t.monitoring)
        bounds = schema_bounds(t.schema)
        with ctx.db.write() as conn:
            repo.ensure_state(conn, name, bucket)
        with ctx.db.read() as conn:
            profiled = repo.profiled(conn, name)
        pending = sorted(
            (s for s in ctx.predictions.segments(name) if s.id not in profiled), key=lambda s: s.id
        )
        kinds: dict[int, dict[str, str]] = {}

        def load(segment: Any) -> Any:
            # read once, verified, straight from the blob store (no cache copy to write)
            data = pa.BufferReader(ctx.predictions.blobs.get_bytes(segment.digest))
            present = set(pq.read_schema(data).names)
            return pq.read_table(data, columns=[c for c in LOG_COLUMNS if c in present])

        done = rows = 0
        # one thread fetches and decodes the next segment while this one is profiled
        with ThreadPoolExecutor(1, thread_name_prefix="shipway-monitor-read") as reader:
            for first in range(0, len(pending), BATCH_SEGMENTS):
                chunk = pending[first : first + BATCH_SEGMENTS]
                merged: dict[Key, Profile] = {}
                upcoming = reader.submit(load, chunk[0])
                for i, segment in enumerate(chunk):
                    table = upcoming.result()
                    if i + 1 < len(chunk):
                        upcoming = reader.submit(load, chunk[i + 1])
                    if segment.version not in kinds:
                        kinds[segment.version] = feature_kinds(ctx.model(name, segment.version))
                    profiles = profile_log(table, kinds[segment.version], bounds, bucket)
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
        self, name: str, segment_ids: list[int], bucket: int, profiles: dict[Key, Profile]
    ) -> bool:
        """Add ``profiles`` (of ``segment_ids``) to the stored buckets and list the segments
        as profiled, in one transaction; False if another run profiled one of them first."""
        now = now_ms()
        try:
            with self.ctx.db.write() as conn:
                repo.lock(conn, name)
                repo.mark_profiled(conn, name, segment_ids, now)
                for key, profile in profiles.items():
                    row = repo.bucket(conn, name, *key, bucket)
                    if row is None:
                        repo.add_bucket(
                            conn, name, key, bucket, profile.rows, profile.to_bytes(), now
                        )
                    else:
                        stored = Profile.from_bytes(row.data)
                        stored.merge(profile)
                        repo.update_bucket(conn, row.id, stored.rows, stored.to_bytes(), now)
        except sa.exc.IntegrityError:
            return False
        return True

    def window(self, name: str, start: int, end: int) -> dict[tuple[int, str], Profile]:
        """The merged profile of each (version, arm) over buckets starting in [start, end)."""
        out: dict[tuple[int, str], Profile] = {}
        for _, version, arm, profile in self.buckets(name, start, end):
            out.setdefault((version, arm), Profile()).merge(profile)
        return out

    def buckets(self, name: str, start: int, end: int) -> list[tuple[int, int, str, Profile]]:
        """Each stored bucket starting in [start, end): (start, version, arm, profile)."""
        with self.ctx.db.read() as conn:
            rows = repo.buckets(conn, name, start, end)
        return [(r.bucket_start, r.version, r.arm, Profile.from_bytes(r.data)) for r in rows]

    def drift(
        self, name: str, version: int, current: Profile, rule: Rule | None, t: Terms
    ) -> dict[str, Any]:
        """Drift of every feature and of the prediction against the version's reference,
        with the tests and thresholds of ``rule`` (a drift rule; None: the defaults)."""
        try:
            reference, dataset = self.reference(name, version, t=t)
        except (NotFound, InvalidInput) as exc:
            return {"reference": None, "error": str(exc), "features": [], "prediction": None}
        params = rule.params if rule is not None else {}
        overrides = params.get("features") or {}
        min_rows = int((rule.min_rows if rule is not None else None) or MIN_ROWS)
        skipped = hashed(t)
        results: list[ColumnDrift] = []
        for column in sorted(set(current.columns) - {LATENCY}):
            if column in skipped:  # the log holds digests: nothing to compare with the data
                rows = current.columns[column].count
                results.append(ColumnDrift(column, "none", math.nan, 0.0, False, "hashed", rows))
                continue
            override = overrides.get(column) or {}
            if override.get("method"):
                method, threshold = override["method"], override.get("threshold")
            else:
                method = params.get("method") or "auto"
                threshold = override.get("threshold", params.get("threshold"))
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


def data_quality(t: Terms, current: Profile) -> dict[str, Any]:
    """Per input column: rows, nulls, values out of the contract's range, values it does
    not list (``unseen``) and nulls where it allows none."""
    skipped = hashed(t)
    out: dict[str, Any] = {}
    for column, profile in sorted(current.columns.items()):
        if column in (LATENCY, PREDICTION) or column in skipped:
            continue
        entry: dict[str, Any] = {
            "rows": profile.rows,
            "nulls": profile.nulls,
            "out_of_range": profile.out_of_range,
        }
        declared = t.schema.get(column)
        if declared is not None and declared.values is not None and profile.counts:
            known = {str(v) for v in declared.values}
            entry["unseen"] = {v: n for v, n in profile.counts.items() if v not in known}
        if profile.nulls and declared is not None and not declared.nullable:
            entry["unexpected_nulls"] = profile.nulls
        out[column] = entry
    return out


def p95_ms(profile: Profile) -> float | None:
    """The window's 95th percentile latency, or None when it served nothing."""
    latency = profile.columns.get(LATENCY)
    if latency is None or not latency.count:
        return None
    return float(latency.sketch.get_quantile(0.95))


def figures(profile: Profile, drift: dict[str, Any] | None = None) -> rules.Window:
    """A window's profile (and its drift) as the plain figures rules judge."""
    latency = profile.columns.get(LATENCY)
    count = 0 if latency is None else latency.count
    quantiles = {}
    if count:
        assert latency is not None
        quantiles = {
            "p95_ms": float(latency.sketch.get_quantile(0.95)),
            "p99_ms": float(latency.sketch.get_quantile(0.99)),
        }
    return rules.Window(
        rows=profile.rows,
        requests=profile.requests,
        errors=profile.errors,
        dropped=profile.dropped,
        latency_count=count,
        latency=quantiles,
        drift=drift,
    )
