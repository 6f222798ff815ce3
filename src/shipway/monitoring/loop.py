"""The platform server's periodic jobs: the monitor's ``run_all`` (and the pipeline
scheduler's round) every ``interval`` seconds in a thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("shipway.monitoring")


class MonitorLoop:
    """Example::

    loop = MonitorLoop(lambda: services.monitoring.run_all(), interval=300)
    loop.start(); ...; loop.stop()
    """

    def __init__(self, job: Callable[[], Any], interval: float, *, name: str = "monitor") -> None:
        self.job = job
        self.interval = interval
        self.name = name
        self.runs = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"shipway-{name}", daemon=True)

    def start(self) -> None:
        if self.interval > 0:
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.job()
            except Exception:  # the next round tries again
                log.exception("the periodic %s run failed", self.name)
            self.runs += 1
