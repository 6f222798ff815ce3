"""Taking a snapshot: hash every file (in parallel), then store each new content once.

Files whose stat matches the stat cache are not read again. New content is copied into
the blob store (one sync for the whole add, not one per file). With ``link=True`` it is
hard-linked instead where the store is a local folder on the same filesystem: no copy,
but the blob then shares its bytes with your file, so a later in-place edit of that file
(``>>``, or a tool that truncates and rewrites it) destroys the old version's content —
caught when it is read (verified reads), but gone. Copying is the safe default.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from shipway.blobs.content import ContentStore
from shipway.blobs.hashing import hash_file
from shipway.datasets.manifest import FileStat, Walk, walk
from shipway.datasets.statcache import StatCache
from shipway.errors import InvalidInput
from shipway.records import ManifestEntry

Progress = Callable[[int, int], None]  # (bytes done, bytes total)
PROCESS_THRESHOLD = 64 << 20  # below this, starting worker processes costs more than it saves
T = TypeVar("T")
R = TypeVar("R")


def _workers() -> int:
    return min(8, 2 * (os.cpu_count() or 1))


def _batches(items: Sequence[T], n: int) -> list[Sequence[T]]:
    """Split into about ``4 * n`` contiguous batches: one task per file costs more than
    hashing a small file."""
    size = max(1, len(items) // (4 * n) + 1)
    return [items[i : i + size] for i in range(0, len(items), size)]


def _parallel(fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
    if len(items) < 8:
        return [fn(i) for i in items]
    n = _workers()
    with ThreadPoolExecutor(n) as pool:
        parts = pool.map(lambda batch: [fn(i) for i in batch], _batches(items, n))
        return [r for part in parts for r in part]


@dataclass(frozen=True)
class Snapshot:
    walk: Walk
    entries: list[ManifestEntry]
    digest_of: dict[str, str]  # absolute path -> digest


def _hash_batch(paths: Sequence[str]) -> list[str] | str:
    """Digests of ``paths`` (runs in a worker process); an error message on failure."""
    out = []
    for path in paths:
        try:
            out.append(hash_file(Path(path)))
        except OSError as exc:
            return f"cannot read {path}: {exc.strerror}"
    return out


def _hash_all(todo: Sequence[FileStat], progress: Progress | None) -> list[str]:
    """Hash many files in worker processes (the blake3 binding holds the GIL on small
    inputs, so threads do not help); small jobs, and big single files (which blake3 hashes
    with its own threads), stay in this process."""
    total = sum(f.size for f in todo)
    many_small = len(todo) >= 64 and total >= PROCESS_THRESHOLD
    workers = os.cpu_count() or 1
    batches = _batches([f.path for f in todo], workers) if many_small and workers > 1 else []
    results: list[list[str] | str]
    if batches:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        ctx = multiprocessing.get_context("fork")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads: we only hash
            with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
                results = []
                done = 0
                for batch, result in zip(batches, pool.map(_hash_batch, batches), strict=True):
                    results.append(result)
                    done += sum(os.path.getsize(p) for p in batch) if progress else 0
                    if progress:
                        progress(done, total)
    else:
        results = [_hash_batch([f.path for f in todo])]
        if progress:
            progress(total, total)
    out: list[str] = []
    for result in results:
        if isinstance(result, str):
            raise InvalidInput(result)
        out.extend(result)
    return out


def digests(
    files: Sequence[FileStat], cache: StatCache | None, progress: Progress | None = None
) -> dict[str, str]:
    """Digest per absolute path: from the stat cache where it still holds, else hashed."""
    known = cache.lookup(files) if cache else {}
    todo = [f for f in files if f.path not in known]
    hashed = list(zip(todo, _hash_all(todo, progress), strict=True))
    if cache and hashed:
        cache.remember(hashed)
    known.update((f.path, d) for f, d in hashed)
    return known


def scan(root: Path, cache: StatCache | None, progress: Progress | None = None) -> Snapshot:
    """Walk and hash ``root``; nothing is stored yet."""
    found = walk(root)
    return snapshot_of(found, digests(found.files, cache, progress))


def snapshot_of(found: Walk, by_path: dict[str, str]) -> Snapshot:
    """The snapshot of a walk whose files are hashed (``by_path``)."""
    entries = list(found.links)
    entries.extend(ManifestEntry(f.rel, f.size, by_path[f.path], f.mode) for f in found.files)
    entries.sort(key=lambda e: e.path)
    return Snapshot(found, entries, by_path)


def store(snap: Snapshot, blobs: ContentStore, *, link: bool = False) -> dict[str, int]:
    """Put every distinct content of the snapshot into the store; counts by outcome."""
    first: dict[str, FileStat] = {}
    for f in snap.walk.files:
        first.setdefault(snap.digest_of[f.path], f)

    def put(item: tuple[str, FileStat]) -> str:
        digest, f = item
        try:
            return blobs.put_hashed(Path(f.path), digest, link=link, bulk=True)
        except OSError as exc:
            raise InvalidInput(f"cannot store {f.path}: {exc.strerror}") from None

    outcomes = _parallel(put, list(first.items()))
    if "copied" in outcomes:
        blobs.sync()
    return {k: outcomes.count(k) for k in ("present", "linked", "copied")}
