"""Ground truth: labels for logged predictions, joined by request id and row, and the
live quality they give (the contract's task metrics per version and arm)."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from shipway.contracts.terms import Terms
from shipway.errors import InvalidInput, NotFound
from shipway.monitoring.context import Context, metric_names, now_ms
from shipway.monitoring.quality import joined, scores
from shipway.serving.predictions import open_log
from shipway.store import events
from shipway.store import monitoring as repo

MAX_FEEDBACK = 100_000
Scored = dict[tuple[int, str], dict[str, Any]]  # (version, arm) -> labelled, coverage, metrics


class Feedback:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def log(self, name: str, items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Store labels for logged predictions, joined by ``request_id`` (and ``row``, default
        0). Unknown ids are reported back, not stored; the same label again is a no-op; a
        different label for the same prediction replaces it (a correction)."""
        ctx = self.ctx
        ctx.registry.get_model(name)
        if not isinstance(items, Sequence) or isinstance(items, (str, bytes)):
            raise InvalidInput("feedback is a list of {request_id, row, label} items")
        if len(items) > MAX_FEEDBACK:
            raise InvalidInput(f"at most {MAX_FEEDBACK} labels per call; send them in batches")
        task = None
        with contextlib.suppress(NotFound):
            task = ctx.terms(name).task
        clean: dict[tuple[str, int], str] = {}
        invalid: list[dict[str, Any]] = []
        for i, item in enumerate(items):
            problem = _check_item(item, task)
            if problem:
                rid = item.get("request_id") if isinstance(item, Mapping) else None
                invalid.append({"index": i, "request_id": rid, "reason": problem})
                continue
            key = (str(item["request_id"]), int(item.get("row", 0) or 0))
            clean[key] = orjson.dumps(item["label"]).decode()
        known = self.known(name, list(clean))
        unknown = sorted({rid for rid, row in clean if (rid, row) not in known})
        duplicates = updated = 0
        received = now_ms()
        fresh = []
        with ctx.db.write() as conn:
            existing = repo.feedback_of(conn, name, sorted({rid for rid, _ in clean}))
            for key, label in clean.items():
                if key not in known:
                    continue
                if key not in existing:
                    fresh.append(
                        {
                            "model": name,
                            "request_id": key[0],
                            "row": key[1],
                            "label": label,
                            "received_at": received,
                            "created_by": ctx.actor,
                        }
                    )
                elif existing[key][1] == label:
                    duplicates += 1
                else:
                    repo.relabel(conn, existing[key][0], label, received, ctx.actor)
                    updated += 1
            if fresh:
                repo.add_feedback(conn, fresh)
            counts = {"accepted": len(fresh), "updated": updated, "unknown": len(unknown)}
            events.record(conn, ctx.actor, "feedback", "model", name, counts)
        return {
            "accepted": len(fresh),
            "duplicates": duplicates,
            "updated": updated,
            "unknown": unknown,
            "invalid": invalid,
        }

    def known(self, name: str, keys: list[tuple[str, int]]) -> set[tuple[str, int]]:
        """Which of the ``(request_id, row)`` keys are in the model's prediction log."""
        if not keys:
            return set()
        import pyarrow as pa

        log = self.ctx.predictions
        files = log.local_files(log.segments(name))
        if not files:
            return set()
        wanted = pa.table(
            {"request_id": [k[0] for k in keys], "row": pa.array([k[1] for k in keys], pa.int32())}
        )
        with open_log(files) as con:
            con.register("wanted", wanted)
            found = con.sql(
                """SELECT DISTINCT l.request_id, l.row FROM predictions l
                   JOIN wanted w ON w.request_id = l.request_id AND w.row = l.row"""
            ).fetchall()
        return {(str(r), int(n)) for r, n in found}

    def labels(self, name: str) -> Any:
        """Every label of the model as a ``pyarrow.Table`` (request_id, row, label)."""
        import pyarrow as pa

        with self.ctx.db.read() as conn:
            rows = repo.labels(conn, name)
        return pa.table(
            {
                "request_id": pa.array([r.request_id for r in rows], pa.string()),
                "row": pa.array([r.row for r in rows], pa.int32()),
                "label": pa.array([r.label for r in rows], pa.string()),
            }
        )

    def quality(
        self, name: str, start: int, end: int, labels: Any = None, t: Terms | None = None
    ) -> Scored:
        """The contract's task metrics per (version, arm) over rows logged in [start, end)."""
        t = t or self.ctx.terms(name)
        log = self.ctx.predictions
        files = log.local_files(log.segments(name, since=start, until=end))
        if labels is None:
            labels = self.labels(name)
        return self.score(name, t, joined(files, labels, start, end))

    def score(self, name: str, t: Terms, table: Any) -> Scored:
        """The task metrics per (version, arm) of joined rows (``quality.joined``)."""
        import pyarrow.compute as pc

        if table is None or table.num_rows == 0:
            return {}
        metrics = metric_names(t)
        out: Scored = {}
        versions = table.column("version").to_pylist()
        for version in sorted(set(versions)):
            classes = self.ctx.model(name, version).classes
            positive = t.positive_class
            if positive is None and classes:
                positive = classes[-1] if len(classes) == 2 else classes[0]
            part = table.filter(pc.equal(table.column("version"), version))
            for arm in sorted(set(part.column("arm").to_pylist())):
                rows = part.filter(pc.equal(part.column("arm"), arm))
                out[(version, arm)] = scores(rows, metrics, classes, positive)
        return out


def _check_item(item: Any, task: str | None) -> str | None:
    """What is wrong with one feedback item, or None."""
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
