"""Working folders: what changed since a version, and writing a version's files out."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from shipway.datasets import manifest as mf
from shipway.datasets.snapshot import Progress, Snapshot, digests, snapshot_of
from shipway.datasets.statcache import StatCache
from shipway.errors import InvalidInput
from shipway.records import ManifestEntry


def scan_with_cache(path: Path, home: Path, progress: Progress | None = None) -> Snapshot:
    """Walk and hash ``path``, using and updating the home's stat cache."""
    return snapshot_of(*_walk_hashed(path, home, progress))


def _walk_hashed(
    path: Path, home: Path, progress: Progress | None = None
) -> tuple[mf.Walk, dict[str, str]]:
    """Walk ``path`` and hash its files, using and updating the home's stat cache."""
    found = mf.walk(Path(path))
    cache = StatCache(home / "cache" / "stat.sqlite")
    try:
        return found, digests(found.files, cache, progress)
    finally:
        cache.close()


def scan_state(path: Path, home: Path) -> mf.State:
    """``manifest.state`` of what ``scan_with_cache`` would find, without making the
    entries (a status compares and stores nothing)."""
    found, by_path = _walk_hashed(path, home)
    state = mf.state(found.links)
    state.update((f.rel, (by_path[f.path], None, f.mode)) for f in found.files)
    return state


def scan_manifest(path: Path, home: Path, progress: Progress | None = None) -> bytes:
    """``manifest.encode`` of what ``scan_with_cache`` would find, without making the
    entries (what an add compares with the latest version before storing anything)."""
    found, by_path = _walk_hashed(path, home, progress)
    rows = [
        {"path": e.path, "size": e.size, "digest": None, "mode": e.mode, "link": e.link}
        for e in found.links
    ]
    rows.extend(
        {"path": f.rel, "size": f.size, "digest": by_path[f.path], "mode": f.mode, "link": None}
        for f in found.files
    )
    return mf.encode_rows(rows)


def folder_status(
    ref: str, manifest: list[ManifestEntry], path: Path, home: Path
) -> dict[str, Any]:
    """What changed in ``path`` since the version ``ref`` whose files are ``manifest``."""
    return state_status(ref, mf.state(manifest), path, home)


def state_status(ref: str, before: mf.State, path: Path, home: Path) -> dict[str, Any]:
    """``folder_status`` from the version's files as ``manifest.state`` gives them."""
    changes = mf.changes(before, scan_state(path, home))
    return {"dataset": ref, **changes.to_dict(), "clean": changes.clean}


Fetch = Callable[[str, Path], None]  # (digest, target): write one verified blob to target


def write_tree(entries: Iterable[ManifestEntry], dest: Path, fetch: Fetch) -> Path:
    """Write a version's files under ``dest`` (new or empty), all or nothing: into a
    staging folder beside it, renamed into place at the end. The entries come from
    ``manifest.decode``, which has already refused unsafe layouts."""
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise InvalidInput(f"{dest} exists and is not an empty folder; pick a new folder")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".shipway-get-", dir=dest.parent))
    except OSError as exc:
        raise InvalidInput(f"cannot write into {dest.parent}: {exc.strerror}") from None
    try:
        staging.chmod(0o777 & ~_umask())  # mkdtemp makes 0700; the result is a normal folder
        for entry in entries:
            target = staging / entry.path
            target.parent.mkdir(parents=True, exist_ok=True)
            if entry.link is not None:
                os.symlink(entry.link, target)
                continue
            assert entry.digest is not None
            fetch(entry.digest, target)
            os.chmod(target, entry.mode & 0o777 or 0o644)
        if dest.exists():
            dest.rmdir()
        os.replace(staging, dest)
    except OSError as exc:
        raise InvalidInput(f"cannot write {dest}: {exc.strerror}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dest


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
