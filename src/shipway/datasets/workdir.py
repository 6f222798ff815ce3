"""What changed in a working folder since a dataset version (nothing is stored)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shipway.datasets import manifest as mf
from shipway.datasets.snapshot import Progress, Snapshot, scan
from shipway.datasets.statcache import StatCache
from shipway.records import ManifestEntry


def scan_with_cache(path: Path, home: Path, progress: Progress | None = None) -> Snapshot:
    """Walk and hash ``path``, using and updating the home's stat cache."""
    cache = StatCache(home / "cache" / "stat.sqlite")
    try:
        return scan(Path(path), cache, progress)
    finally:
        cache.close()


def folder_status(
    ref: str, manifest: list[ManifestEntry], path: Path, home: Path
) -> dict[str, Any]:
    changes = mf.compare(manifest, scan_with_cache(path, home).entries)
    return {"dataset": ref, **changes.to_dict(), "clean": changes.clean}
