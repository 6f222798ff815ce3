"""The pipeline operations: pipelines and their runs, the step cache the runner's workers
read and write, schedules and triggers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol

from shipway.errors import Conflict, InvalidInput
from shipway.operations.declare import op
from shipway.operations.types import Limit, Name, Number
from shipway.records import CachedStep, Pipeline, PipelineRun, Schedule

DS = "data-scientist"
Trigger = Literal["manual", "schedule", "dataset", "alert", "api"]
Ending = Literal["finished", "failed"]


class Pipelines(Protocol):
    @op("PUT", "/pipelines/{name}", role=DS, event="create")
    def register(
        self,
        name: Name,
        source: str,
        project: str,
        *,
        experiment: str | None = None,
        steps: Sequence[Mapping[str, Any]] = (),
    ) -> Pipeline:
        """Record a pipeline and where its definition lives (``source``: FILE.py[:ATTR] or
        shipway.yaml, in folder ``project``); ``shipway pipelines run`` does it each run."""
        ...

    @op("GET", "/pipelines/{name}", role="viewer")
    def get(self, name: str) -> Pipeline:
        """A pipeline: its source, experiment and last graph of steps."""
        ...

    @op("GET", "/pipelines", role="viewer", key="pipelines")
    def list_pipelines(self) -> list[Pipeline]:
        """Every pipeline, by name."""
        ...

    @op("POST", "/pipelines/cache/lookup", role="viewer", key="entries", errors=(InvalidInput,))
    def lookup(self, keys: Sequence[str]) -> list[CachedStep]:
        """The step-cache entries among ``keys`` (at most 1,000); missing keys are absent."""
        ...

    @op("POST", "/pipelines/{pipeline}/cache", role=DS, status=201)
    def record_step(
        self,
        pipeline: str,
        step: str,
        key: str,
        run_id: str,
        output: Mapping[str, Any],
        components: Mapping[str, Any],
        duration_ms: int = 0,
    ) -> CachedStep:
        """Record what a step produced under its cache key (the first record of a key
        stays)."""
        ...

    @op("POST", "/pipelines/{pipeline}/cache/hits", role=DS, status=201, key="run_ids")
    def record_hits(
        self, pipeline: str, run: Number, parent_id: str, hits: Sequence[Mapping[str, Any]]
    ) -> list[str]:
        """Record steps reused from the cache (``{"step", "key", "cached_from"}`` each, at
        most 1,000) as finished nested runs of ``parent_id``, in one transaction; the new
        run ids in order."""
        ...

    @op("GET", "/pipelines/{name}/cache", role="viewer", key="entries")
    def latest_steps(self, name: str) -> list[CachedStep]:
        """The newest cache entry of each step (what ``status`` compares against)."""
        ...

    @op("POST", "/pipelines/{name}/runs", role=DS, status=201, event="request_run")
    def request_run(
        self,
        name: str,
        *,
        trigger: Trigger = "api",
        detail: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> PipelineRun:
        """Queue a run; ``shipway server``'s scheduler starts it (one at a time per
        pipeline).

        >>> client.pipelines.request_run("churn", params={"C": 0.5})
        """
        ...

    @op("POST", "/pipelines/{name}/runs/started", role=DS, status=201, errors=(Conflict,))
    def start_run(
        self,
        name: str,
        *,
        run_id: str,
        trigger: Trigger = "manual",
        detail: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        queued: int | None = None,
    ) -> PipelineRun:
        """Record that a run started under parent run ``run_id`` (the queued run ``queued``,
        or a new one)."""
        ...

    @op("PATCH", "/pipeline-runs/{run}", role=DS)
    def finish_run(
        self,
        run: Number,
        *,
        status: Ending,
        outcome: str = "",
        steps: Mapping[str, Any] | None = None,
        error: str | None = None,
    ) -> PipelineRun:
        """Record how a run ended: its outcome and each step's result."""
        ...

    @op("GET", "/pipeline-runs/{run}", role="viewer")
    def get_run(self, run: Number) -> PipelineRun:
        """One pipeline run: what started it, each step's result, the outcome."""
        ...

    @op("GET", "/pipeline-runs", role="viewer", key="runs", wire={"name": "pipeline"})
    def list_runs(
        self, name: str | None = None, status: str | None = None, limit: Limit = 100
    ) -> list[PipelineRun]:
        """Pipeline runs, newest first (of one pipeline, with one status)."""
        ...

    @op("POST", "/pipelines/{name}/schedules", role=DS, status=201, event="schedule")
    def schedule(
        self,
        name: str,
        *,
        cron: str | None = None,
        on_dataset: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Schedule:
        """Start the pipeline on a cron schedule (UTC) or on each new version of a dataset.

        >>> client.pipelines.schedule("churn", cron="0 3 * * *")
        """
        ...

    @op("DELETE", "/pipelines/{name}/schedules/{schedule_id}", role=DS, event="unschedule")
    def unschedule(self, name: str, schedule_id: Number) -> None:
        """Remove a schedule."""
        ...

    @op("GET", "/schedules", role="viewer", key="schedules", wire={"name": "pipeline"})
    def schedules(self, name: str | None = None) -> list[Schedule]:
        """Schedules (of one pipeline)."""
        ...

    @op("POST", "/schedules/tick", role="admin", key="runs")
    def tick(self, now: int | None = None) -> list[PipelineRun]:
        """Queue a run for every schedule that is due (what the server's scheduler calls
        each minute); the runs it queued."""
        ...
