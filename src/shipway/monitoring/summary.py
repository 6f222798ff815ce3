"""The figures of the monitoring report over a window (``report.py`` renders them): per
version and arm the rows, errors, latency and live quality; per version drift and data
quality; a series per bucket for plots; the alerts fired and the production history."""

from __future__ import annotations

from typing import Any

from shipway.contracts.terms import Terms
from shipway.errors import NotFound
from shipway.monitoring.alerts import Alerts
from shipway.monitoring.context import Context, bucket_seconds, metric_names, window_end
from shipway.monitoring.feedback import Feedback
from shipway.monitoring.profiles import Profiles, data_quality, p95_ms
from shipway.monitoring.quality import joined
from shipway.monitoring.sketches import Profile


def report(
    ctx: Context,
    profiles: Profiles,
    feedback: Feedback,
    alerts: Alerts,
    name: str,
    window_seconds: int,
    now: int,
) -> dict[str, Any]:
    """Everything about the last ``window_seconds`` before ``now`` (rounded up to whole
    buckets)."""
    t = ctx.terms(name)
    profiles.update(name, t)
    bucket_ms = bucket_seconds(t.monitoring) * 1000
    end = window_end(t.monitoring, now)
    start = end - -(-window_seconds * 1000 // bucket_ms) * bucket_ms
    window = profiles.window(name, start, end)
    labels = feedback.labels(name)
    scored = feedback.quality(name, start, end, labels, t)
    drift_rule = next((r for r in t.monitoring.rules if r.kind == "drift"), None)
    versions: dict[str, Any] = {}
    for (version, arm), profile in sorted(window.items()):
        p95 = p95_ms(profile)
        entry = versions.setdefault(str(version), {"arms": {}})
        entry["arms"][arm] = {
            "rows": profile.rows,
            "errors": profile.errors,
            "dropped": profile.dropped,
            "latency_p95_ms": None if p95 is None else round(p95, 3),
            "quality": scored.get((version, arm)),
        }
    for label, entry in versions.items():
        merged = Profile.merge_all(
            [p for (v, a), p in window.items() if str(v) == label and a != "shadow"]
        )
        entry["drift"] = profiles.drift(name, int(label), merged, drift_rule, t)
        entry["data_quality"] = data_quality(t, merged)
    try:
        production: int | None = ctx.registry.resolve(f"models:/{name}@production").version
    except NotFound:
        production = None
    return {
        "model": name,
        "window": {"start": start, "end": end, "seconds": window_seconds},
        "production": production,
        "versions": versions,
        "series": _series(ctx, profiles, feedback, name, start, end, t, labels),
        "alerts": [
            a.to_dict() for a in alerts.list_alerts(name, limit=1000) if a.fired_at >= start
        ],
        "history": [e.to_dict() for e in ctx.registry.history(name, "production")][-10:],
    }


def _series(
    ctx: Context,
    profiles: Profiles,
    feedback: Feedback,
    name: str,
    start: int,
    end: int,
    t: Terms,
    labels: Any,
) -> list[dict[str, Any]]:
    """One point per bucket: rows, p95 latency and the first live metric."""
    import pyarrow.compute as pc

    by_bucket: dict[int, Profile] = {}
    for bucket, _version, arm, profile in profiles.buckets(name, start, end):
        if arm != "shadow":
            by_bucket.setdefault(bucket, Profile()).merge(profile)
    bucket_ms = bucket_seconds(t.monitoring) * 1000
    metric = next(iter(metric_names(t)), None)
    log = ctx.predictions
    files = log.local_files(log.segments(name, since=start, until=end))
    rows = joined(files, labels, start, end) if metric else None
    out = []
    for bucket, profile in sorted(by_bucket.items()):
        point: dict[str, Any] = {
            "time": bucket,
            "rows": profile.rows,
            "latency_p95_ms": p95_ms(profile),
        }
        if metric and rows is not None:
            in_bucket = pc.and_(
                pc.greater_equal(rows.column("time_ms"), bucket),
                pc.less(rows.column("time_ms"), bucket + bucket_ms),
            )
            scored = feedback.score(name, t, rows.filter(in_bucket))
            values = [s["metrics"].get(metric) for s in scored.values() if s["labelled"]]
            values = [v for v in values if v is not None]
            point[metric] = (
                values[0] if len(values) == 1 else (sum(values) / len(values) if values else None)
            )
        out.append(point)
    return out
