"""The server's pipeline scheduler: fire due schedules, start queued runs.

Every ``interval`` seconds it asks the platform to queue the runs whose schedule is due
(``pipelines.tick``: a cron time passed, a dataset gained a version) and starts the queued
runs — those, and the ones a monitoring alert or an API caller queued — one at a time per
pipeline, oldest first. Each run is a ``shipway pipelines run --queued N`` process in the
pipeline's project folder (the pipeline's code never runs inside the server), its output
in ``HOME/pipelines/run-N.log``; a process that exits without recording an end fails its
run with the log's last lines.

>>> scheduler = PipelineScheduler(settings, interval=60)
>>> scheduler.start(); ...; scheduler.stop()
>>> scheduler.run_once(now=clock_ms)   # what each round does (tests inject the clock)
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shipway.config import Settings
from shipway.monitoring.loop import MonitorLoop

log = logging.getLogger("shipway.pipelines")


class PipelineScheduler:
    def __init__(
        self,
        settings: Settings,
        interval: float = 60.0,
        *,
        clock: Callable[[], int] | None = None,
        client: Any = None,
    ) -> None:
        from shipway.client import Client

        self.settings = settings
        self.interval = interval
        self.clock = clock
        self.client = client or Client("", settings=settings)  # this home, in-process
        self.running: dict[str, threading.Thread] = {}  # pipeline -> its run's thread
        self.started: list[int] = []  # the runs this scheduler started, in order
        self._lock = threading.Lock()
        self._loop = MonitorLoop(self.run_once, interval, name="scheduler")

    def start(self) -> None:
        self._loop.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._loop.stop(timeout)

    def run_once(self, now: int | None = None) -> list[int]:
        """Queue what is due at ``now`` (ms; the clock by default) and start every queued
        run whose pipeline is not running; the runs started."""
        if now is None and self.clock is not None:
            now = self.clock()
        self.client.pipelines.tick(now)
        queued = self.client.pipelines.list_runs(status="queued", limit=1000)
        started = []
        with self._lock:
            for run in sorted(queued, key=lambda r: r.id):
                busy = self.running.get(run.pipeline)
                if busy is not None and busy.is_alive():
                    continue  # one run at a time per pipeline: it waits for the next round
                thread = threading.Thread(
                    target=self._execute, args=(run,), name=f"pipeline-{run.id}", daemon=True
                )
                self.running[run.pipeline] = thread
                self.started.append(run.id)
                started.append(run.id)
                thread.start()
        return started

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the runs this scheduler started (tests, and a server shutting down)."""
        for thread in list(self.running.values()):
            thread.join(timeout)

    def _execute(self, run: Any) -> None:
        try:
            self._start(run)
        except Exception as exc:  # never leave the run queued: it would start every round
            log.exception("pipeline %s run #%s could not start", run.pipeline, run.id)
            with contextlib.suppress(Exception):
                self.client.pipelines.finish_run(
                    run.id, status="failed", outcome=f"the run could not start: {exc}"
                )

    def _start(self, run: Any) -> None:
        pipeline = self.client.pipelines.get(run.pipeline)
        folder = self.settings.home / "pipelines"
        folder.mkdir(parents=True, exist_ok=True)
        log_path = folder / f"run-{run.id}.log"
        command = [
            sys.executable,
            "-m",
            "shipway",
            "pipelines",
            "run",
            pipeline.source,
            "--queued",
            str(run.id),
            "--home",
            str(self.settings.home),
        ]
        env = dict(os.environ)
        env.setdefault("SHIPWAY_HOME", str(self.settings.home))
        with log_path.open("w") as out:
            try:
                code = subprocess.run(
                    command,
                    cwd=pipeline.project,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    check=False,
                ).returncode
            except OSError as exc:  # the project folder is gone
                out.write(f"shipway: could not start the run: {exc}\n")
                code = -1
        ended = self.client.pipelines.get_run(run.id)
        if ended.status in ("queued", "running"):
            tail = _tail(log_path)
            outcome = f"the run's process exited with {code} before recording its end"
            with contextlib.suppress(Exception):
                self.client.pipelines.finish_run(
                    run.id, status="failed", outcome=outcome, error=tail
                )
            if ended.run_id:  # and its parent run, which the process could not end
                with contextlib.suppress(Exception):
                    parent = self.client.get_run(ended.run_id)
                    if parent.status == "running":
                        self.client.tracking.update_run(
                            ended.run_id, status="failed", error=f"{outcome}\n{tail}"
                        )
        log.info("pipeline %s run #%s ended (exit %s)", run.pipeline, run.id, code)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
