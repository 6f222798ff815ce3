"""The dataset operations that travel as JSON: versions, diffs, which runs read what,
and recording a version whose blobs were uploaded first. (Adding a folder, pulling and
materializing move blobs: ``client/transfer.py`` and the blob routes.)"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from shipway.errors import Conflict
from shipway.operations.declare import op
from shipway.operations.types import Number
from shipway.records import Dataset, DatasetVersion, RunInput

DS = "data-scientist"


class Datasets(Protocol):
    @op("GET", "/datasets", role="viewer", key="datasets")
    def list_datasets(self) -> list[Dataset]:
        """Every dataset with its latest version."""
        ...

    @op("GET", "/datasets/{name}/versions", role="viewer", key="versions")
    def versions(self, name: str) -> list[DatasetVersion]:
        """Every version of a dataset, oldest first."""
        ...

    @op("GET", "/dataset-versions/{ref}", role="viewer")
    def get(self, ref: str) -> DatasetVersion:
        """The version ``NAME@VERSION`` names (``NAME`` alone: the latest)."""
        ...

    @op("GET", "/dataset-versions/{ref}/runs", role="viewer", key="inputs")
    def used_by(self, ref: str) -> list[RunInput]:
        """The runs that read a version."""
        ...

    @op("GET", "/datasets-diff", role="viewer")
    def diff(self, a: str, b: str) -> dict[str, Any]:
        """What changed from ``a`` to ``b``: files, schema, statistics."""
        ...

    @op(
        "POST",
        "/datasets/{name}/versions",
        role=DS,
        status=201,
        event="create",
        extras=("created",),
        errors=(Conflict,),
    )
    def register(
        self,
        name: str,
        manifest_digest: str,
        *,
        version: Number | None = None,
        message: str = "",
        source: str | None = None,
        git_commit: str | None = None,
        run_id: str | None = None,
        profile: dict[str, Any] | None = None,
    ) -> tuple[DatasetVersion, bool]:
        """Record a version whose manifest and file blobs were uploaded first (push, pull,
        a remote add); with ``version`` it keeps that number."""
        ...

    @op("POST", "/runs/{run_id}/inputs", role=DS, status=201, event="log_input")
    def log_input(self, run_id: str, ref: str, context: str = "training") -> RunInput:
        """Record that a run read a dataset version, as ``training``, ``validation``, …"""
        ...

    @op("GET", "/datasets/{name}/runs", role="viewer", key="inputs")
    def readers(self, name: str) -> list[RunInput]:
        """The runs that read each version of a dataset (by version, then start)."""
        ...

    @op("POST", "/runs-inputs", role="viewer", key="inputs")
    def inputs_of_runs(self, run_ids: Sequence[str]) -> list[RunInput]:
        """The dataset versions many runs read (at most 1,000 runs), by run then dataset;
        an unknown run id simply has none."""
        ...

    @op("GET", "/runs/{run_id}/inputs", role="viewer", key="inputs")
    def inputs(self, run_id: str) -> list[RunInput]:
        """The dataset versions a run read."""
        ...
