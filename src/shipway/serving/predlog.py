"""The prediction log writer: records queued in memory, written as Parquet segments by a
background thread. The request path only appends to a deque; when the queue is full the
record is dropped and counted, never waited for.

One segment holds the rows of one model version, so its columns are that version's
inputs. Columns: ``request_id``, ``row`` (position in the request), ``time`` (UTC),
``endpoint``, ``model``, ``version``, ``arm`` (primary, canary, shadow), ``protocol``,
``latency_ms``, ``inputs`` (a struct, one field per input column), ``prediction`` and,
for classifiers, ``probabilities`` (a list per row).
"""

from __future__ import annotations

import collections
import hashlib
import logging
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shipway.serving.codecs import Rows

log = logging.getLogger("shipway.serving")

# (model, version, parquet file, rows, first time ms, last time ms) -> None
SegmentSink = Callable[[str, int, Path, int, int, int], None]

_ARROW_TYPES = {"int": "int64", "float": "float64", "bool": "bool_", "string": "string"}


@dataclass(slots=True)
class PredictionRecord:
    request_id: str
    time_ms: int
    endpoint: str
    model: str
    version: int
    arm: str
    protocol: str
    latency_ms: float
    input_names: Sequence[str]
    input_types: Sequence[str]
    rows: Rows
    predictions: Any
    probabilities: Any
    hashed: frozenset[str] = frozenset()  # input columns logged as their SHA-256
    dropped: frozenset[str] = frozenset()  # input columns not logged at all


class PredictionLogWriter:
    """Queue ``PredictionRecord``s; a thread writes them to ``sink`` as Parquet segments.

    Example::

        writer = PredictionLogWriter(sink, max_rows=100_000, flush_seconds=5)
        writer.put(record)      # never blocks
        writer.close()          # writes what is queued
    """

    def __init__(
        self,
        sink: SegmentSink,
        *,
        max_rows: int = 100_000,
        segment_rows: int = 50_000,
        flush_seconds: float = 5.0,
        on_drop: Callable[[int], None] | None = None,
        on_write: Callable[[int], None] | None = None,
    ) -> None:
        self.sink = sink
        self.max_rows = max_rows
        self.segment_rows = segment_rows
        self.flush_seconds = flush_seconds
        self.on_drop = on_drop
        self.on_write = on_write
        self.dropped = 0
        self.written = 0
        self._queue: collections.deque[PredictionRecord] = collections.deque()
        # per model version: [failed requests, dropped rows] since its last segment, written
        # into the next segment's Parquet metadata (a segment of no rows if need be)
        self._counts: dict[tuple[str, int], list[int]] = {}
        self._counts_lock = threading.Lock()
        self._queued_rows = 0
        self._wake = threading.Event()
        self._stop = False
        # flush() waits for a drain that began after it asked: a drain already under way
        # may have taken the queue before the last records arrived
        self._drains = threading.Condition()
        self._asked = 0
        self._drained = 0
        self._thread = threading.Thread(
            target=self._run, name="shipway-prediction-log", daemon=True
        )
        self._thread.start()

    def put(self, record: PredictionRecord) -> bool:
        """Queue one record; ``False`` (and counted as dropped) when the queue is full."""
        n = record.rows.n
        if self._queued_rows + n > self.max_rows or self._stop:
            self._count(record.model, record.version, dropped=n)
            self.dropped += n
            if self.on_drop is not None:
                self.on_drop(n)
            return False
        self._queue.append(record)
        self._queued_rows += n
        if self._queued_rows >= self.segment_rows:
            self._wake.set()
        return True

    def count_error(self, model: str, version: int) -> None:
        """A request to this version failed; monitoring reads the count per segment."""
        self._count(model, version, errors=1)

    def _count(self, model: str, version: int, *, errors: int = 0, dropped: int = 0) -> None:
        with self._counts_lock:
            counts = self._counts.setdefault((model, version), [0, 0])
            counts[0] += errors
            counts[1] += dropped

    def flush(self, timeout: float = 30.0) -> None:
        """Write everything queued now and wait until it is written."""
        with self._drains:
            self._asked += 1
            asked = self._asked
            self._wake.set()
            self._drains.wait_for(lambda: self._drained >= asked, timeout)

    def close(self, timeout: float = 30.0) -> None:
        self._stop = True
        self._wake.set()
        self._thread.join(timeout)

    @property
    def queued_rows(self) -> int:
        return self._queued_rows

    def _run(self) -> None:
        while True:
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            stopping = self._stop
            with self._drains:
                asked = self._asked
            self._drain()
            with self._drains:
                self._drained = asked
                self._drains.notify_all()
            if stopping:
                return

    def _drain(self) -> None:
        batch: list[PredictionRecord] = []
        while self._queue:
            record = self._queue.popleft()
            self._queued_rows -= record.rows.n
            batch.append(record)
        with self._counts_lock:
            counts, self._counts = self._counts, {}
        if not batch and not counts:
            return
        groups: dict[tuple[str, int], list[PredictionRecord]] = {key: [] for key in counts}
        for record in batch:
            groups.setdefault((record.model, record.version), []).append(record)
        for (model, version), records in groups.items():
            rows = sum(r.rows.n for r in records)
            errors, dropped = counts.get((model, version), (0, 0))
            try:
                self._write(model, version, records, errors, dropped)
            except Exception:  # a full disk, a store that is down: count, log, keep serving
                log.exception(
                    "prediction log: could not write %d rows of %s/%s", rows, model, version
                )
                self._count(model, version, errors=errors, dropped=dropped + rows)  # next time
                self.dropped += rows
                if self.on_drop is not None:
                    self.on_drop(rows)
            else:
                self.written += rows
                if self.on_write is not None:
                    self.on_write(rows)

    def _write(
        self,
        model: str,
        version: int,
        records: list[PredictionRecord],
        errors: int = 0,
        dropped: int = 0,
    ) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if records:
            table = build_table(records, pa)
            first = min(r.time_ms for r in records)
            last = max(r.time_ms for r in records)
        else:  # only counts to report
            table = pa.table({"request_id": pa.array([], pa.string())})
            first = last = int(time.time() * 1000)
        table = table.replace_schema_metadata(
            {**(table.schema.metadata or {}), **counts_metadata(errors, dropped)}
        )
        with tempfile.TemporaryDirectory(prefix="shipway-predlog-") as tmp:
            path = Path(tmp) / "segment.parquet"
            pq.write_table(table, path, compression="zstd")
            self.sink(model, version, path, table.num_rows, first, last)


ERRORS_KEY = b"shipway.errors"
DROPPED_KEY = b"shipway.dropped"


def counts_metadata(errors: int, dropped: int) -> dict[bytes, bytes]:
    return {ERRORS_KEY: str(errors).encode(), DROPPED_KEY: str(dropped).encode()}


def read_counts(metadata: dict[bytes, bytes] | None) -> tuple[int, int]:
    """(failed requests, dropped rows) a segment reports (0, 0 for older segments)."""
    metadata = metadata or {}
    return int(metadata.get(ERRORS_KEY, b"0")), int(metadata.get(DROPPED_KEY, b"0"))


def build_table(records: list[PredictionRecord], pa: Any) -> Any:
    """One Arrow table of the rows of ``records`` (all of one model version)."""
    names = list(records[0].input_names)
    types = list(records[0].input_types)
    counts = [r.rows.n for r in records]

    def repeat(values: list[Any]) -> list[Any]:
        out: list[Any] = []
        for value, n in zip(values, counts, strict=True):
            out.extend([value] * n)
        return out

    row_index: list[int] = []
    for n in counts:
        row_index.extend(range(n))
    inputs = _private(_input_struct(records, names, types, pa), records[0], pa)
    predictions = np.concatenate([np.asarray(r.predictions) for r in records])
    columns: dict[str, Any] = {
        "request_id": pa.array(repeat([r.request_id for r in records]), pa.string()),
        "row": pa.array(row_index, pa.int32()),
        "time": pa.array(repeat([r.time_ms for r in records]), pa.timestamp("ms", tz="UTC")),
        "endpoint": pa.array(repeat([r.endpoint for r in records]), pa.string()),
        "model": pa.array(repeat([r.model for r in records]), pa.string()),
        "version": pa.array(repeat([r.version for r in records]), pa.int32()),
        "arm": pa.array(repeat([r.arm for r in records]), pa.string()),
        "protocol": pa.array(repeat([r.protocol for r in records]), pa.string()),
        "latency_ms": pa.array(repeat([r.latency_ms for r in records]), pa.float32()),
        "inputs": inputs,
        "prediction": _prediction_array(predictions, pa),
    }
    probas = [r.probabilities for r in records]
    if all(p is not None for p in probas):
        matrix = np.vstack([np.asarray(p, dtype=np.float64) for p in probas])
        flat = pa.array(matrix.ravel(), pa.float64())
        columns["probabilities"] = pa.FixedSizeListArray.from_arrays(flat, matrix.shape[1])
    return pa.table(columns)


def _private(inputs: Any, record: PredictionRecord, pa: Any) -> Any:
    """The contract's privacy rules: drop some input columns, log others as the SHA-256
    of their text (joinable, not readable; a pseudonym, not anonymisation)."""
    if not record.hashed and not record.dropped:
        return inputs
    names, arrays = [], []
    for i in range(inputs.type.num_fields):
        name = inputs.type.field(i).name
        if name in record.dropped:
            continue
        array = inputs.field(i)
        if name in record.hashed:
            array = pa.array(
                [
                    None if v is None else hashlib.sha256(str(v).encode()).hexdigest()
                    for v in array.to_pylist()
                ],
                pa.string(),
            )
        names.append(name)
        arrays.append(array)
    if not arrays:
        return pa.array([{}] * len(inputs), pa.struct([]))
    return pa.StructArray.from_arrays(arrays, names=names)


def _prediction_array(values: Any, pa: Any) -> Any:
    if values.ndim > 1:  # multi-output models: a list per row
        flat = values.reshape(values.shape[0], -1)
        return pa.FixedSizeListArray.from_arrays(_prediction_array(flat.ravel(), pa), flat.shape[1])
    if values.dtype.kind in "OUS":
        return pa.array([str(v) for v in values], pa.string())
    return pa.array(values)


def _input_struct(
    records: list[PredictionRecord], names: list[str], types: list[str], pa: Any
) -> Any:
    if all(r.rows.matrix is not None for r in records):
        matrix = np.vstack([r.rows.matrix for r in records])
        arrays = [pa.array(matrix[:, i], pa.float64()) for i in range(len(names))]
        return pa.StructArray.from_arrays(arrays, names=names)
    if not names:  # tensor models (or no signature): the columns the rows have
        names = list(records[0].rows.column_lists([]))
        types = ["float" if records[0].rows.columns is None else ""] * len(names)
    lists: dict[str, list[Any]] = {n: [] for n in names}
    for r in records:
        for name, values in r.rows.column_lists(names).items():
            lists[name].extend(values)
    arrays = [_column_array(lists[n], t, pa) for n, t in zip(names, types, strict=False)]
    return pa.StructArray.from_arrays(arrays, names=names)


def _column_array(values: list[Any], column_type: str, pa: Any) -> Any:
    arrow_type = _ARROW_TYPES.get(column_type)
    try:
        if arrow_type is not None:
            return pa.array(values, getattr(pa, arrow_type)())
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # values the model converted: keep as text
        return pa.array([None if v is None else str(v) for v in values], pa.string())
