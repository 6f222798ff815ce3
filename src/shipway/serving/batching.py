"""Adaptive micro-batching: requests that arrive while the model is busy share one call.

A request that finds the queue empty runs at once (an empty queue never waits). While a
batch runs, the event loop is busy, so new requests pile up; the next batch takes them all
(up to ``max_size`` rows). ``max_wait`` only applies once a batch already has company: it
is how long to wait for more before calling the model.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable
from typing import Any

from shipway.errors import InvalidInput
from shipway.serving.codecs import Rows, merge

log = logging.getLogger("shipway.serving")

# rows, want probabilities -> (predictions, probabilities or None)
PredictFn = Callable[[Rows, bool], tuple[Any, Any]]


class Batcher:
    def __init__(
        self,
        predict: PredictFn,
        *,
        max_size: int,
        max_wait: float,
        on_batch: Callable[[int], None] | None = None,
        on_depth: Callable[[int], None] | None = None,
    ) -> None:
        self.predict = predict
        self.max_size = max_size
        self.max_wait = max_wait
        self.on_batch = on_batch
        self.on_depth = on_depth
        self._queue: collections.deque[tuple[Rows, bool, asyncio.Future[Any]]] = collections.deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def submit(self, rows: Rows, want_proba: bool) -> tuple[Any, Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((rows, want_proba, future))
        if self.on_depth is not None:
            self.on_depth(len(self._queue))
        self._wake.set()
        result: tuple[Any, Any] = await future
        return result

    async def close(self) -> None:
        """Answer what is queued, then stop."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch = self._take()
                busy = len(batch) > 1 or bool(self._queue)  # alone: run now, never wait
                if busy and self.max_wait > 0 and self._rows(batch) < self.max_size:
                    await asyncio.sleep(self.max_wait)
                    batch.extend(self._take(self.max_size - self._rows(batch)))
                if self.on_depth is not None:
                    self.on_depth(len(self._queue))
                self._run_batch(batch)
                await asyncio.sleep(0)  # let the loop read the requests that came in meanwhile
            if self._closing:
                return

    def _take(self, limit: int | None = None) -> list[tuple[Rows, bool, asyncio.Future[Any]]]:
        budget = self.max_size if limit is None else limit
        taken: list[tuple[Rows, bool, asyncio.Future[Any]]] = []
        while self._queue and (not taken or self._queue[0][0].n <= budget):
            item = self._queue.popleft()
            taken.append(item)
            budget -= item[0].n
            if budget <= 0:
                break
        return taken

    @staticmethod
    def _rows(batch: list[tuple[Rows, bool, asyncio.Future[Any]]]) -> int:
        return sum(item[0].n for item in batch)

    def _run_batch(self, batch: list[tuple[Rows, bool, asyncio.Future[Any]]]) -> None:
        batch = [item for item in batch if not item[2].done()]  # cancelled by the client
        if not batch:
            return
        if self.on_batch is not None:
            self.on_batch(self._rows(batch))
        want = any(item[1] for item in batch)
        try:
            predictions, proba = self.predict(merge([item[0] for item in batch]), want)
        except InvalidInput:
            if len(batch) == 1:
                raise_into(batch[0][2])
                return
            for item in batch:  # one bad request must not fail the others: run them alone
                self._run_batch([item])
            return
        except Exception:
            for item in batch:
                raise_into(item[2])
            return
        offset = 0
        for rows, wants, future in batch:
            end = offset + rows.n
            future.set_result(
                (
                    predictions[offset:end],
                    proba[offset:end] if wants and proba is not None else None,
                )
            )
            offset = end


def raise_into(future: asyncio.Future[Any]) -> None:
    """Pass the exception being handled to ``future``'s waiter."""
    import sys

    exc = sys.exc_info()[1]
    if exc is not None and not future.done():
        future.set_exception(exc)
