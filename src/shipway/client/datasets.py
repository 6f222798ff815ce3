"""``sw.datasets``: snapshot data as immutable versions and read them back.

>>> v = sw.datasets.add("churn-train", "data/train.csv", message="March extract")
>>> v.ref, v.file_count
('churn-train@1', 1)
>>> df = sw.datasets.get("churn-train@1").to_pandas()
>>> with sw.start_run(experiment="churn") as run:
...     run.log_input(sw.datasets.get("churn-train@1"), context="training")
"""

from __future__ import annotations

import builtins
import sys
from pathlib import Path
from typing import Any

import shipway.datasets
from shipway.client.client import Client
from shipway.client.run import active_run
from shipway.records import Dataset, DatasetVersion, ManifestEntry, RunInput

__all__ = ["DatasetHandle", "add", "diff", "get", "list", "status", "used_by", "versions"]


class DatasetHandle:
    """A dataset version plus the client to read it: ``.path()``, ``.to_arrow()``,
    ``.to_pandas()``, ``.profile``, and every field of the stored version."""

    def __init__(self, record: DatasetVersion, client: Client) -> None:
        self.record = record
        self.client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self.record, name)

    @property
    def ref(self) -> str:
        return self.record.ref

    def __repr__(self) -> str:
        r = self.record
        return f"<dataset {r.ref}: {r.file_count} file(s), {r.total_size} bytes>"

    def path(self) -> Path:
        """The files on local disk (materialized once into the home's cache, verified)."""
        return self.client.backend.dataset_cached_path(self.ref)

    def files(self) -> builtins.list[ManifestEntry]:
        return self.client.backend.dataset_manifest(self.ref)

    def materialize(self, dest: str | Path) -> Path:
        """Write the files into the new or empty folder ``dest``."""
        return self.client.backend.dataset_materialize(self.ref, Path(dest))

    def to_arrow(self, file: str | None = None) -> Any:
        """The tabular content as a ``pyarrow.Table``: ``file``, or the version's only
        tabular file, or all its tabular files of one format concatenated."""
        from shipway.datasets.tables import read_table

        return read_table(self.ref, self.files(), self.path(), file)

    def to_pandas(self, file: str | None = None) -> Any:
        return self.to_arrow(file).to_pandas()


def _client(client: Client | None) -> Client:
    return client or Client()


def add(
    name: str,
    path: str | Path,
    *,
    message: str = "",
    source: str | None = None,
    link: bool = False,
    client: Client | None = None,
) -> DatasetHandle:
    """Snapshot a file or folder as the next version of ``name``. Inside an active run the
    version records that run and its git commit as where it came from."""
    c = _client(client)
    run = active_run()
    version, _created = c.backend.dataset_add(
        name,
        Path(path),
        message=message,
        source=source,
        run_id=run.id if run else None,
        git=run.info.git if run else None,
        link=link,
    )
    return DatasetHandle(version, c)


def get(ref: str, *, client: Client | None = None) -> DatasetHandle:
    """``"name@3"``, ``"name@latest"`` or ``"name"`` (the latest)."""
    c = _client(client)
    return DatasetHandle(c.datasets.get(ref), c)


def versions(name: str, *, client: Client | None = None) -> builtins.list[DatasetVersion]:
    return _client(client).datasets.versions(name)


def list(*, client: Client | None = None) -> builtins.list[Dataset]:  # noqa: A001
    return _client(client).datasets.list_datasets()


def diff(a: str, b: str, *, client: Client | None = None) -> dict[str, Any]:
    """Files added/removed/changed, and for tables schema, row-count and statistic shifts."""
    return _client(client).datasets.diff(a, b)


def status(name: str, path: str | Path, *, client: Client | None = None) -> dict[str, Any]:
    """What changed in ``path`` since the latest version of ``name``."""
    return _client(client).backend.dataset_status(name, Path(path))


def used_by(ref: str, *, client: Client | None = None) -> builtins.list[RunInput]:
    """The runs that logged this version as an input."""
    return _client(client).datasets.used_by(ref)


shipway.datasets.register_api(sys.modules[__name__])
