"""Manifests: the list of files in a dataset version, and comparing two of them.

A manifest is stored as a blob (sorted JSON), so identical snapshots share one manifest
and a version is fully described by the digest of its manifest.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from shipway.blobs.hashing import check_digest
from shipway.errors import InvalidInput
from shipway.records import ManifestEntry
from shipway.tracking.validation import artifact_path


class FileStat(NamedTuple):
    """What the walk saw of one regular file, before hashing (a tuple: a walk makes one
    per file, and a tuple is made several times faster than a frozen dataclass)."""

    rel: str
    path: str  # absolute
    size: int
    mtime_ns: int
    inode: int
    mode: int


@dataclass(frozen=True)
class Walk:
    files: list[FileStat]
    links: list[ManifestEntry]


def walk(root: Path) -> Walk:
    """Every regular file and symlink under ``root`` (or ``root`` itself if it is a file).

    Symlinks are recorded as links with their target and never followed, so a link that
    points outside the folder cannot pull outside data in. Unreadable entries raise an
    error naming them, before anything is stored.
    """
    root = Path(root)
    if root.is_symlink():
        raise InvalidInput(f"{root} is a symlink; give the file or folder it points to")
    if not root.exists():
        raise InvalidInput(f"{root} does not exist; check the path")
    if root.is_file():
        st = root.stat()
        return Walk([_file_stat(root.name, str(root.absolute()), st)], [])
    if not root.is_dir():
        raise InvalidInput(f"{root} is neither a file nor a folder")
    files: list[FileStat] = []
    links: list[ManifestEntry] = []
    _scan(str(root.absolute()), "", files, links)
    files.sort(key=lambda f: f.rel)
    return Walk(files, links)


_EUID = os.geteuid() if hasattr(os, "geteuid") else -1


def _readable(path: str, st: os.stat_result) -> bool:
    """Whether this process may read the file. For its owner the mode's owner bits decide
    (POSIX ACLs too map the owner to them), so the common case costs no system call;
    anyone else asks the kernel."""
    if st.st_uid == _EUID and _EUID != 0:
        return bool(st.st_mode & stat.S_IRUSR)
    return os.access(path, os.R_OK)


def _file_stat(rel: str, path: str, st: os.stat_result) -> FileStat:
    return FileStat(rel, path, st.st_size, st.st_mtime_ns, st.st_ino, stat.S_IMODE(st.st_mode))


def _scan(folder: str, prefix: str, files: list[FileStat], links: list[ManifestEntry]) -> None:
    try:
        entries = list(os.scandir(folder))
    except PermissionError:
        raise InvalidInput(f"{folder} is not readable; fix its permissions") from None
    for entry in entries:
        rel = prefix + entry.name
        st = entry.stat(follow_symlinks=False)
        if stat.S_ISDIR(st.st_mode):
            _scan(entry.path, rel + "/", files, links)
        elif stat.S_ISLNK(st.st_mode):
            links.append(ManifestEntry(rel, 0, None, 0o777, link=os.readlink(entry.path)))
        elif stat.S_ISREG(st.st_mode):
            if not _readable(entry.path, st):
                raise InvalidInput(f"{entry.path} is not readable; fix its permissions")
            files.append(_file_stat(rel, entry.path, st))


def encode(entries: Sequence[ManifestEntry]) -> bytes:
    return encode_rows(
        {"path": e.path, "size": e.size, "digest": e.digest, "mode": e.mode, "link": e.link}
        for e in entries
    )


def encode_rows(rows: Iterable[dict[str, Any]]) -> bytes:
    """The manifest of rows ``{path, size, digest, mode, link}``, in path order."""
    ordered = sorted(rows, key=lambda r: r["path"])
    return orjson.dumps({"format": 1, "files": ordered})


def decode(data: bytes) -> list[ManifestEntry]:
    """Parse and check a manifest. Manifests can arrive from elsewhere (push, a server), so
    nothing is trusted: paths must be safe and unique, no entry may sit inside another
    entry (which would let a file be written through a symlink), sizes and modes must be
    numbers and every file needs a digest."""
    try:
        doc = orjson.loads(data)
        rows = doc["files"]
        if not isinstance(rows, list):
            raise TypeError
        entries = [_entry(row) for row in rows]
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        raise InvalidInput(
            "the manifest is not a shipway manifest: expected "
            '{"files": [{"path", "size", "digest", "mode", "link"}, ...]}'
        ) from None
    _check_layout(entries)
    return entries


def _entry(row: Any) -> ManifestEntry:
    if not isinstance(row, dict) or set(row) - {"path", "size", "digest", "mode", "link"}:
        raise TypeError
    path, size, mode = row["path"], row.get("size", 0), row.get("mode", 0o644)
    digest, link = row.get("digest"), row.get("link")
    if not isinstance(path, str) or not isinstance(size, int) or not isinstance(mode, int):
        raise TypeError
    if link is None:
        check_digest(str(digest) if isinstance(digest, str) else "")
    elif not isinstance(link, str) or digest is not None:
        raise TypeError
    return ManifestEntry(artifact_path(path), size, digest, mode, link)


def _check_layout(entries: Sequence[ManifestEntry]) -> None:
    paths = {e.path for e in entries}
    if len(paths) != len(entries):
        raise InvalidInput("the manifest lists a path twice; it cannot be materialized")
    for path in paths:
        parts = path.split("/")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            if parent in paths:
                raise InvalidInput(
                    f"the manifest puts {path!r} inside the entry {parent!r}; refusing it "
                    "(a file must never be written through a symlink or over a file)"
                )


@dataclass(frozen=True)
class FileChanges:
    added: list[str]
    removed: list[str]
    changed: list[str]
    unchanged: int

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def clean(self) -> bool:
        return not (self.added or self.removed or self.changed)


State = dict[str, tuple[str | None, str | None, int]]  # path -> (digest, link, mode)


def compare(old: Sequence[ManifestEntry], new: Sequence[ManifestEntry]) -> FileChanges:
    return changes(state(old), state(new))


def state(entries: Sequence[ManifestEntry]) -> State:
    """What ``compare`` looks at of each entry: content, link target and mode."""
    return {e.path: (e.digest, e.link, e.mode) for e in entries}


def changes(before: State, after: State) -> FileChanges:
    """The files added, removed and changed from ``before`` to ``after``."""
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    both = set(before) & set(after)
    changed = sorted(p for p in both if before[p] != after[p])  # content, link or mode
    return FileChanges(added, removed, changed, len(both) - len(changed))
