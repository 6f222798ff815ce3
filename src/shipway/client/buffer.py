"""Buffered metric logging.

``log_metric`` only appends to per-key arrays under a lock; a background thread sends what
has accumulated every ``flush_interval`` seconds, or sooner once ``batch_size`` points wait.
``flush()`` sends everything now and re-raises the first error a background send hit, so
nothing logged is lost silently: a batch that could not be sent is put back and sent again
by the next flush.
"""

from __future__ import annotations

import threading
from array import array
from collections.abc import Callable, Mapping

from shipway.records import Series

Sender = Callable[[Mapping[str, Series]], object]


def _new_series() -> Series:
    return Series(array("d"), array("q"), array("q"))


class MetricBuffer:
    def __init__(self, send: Sender, batch_size: int, interval: float) -> None:
        self._send = send
        self._batch_size = max(1, batch_size)
        self._interval = interval
        self._data: dict[str, Series] = {}
        self._count = 0
        self._lock = threading.Lock()  # guards _data and _count
        self._send_lock = threading.Lock()  # one send at a time, so batches stay in order
        self._error: BaseException | None = None
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None

    def add(
        self, values: Mapping[str, float], step: int | Mapping[str, int], timestamp: int
    ) -> None:
        """Append one point per key (``step`` may differ per key)."""
        self._raise_pending()
        with self._lock:
            data = self._data
            for key, value in values.items():
                series = data.get(key)
                if series is None:
                    series = data[key] = _new_series()
                series.values.append(value)
                series.steps.append(step if isinstance(step, int) else step[key])
                series.timestamps.append(timestamp)
            self._count += len(values)
            full = self._count >= self._batch_size
        if self._thread is None:
            self._start()
        if full:
            self._wake.set()

    def flush(self) -> None:
        """Send every buffered point now; raise if this or an earlier send failed."""
        self._drain()
        self._raise_pending()

    def close(self) -> None:
        """Flush, then stop the background thread."""
        try:
            self.flush()
        finally:
            self._closed = True
            self._wake.set()

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="shipway-metrics", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._closed:
            self._wake.wait(self._interval)
            self._wake.clear()
            if self._closed:
                return
            try:
                self._drain()
            except BaseException as exc:  # kept, and raised in the caller's thread
                self._error = self._error or exc

    def _drain(self) -> None:
        with self._send_lock:
            with self._lock:
                batch, self._data, self._count = self._data, {}, 0
            pieces = _split(batch, self._batch_size)
            for i, piece in enumerate(pieces):
                try:
                    self._send(piece)
                except BaseException:
                    for unsent in reversed(pieces[i:]):
                        self._put_back(unsent)
                    raise

    def _put_back(self, batch: dict[str, Series]) -> None:
        with self._lock:
            newer, self._data = self._data, batch
            for key, series in newer.items():
                mine = self._data.setdefault(key, _new_series())
                mine.values.extend(series.values)
                mine.steps.extend(series.steps)
                mine.timestamps.extend(series.timestamps)
            self._count = sum(len(s) for s in self._data.values())

    def _raise_pending(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    @property
    def pending(self) -> int:
        return self._count


def _split(batch: dict[str, Series], size: int) -> list[dict[str, Series]]:
    """Cut a batch into pieces of at most ``size`` points (keys stay in order)."""
    pieces: list[dict[str, Series]] = []
    current: dict[str, Series] = {}
    room = size
    for key, series in batch.items():
        start = 0
        while start < len(series):
            take = min(room, len(series) - start)
            end = start + take
            current[key] = Series(
                series.values[start:end], series.steps[start:end], series.timestamps[start:end]
            )
            start, room = end, room - take
            if room == 0:
                pieces.append(current)
                current, room = {}, size
    if current:
        pieces.append(current)
    return pieces
