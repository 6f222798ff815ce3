"""The in-process backend: calls the services directly on the local home (no server)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from shipway.config import Settings
from shipway.operations import Platform
from shipway.records import (
    Artifact,
    DatasetVersion,
    GitInfo,
    ManifestEntry,
    PredictionSegment,
    Series,
)
from shipway.services import Services


class LocalBackend:
    def __init__(self, settings: Settings) -> None:
        self.services = Services.open(settings, actor=settings.user or None)
        self.location = str(settings.home)
        self.platform: Platform = self.services  # in-process, the services are the surfaces

    def log_metric_series(self, run_id: str, batch: Mapping[str, Series]) -> int:
        return self.services.tracking.log_metric_series(run_id, batch)

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

    def dataset_manifest(self, ref: str) -> list[ManifestEntry]:
        svc = self.services.datasets
        return svc.manifest(svc.get(ref))

    def dataset_materialize(self, ref: str, dest: Path) -> Path:
        return self.services.datasets.materialize(ref, dest)

    def dataset_cached_path(self, ref: str) -> Path:
        return self.services.datasets.cached_path(ref)

    def dataset_status(self, name: str, path: Path) -> dict[str, Any]:
        return self.services.datasets.status(name, path)

    def close(self) -> None:
        self.services.close()

    # serving: the prediction log, and what an inference server asks of the platform

    def prediction_segment_add(
        self, model: str, version: int, path: Path, rows: int, first: int, last: int
    ) -> PredictionSegment:
        return self.services.predictions.add_segment(
            model, version, path, rows=rows, first=first, last=last
        )

    def predictions_query(
        self, model: str, sql: str, since: int | None = None, until: int | None = None
    ) -> Any:
        return self.services.predictions.query(model, sql, since=since, until=until)

    def auth_required(self) -> bool:
        return self.services.settings.auth

    def token_role(self, token: str) -> str | None:
        user = self.services.accounts.authenticate(token)
        return None if user is None else user.role
