"""The tracking operations: experiments, runs, params, tags, metric histories, search.
(Metric batches and artifacts stream; their routes are written by hand in api/routes.)"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol

from shipway.errors import Conflict, FilterSyntaxError, ParamConflict
from shipway.operations.declare import op
from shipway.operations.types import Limit, Name
from shipway.records import Experiment, GitInfo, MetricPoint, MetricSeries, Page, Run, RunGroup

DS = "data-scientist"
Status = Literal["running", "finished", "failed", "killed"]
XAxis = Literal["step", "time", "relative"]


class Tracking(Protocol):
    @op("POST", "/experiments", role=DS, status=201, event="create", errors=(Conflict,))
    def create_experiment(self, name: Name, description: str = "") -> Experiment:
        """Create an experiment (``409`` if the name is taken)."""
        ...

    @op("PATCH", "/experiments/{ref}", role=DS, event="update", errors=(Conflict,))
    def update_experiment(
        self,
        ref: int | str,
        *,
        name: Name | None = None,
        description: str | None = None,
        set_tags: Mapping[str, Any] | None = None,
        delete_tags: Sequence[str] = (),
        deleted: bool | None = None,
    ) -> Experiment:
        """Rename an experiment, change its description or tags, or mark it deleted (or
        restore it with ``deleted=False``); ``409`` if the name is taken.

        >>> client.tracking.update_experiment("churn", description="30-day churn, EU")
        """
        ...

    @op("GET", "/experiments/{ref}", role="viewer")
    def get_experiment(self, ref: int | str) -> Experiment:
        """An experiment by id or name."""
        ...

    @op("GET", "/experiments", role="viewer", key="experiments")
    def list_experiments(self, limit: Limit = 100, cursor: str | None = None) -> Page[Experiment]:
        """Experiments, a page at a time (``next_cursor`` fetches the next)."""
        ...

    @op("POST", "/runs", role=DS, status=201, event="create", errors=(Conflict,))
    def create_run(
        self,
        experiment: str | None = None,
        *,
        name: str | None = None,
        description: str = "",
        tags: Mapping[str, Any] | None = None,
        parent_id: str | None = None,
        git: GitInfo | None = None,
        source: str | None = None,
        run_id: str | None = None,
        start_time: int | None = None,
    ) -> Run:
        """Start a run in ``experiment`` (created if missing; the Default one if None).
        ``run_id`` (32 hex digits) and ``start_time`` (ms) keep another store's values
        (``409`` if the id is taken)."""
        ...

    @op("GET", "/runs/{run_id}", role="viewer")
    def get_run(self, run_id: str) -> Run:
        """A run with its params, latest metrics and tags."""
        ...

    @op("PATCH", "/runs/{run_id}", role=DS, event="update", errors=(Conflict,))
    def update_run(
        self,
        run_id: str,
        *,
        status: Status | None = None,
        end_time: int | None = None,
        error: str | None = None,
        name: str | None = None,
        description: str | None = None,
    ) -> Run:
        """End a run (``status``), or change its name or description."""
        ...

    @op("DELETE", "/runs/{run_id}", role=DS, event="delete")
    def delete_run(self, run_id: str) -> Run:
        """Delete a run (it can be restored)."""
        ...

    @op("POST", "/runs/{run_id}/restore", role=DS, event="restore")
    def restore_run(self, run_id: str) -> Run:
        """Restore a deleted run."""
        ...

    @op(
        "POST",
        "/runs/{run_id}/params",
        role=DS,
        event="log_params",
        errors=(Conflict, ParamConflict),
    )
    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Log params (immutable: the same value again is a no-op, another is refused)."""
        ...

    @op("POST", "/runs/{run_id}/tags", role=DS, event="set_tags", errors=(Conflict,))
    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        """Set tags (overwrites)."""
        ...

    @op("DELETE", "/runs/{run_id}/tags/{key:path}", role=DS, event="delete_tag")
    def delete_tag(self, run_id: str, key: str) -> None:
        """Delete a tag."""
        ...

    @op("GET", "/runs/{run_id}/metrics/{key:path}", role="viewer", key="points")
    def get_metric_history(
        self, run_id: str, key: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[MetricPoint]:
        """A metric's points in logging order, a page at a time (all of them without
        ``limit``)."""
        ...

    @op("GET", "/metrics/series", role="viewer", key="series", wire={"runs": "run", "keys": "key"})
    def metric_series(
        self,
        runs: Sequence[str],
        keys: Sequence[str] = (),
        *,
        x: XAxis = "step",
        points: int = 1000,
        x_min: float | None = None,
        x_max: float | None = None,
    ) -> list[MetricSeries]:
        """Chart data for runs' metrics (all of each run's unless ``key`` is named): x and
        y arrays per series, on x = step, time (ms) or relative (s since the run started),
        within [x_min, x_max], each thinned on the server to at most ``points`` points
        (first, lowest, highest and last per x bucket, so spikes survive)."""
        ...

    @op("POST", "/runs/group", role="viewer", key="groups", errors=(FilterSyntaxError,))
    def group_runs(
        self,
        experiment: str | int | Sequence[str | int] | None = None,
        *,
        by: str,
        filter: str | None = None,
        include_deleted: bool = False,
    ) -> list[RunGroup]:
        """Runs matching a filter grouped by ``params.NAME``, ``tags.NAME``, ``status`` or
        ``user``: per group the run count and, per metric, the mean, min, max and std of
        the latest values; largest groups first (at most 1,000)."""
        ...

    @op("POST", "/runs/search", role="viewer", key="runs", errors=(FilterSyntaxError,))
    def search_runs(
        self,
        experiment: str | int | Sequence[str | int] | None = None,
        *,
        filter: str | None = None,
        order_by: Sequence[str] = (),
        limit: Limit = 100,
        cursor: str | None = None,
        include_deleted: bool = False,
    ) -> Page[Run]:
        """Runs matching a filter (``metrics.acc > 0.9 and params.model = 'rf'``; see
        docs/search.md), ordered, a page at a time."""
        ...
