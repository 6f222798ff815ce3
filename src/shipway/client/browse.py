"""The browsable client: lazy objects over the operations, after metaflow's
``client/core.py``. Nothing is fetched until an attribute asks for it, and each object
fetches once (make a new one, or call ``refresh()``, to see changes).

>>> churn = client.experiment("churn")
>>> best = next(iter(churn.runs(filter="metrics.acc > 0.9", order_by=["metrics.acc desc"])))
>>> best.params, best.metrics, [a.path for a in best.artifacts]
>>> model = client.model("churn")
>>> [(v.version, v.aliases) for v in model.versions]
>>> model.version(3).gate_reports[-1].status, model.contract.version
>>> client.deployment("churn").traffic
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from shipway.records import (
    AliasEvent,
    Approval,
    Artifact,
    ContractVersion,
    Deployment,
    Experiment,
    GateReport,
    MetricPoint,
    ModelVersion,
    RegisteredModel,
    Review,
    Run,
    RunInput,
)

if TYPE_CHECKING:
    from shipway.client.client import Client


class _Lazy:
    def refresh(self) -> None:
        """Forget what was fetched; the next attribute access fetches again."""
        for name, value in type(self).__dict__.items():
            if isinstance(value, functools.cached_property):
                self.__dict__.pop(name, None)


class ExperimentView(_Lazy):
    """An experiment: ``.record`` (id, name, description) and its ``runs(...)``."""

    def __init__(self, client: Client, ref: int | str) -> None:
        self._client = client
        self._ref = ref

    @functools.cached_property
    def record(self) -> Experiment:
        return self._client.get_experiment(self._ref)

    @property
    def name(self) -> str:
        return self.record.name

    def runs(
        self,
        filter: str | None = None,
        order_by: Sequence[str] = (),
        *,
        include_deleted: bool = False,
        page_size: int = 100,
    ) -> Iterator[RunView]:
        """Every matching run of this experiment, fetched a page at a time as you iterate.

        >>> [r.name for r in client.experiment("churn").runs("params.model = 'rf'")]
        """
        cursor = None
        while True:
            page = self._client.search_runs(
                self.record.id,
                filter=filter,
                order_by=order_by,
                limit=page_size,
                cursor=cursor,
                include_deleted=include_deleted,
            )
            for run in page:
                yield RunView(self._client, run.id, run)
            cursor = page.next_cursor
            if not cursor:
                return

    def __repr__(self) -> str:
        return f"<experiment {self._ref!r}>"


class RunView(_Lazy):
    """A run: ``.record`` and its params, latest metrics, tags, artifacts, inputs."""

    def __init__(self, client: Client, run_id: str, record: Run | None = None) -> None:
        self._client = client
        self.id = run_id
        if record is not None:
            self.__dict__["record"] = record

    @functools.cached_property
    def record(self) -> Run:
        return self._client.get_run(self.id)

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def status(self) -> str:
        return self.record.status

    @property
    def params(self) -> dict[str, str]:
        return self.record.params

    @property
    def metrics(self) -> dict[str, float]:
        """The latest value of each metric."""
        return self.record.metrics

    @property
    def tags(self) -> dict[str, str]:
        return self.record.tags

    @functools.cached_property
    def artifacts(self) -> list[Artifact]:
        """Every artifact file of the run (``client.download_artifacts`` fetches one)."""
        return self._client.list_artifacts(self.id)

    @functools.cached_property
    def inputs(self) -> list[RunInput]:
        """The dataset versions the run read."""
        return self._client.datasets.inputs(self.id)

    def metric_history(self, key: str) -> list[MetricPoint]:
        """Every point of one metric, in logging order."""
        return self._client.get_metric_history(self.id, key)

    def __repr__(self) -> str:
        return f"<run {self.id}>"


class ModelView(_Lazy):
    """A registered model: ``.record``, ``.versions``, ``.aliases``, ``.contract``,
    ``.history``, ``.promotions`` and ``.version(n)``."""

    def __init__(self, client: Client, name: str) -> None:
        self._client = client
        self.name = name

    @functools.cached_property
    def record(self) -> RegisteredModel:
        return self._client.registry.get_model(self.name)

    @property
    def aliases(self) -> dict[str, int]:
        """Alias → version number."""
        return self.record.aliases

    @functools.cached_property
    def versions(self) -> list[VersionView]:
        return [
            VersionView(self._client, self.name, v.version, v)
            for v in self._client.registry.list_versions(self.name)
        ]

    def version(self, number: int) -> VersionView:
        """One version (fetched when first read)."""
        return VersionView(self._client, self.name, number)

    def alias(self, alias: str) -> VersionView:
        """The version an alias points at now."""
        found = self._client.registry.resolve(f"models:/{self.name}@{alias}")
        return VersionView(self._client, self.name, found.version, found)

    @functools.cached_property
    def contract(self) -> ContractVersion:
        """The current contract version (``NotFound`` if the model has none)."""
        return self._client.get_contract(self.name)

    @functools.cached_property
    def history(self) -> list[AliasEvent]:
        """Every alias move, oldest first."""
        return self._client.registry.history(self.name)

    def __repr__(self) -> str:
        return f"<model {self.name!r}>"


class VersionView(_Lazy):
    """A model version: ``.record``, ``.aliases``, ``.lineage``, ``.card``,
    ``.gate_reports``, ``.approvals``, ``.reviews``."""

    def __init__(
        self, client: Client, name: str, number: int, record: ModelVersion | None = None
    ) -> None:
        self._client = client
        self.name = name
        self.version = number
        if record is not None:
            self.__dict__["record"] = record

    @functools.cached_property
    def record(self) -> ModelVersion:
        return self._client.registry.get_version(self.name, self.version)

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"

    @property
    def aliases(self) -> list[str]:
        return self.record.aliases

    @property
    def run(self) -> RunView:
        """The run that made the package."""
        return RunView(self._client, self.record.run_id)

    @functools.cached_property
    def lineage(self) -> dict[str, Any]:
        """Run, commit, dataset versions and parent runs."""
        return self._client.registry.lineage(self.name, self.version)

    @functools.cached_property
    def card(self) -> dict[str, Any]:
        return self._client.get_model_card(self.name, self.version)

    @functools.cached_property
    def gate_reports(self) -> list[GateReport]:
        """The version's gate reports."""
        return self._client.gate_reports(self.name, self.version)

    @functools.cached_property
    def approvals(self) -> list[Approval]:
        return self._client.approvals(self.name, self.version)

    @functools.cached_property
    def reviews(self) -> list[Review]:
        return self._client.reviews(self.name, self.version)

    def __repr__(self) -> str:
        return f"<model version {self.uri}>"


class DeploymentView(_Lazy):
    """A deployment: ``.record`` and its ``.traffic`` policy."""

    def __init__(self, client: Client, name: str) -> None:
        self._client = client
        self.name = name

    @functools.cached_property
    def record(self) -> Deployment:
        return self._client.deployments.get(self.name)

    @property
    def traffic(self) -> dict[str, Any]:
        """``{"mode", "model", "candidate", "percent"}``."""
        r = self.record
        return {"mode": r.mode, "model": r.model, "candidate": r.candidate, "percent": r.percent}

    def __repr__(self) -> str:
        return f"<deployment {self.name!r}>"
