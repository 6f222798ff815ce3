"""The interface both client backends implement: in-process (``LocalBackend``) and HTTP
(``HttpBackend``). The client, the CLI and the test suite only ever see this."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from shipway.operations import Platform
from shipway.records import (
    Artifact,
    DatasetVersion,
    GitInfo,
    ManifestEntry,
    PredictionSegment,
    Series,
)


class Backend(Protocol):
    location: str

    @property
    def platform(self) -> Platform:
        """The declared operations; the methods below are not declared yet."""
        ...

    def log_metric_series(self, run_id: str, batch: Mapping[str, Series]) -> int: ...
    def log_artifact(
        self, run_id: str, local: Path, artifact_path: str | None
    ) -> list[Artifact]: ...
    def list_artifacts(self, run_id: str, path: str | None = None) -> list[Artifact]: ...
    def download_artifacts(self, run_id: str, path: str | None, dest: Path) -> Path: ...

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
    ) -> tuple[DatasetVersion, bool]: ...
    def dataset_manifest(self, ref: str) -> list[ManifestEntry]: ...
    def dataset_materialize(self, ref: str, dest: Path) -> Path: ...
    def dataset_cached_path(self, ref: str) -> Path: ...
    def dataset_status(self, name: str, path: Path) -> dict[str, Any]: ...
    def prediction_segment_add(
        self, model: str, version: int, path: Path, rows: int, first: int, last: int
    ) -> PredictionSegment: ...
    def predictions_query(
        self, model: str, sql: str, since: int | None = None, until: int | None = None
    ) -> Any: ...
    def auth_required(self) -> bool: ...

    def token_role(self, token: str) -> str | None: ...

    def close(self) -> None: ...
