"""The in-process backend: calls the services directly on the local home (no server)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from shipway.client.contracts_backends import ContractsInProcess
from shipway.client.models_backends import ModelsInProcess
from shipway.client.monitoring_backends import MonitoringInProcess
from shipway.client.serving_backends import ServingInProcess
from shipway.config import Settings
from shipway.records import (
    Artifact,
    Dataset,
    DatasetVersion,
    Event,
    Experiment,
    GitInfo,
    ManifestEntry,
    MetricPoint,
    Page,
    Run,
    RunInput,
    Token,
    User,
)
from shipway.services import Services
from shipway.store.metrics import Series


class LocalBackend(ModelsInProcess, ServingInProcess, ContractsInProcess, MonitoringInProcess):
    def __init__(self, settings: Settings) -> None:
        self.services = Services.open(settings, actor=settings.user or None)
        self.location = str(settings.home)

    def create_experiment(self, name: str, description: str = "") -> Experiment:
        return self.services.tracking.create_experiment(name, description)

    def get_experiment(self, ref: int | str) -> Experiment:
        return self.services.tracking.get_experiment(ref)

    def list_experiments(self, limit: int = 100, cursor: str | None = None) -> Page[Experiment]:
        return self.services.tracking.list_experiments(limit, cursor)

    def create_run(
        self,
        experiment: str | None,
        *,
        name: str | None,
        description: str,
        tags: Mapping[str, Any],
        parent_id: str | None,
        git: GitInfo | None,
        source: str | None,
    ) -> Run:
        return self.services.tracking.create_run(
            experiment,
            name=name,
            description=description,
            tags=tags,
            parent_id=parent_id,
            git=git,
            source=source,
        )

    def get_run(self, run_id: str) -> Run:
        return self.services.tracking.get_run(run_id)

    def update_run(self, run_id: str, **changes: Any) -> Run:
        return self.services.tracking.update_run(run_id, **changes)

    def delete_run(self, run_id: str, restore: bool = False) -> Run:
        return self.services.tracking.delete_run(run_id, restore=restore)

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        self.services.tracking.log_params(run_id, params)

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        self.services.tracking.set_tags(run_id, tags)

    def delete_tag(self, run_id: str, key: str) -> None:
        self.services.tracking.delete_tag(run_id, key)

    def log_metric_series(self, run_id: str, batch: Mapping[str, Series]) -> int:
        return self.services.tracking.log_metric_series(run_id, batch)

    def get_metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        return list(self.services.tracking.get_metric_history(run_id, key))

    def search_runs(
        self,
        experiment: str | int | Sequence[str | int] | None,
        *,
        filter: str | None,
        order_by: Sequence[str],
        limit: int,
        cursor: str | None,
        include_deleted: bool,
    ) -> Page[Run]:
        return self.services.tracking.search_runs(
            experiment,
            filter=filter,
            order_by=order_by,
            limit=limit,
            cursor=cursor,
            include_deleted=include_deleted,
        )

    def log_artifact(self, run_id: str, local: Path, artifact_path: str | None) -> list[Artifact]:
        return self.services.artifacts.log_path(run_id, local, artifact_path)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[Artifact]:
        return self.services.artifacts.list(run_id, path)

    def download_artifacts(self, run_id: str, path: str | None, dest: Path) -> Path:
        return self.services.artifacts.download(run_id, path, dest)

    def dataset_add(
        self,
        name: str,
        path: Path,
        *,
        message: str,
        source: str | None,
        run_id: str | None,
        git: GitInfo | None,
        link: bool,
        progress: Callable[[int, int], None] | None = None,
    ) -> tuple[DatasetVersion, bool]:
        return self.services.datasets.add(
            name,
            path,
            message=message,
            source=source,
            run_id=run_id,
            git=git,
            link=link,
            progress=progress,
        )

    def dataset_get(self, ref: str) -> DatasetVersion:
        return self.services.datasets.get(ref)

    def dataset_versions(self, name: str) -> list[DatasetVersion]:
        return self.services.datasets.versions(name)

    def datasets_list(self) -> list[Dataset]:
        return self.services.datasets.list_datasets()

    def dataset_manifest(self, ref: str) -> list[ManifestEntry]:
        svc = self.services.datasets
        return svc.manifest(svc.get(ref))

    def dataset_materialize(self, ref: str, dest: Path) -> Path:
        return self.services.datasets.materialize(ref, dest)

    def dataset_cached_path(self, ref: str) -> Path:
        return self.services.datasets.cached_path(ref)

    def dataset_diff(self, a: str, b: str) -> dict[str, Any]:
        return self.services.datasets.diff(a, b)

    def dataset_status(self, name: str, path: Path) -> dict[str, Any]:
        return self.services.datasets.status(name, path)

    def dataset_used_by(self, ref: str) -> list[RunInput]:
        return self.services.datasets.used_by(ref)

    def log_input(self, run_id: str, ref: str, context: str) -> RunInput:
        return self.services.datasets.log_input(run_id, ref, context)

    def run_inputs(self, run_id: str) -> list[RunInput]:
        return self.services.datasets.inputs(run_id)

    def create_user(self, name: str, role: str) -> User:
        return self.services.accounts.create_user(name, role)

    def set_role(self, name: str, role: str) -> User:
        return self.services.accounts.set_role(name, role)

    def list_users(self) -> list[User]:
        return self.services.accounts.list_users()

    def create_token(self, user: str) -> Token:
        return self.services.accounts.create_token(user)

    def list_tokens(self, user: str | None = None) -> list[Token]:
        return self.services.accounts.list_tokens(user)

    def revoke_token(self, token_id: str) -> None:
        self.services.accounts.revoke_token(token_id)

    def list_events(
        self, limit: int = 100, cursor: str | None = None, **filters: Any
    ) -> Page[Event]:
        return self.services.accounts.list_events(limit=limit, cursor=cursor, **filters)

    def close(self) -> None:
        self.services.close()
