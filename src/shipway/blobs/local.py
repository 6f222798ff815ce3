"""Blob bytes in a local folder: one file per key."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from shipway.blobs.atomic import atomic_writer
from shipway.blobs.backends import CHUNK_SIZE, TEMP_PREFIX, check_key
from shipway.errors import NotFound

# What the OS says when a key's path is absent, or a folder where a file should be.
_MISSING = (FileNotFoundError, NotADirectoryError, IsADirectoryError)


class LocalBackend:
    """A :class:`~shipway.blobs.backends.ByteBackend` over the folder ``root``.

    Example::

        backend = LocalBackend(Path(".shipway/blobs"))
        backend.put_bytes("ab/cd/abcd", b"hello")
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalBackend({str(self.root)!r})"

    def describe(self) -> str:
        return str(self.root)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def put_file(self, key: str, path: Path) -> None:
        with open(path, "rb") as src:
            self._write(key, iter(lambda: src.read(CHUNK_SIZE), b""))

    def put_bytes(self, key: str, data: bytes) -> None:
        self._write(key, [data])

    def copy_file(self, key: str, path: Path) -> None:
        """Like put_file, without syncing each file: call ``sync()`` before relying on it."""
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "rb") as src, atomic_writer(dest, fsync=False) as out:
            while chunk := src.read(CHUNK_SIZE):
                out.write(chunk)

    def sync(self) -> None:
        """Make every write so far durable (one sync instead of one per file)."""
        os.sync()

    def link_file(self, key: str, path: Path) -> str:
        """Store ``path`` as a hard link instead of a copy: "linked", "present" (the key
        exists), or "unsupported" (another filesystem, or one without hard links). The link
        appears atomically. Tries first and creates the folder only when it is missing:
        most keys land in a folder that exists."""
        dest = self._path(key)
        for _ in range(2):
            try:
                os.link(path, dest)
                return "linked"
            except FileExistsError:
                return "present"
            except FileNotFoundError:
                dest.parent.mkdir(parents=True, exist_ok=True)
            except OSError:
                return "unsupported"
        return "unsupported"

    def get_file(self, key: str, dest: Path) -> None:
        chunks = self.iter_chunks(key)  # a bad or missing key must not create dest
        with open(dest, "wb") as out:
            for chunk in chunks:
                out.write(chunk)

    def iter_chunks(self, key: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        path = self._path(key)
        try:
            # Opened here, not in the generator, so a missing key fails on the call.
            src = open(path, "rb")  # noqa: SIM115 - closed by _read_chunks
        except _MISSING:
            raise self._not_found(key) from None
        return _read_chunks(src, chunk_size)

    def size(self, key: str) -> int:
        path = self._path(key)
        if not path.is_file():
            raise self._not_found(key)
        return path.stat().st_size

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink()
        except _MISSING:
            raise self._not_found(key) from None

    def list(self, prefix: str = "") -> Iterator[str]:
        # Walk only the folder the prefix pins down, not the whole store.
        folder, _, _ = prefix.rpartition("/")
        start = self._path(folder) if folder else self.root
        for dirpath, dirnames, filenames in os.walk(start):
            dirnames[:] = [d for d in dirnames if not d.startswith(TEMP_PREFIX)]
            rel = Path(dirpath).relative_to(self.root).as_posix()
            for name in filenames:
                key = name if rel == "." else f"{rel}/{name}"
                if not name.startswith(TEMP_PREFIX) and key.startswith(prefix):
                    yield key

    def _write(self, key: str, chunks: Iterable[bytes]) -> None:
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        with atomic_writer(dest) as out:
            for chunk in chunks:
                out.write(chunk)

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    def _not_found(self, key: str) -> NotFound:
        return NotFound(f"blob object {key} not found in {self.root}")


def _read_chunks(src: BinaryIO, chunk_size: int) -> Iterator[bytes]:
    with src:
        while chunk := src.read(chunk_size):
            yield chunk
