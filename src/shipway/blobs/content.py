"""Content addressing on top of a byte backend: a blob's name is the BLAKE3 of its bytes."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import blake3

from shipway.blobs.atomic import atomic_writer
from shipway.blobs.backends import CHUNK_SIZE, TEMP_PREFIX, ByteBackend
from shipway.blobs.hashing import blob_key, hash_bytes, hash_file_sized
from shipway.errors import IntegrityError


class ContentStore:
    """Immutable, deduplicated blobs named by digest; every read is verified.

    Objects live at ``ab/abcd…``: one folder level, as git does. (Two levels made a first
    add of 10,000 files create ~9,000 folders, which cost more than hashing them.)

    Example::

        store = ContentStore(LocalBackend(Path(".shipway/blobs")))
        digest, size = store.put_bytes(b"hello")
        assert store.get_bytes(digest) == b"hello"
    """

    def __init__(self, backend: ByteBackend) -> None:
        self.backend = backend

    def __repr__(self) -> str:
        return f"ContentStore({self.backend!r})"

    @staticmethod
    def key(digest: str) -> str:
        """The backend key of ``digest``; raises ``InvalidInput`` for a malformed digest."""
        return blob_key(digest)

    def put_file(self, path: Path) -> tuple[str, int]:
        """Store the file at ``path`` (which must not change meanwhile); ``(digest, size)``."""
        digest, size = hash_file_sized(path)
        self._put_once(digest, lambda key: self.backend.put_file(key, Path(path)))
        return digest, size

    def put_hashed(self, path: Path, digest: str, *, link: bool = False, bulk: bool = False) -> str:
        """Store ``path`` whose digest the caller has just computed; with ``link``, as a hard
        link where the backend and filesystem allow (no copy). ``bulk`` skips the per-file
        sync where the backend can sync once later (call ``sync()``). Returns "present",
        "linked" or "copied". A file that changes after hashing is caught on read."""
        key = self.key(digest)
        linker = getattr(self.backend, "link_file", None)
        if link and linker is not None:
            outcome: str = linker(key, Path(path))
            if outcome != "unsupported":
                return outcome
        if self.backend.exists(key):
            return "present"
        copier = getattr(self.backend, "copy_file", None)
        if bulk and copier is not None:
            copier(key, Path(path))
        else:
            self.backend.put_file(key, Path(path))
        return "copied"

    def sync(self) -> None:
        """Make bulk writes durable, where the backend needs it (a local folder)."""
        syncer = getattr(self.backend, "sync", None)
        if syncer is not None:
            syncer()

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        """Store ``data``; returns ``(digest, size)``."""
        digest = hash_bytes(data)
        self._put_once(digest, lambda key: self.backend.put_bytes(key, data))
        return digest, len(data)

    def put_stream(self, chunks: Iterable[bytes], tmp_dir: Path | None = None) -> tuple[str, int]:
        """Store a stream of unknown length, spooled through a temp file in ``tmp_dir``."""
        # The digest is only known at the end, so the bytes must wait somewhere: on disk.
        fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=tmp_dir)
        spool = Path(name)
        try:
            hasher, size = blake3.blake3(), 0
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    hasher.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
            digest = hasher.hexdigest()
            self._put_once(digest, lambda key: self.backend.put_file(key, spool))
            return digest, size
        finally:
            spool.unlink(missing_ok=True)

    def get_bytes(self, digest: str) -> bytes:
        """The blob's bytes, verified; ``IntegrityError`` if they do not match the digest."""
        data = b"".join(self.backend.iter_chunks(self.key(digest)))
        self._verify(digest, hash_bytes(data))
        return data

    def download(self, digest: str, dest: Path) -> None:
        """Write the blob to ``dest`` atomically; ``dest`` is untouched if it is corrupt."""
        dest = Path(dest)
        chunks = self.backend.iter_chunks(self.key(digest))
        dest.parent.mkdir(parents=True, exist_ok=True)
        hasher = blake3.blake3()
        with atomic_writer(dest) as out:
            for chunk in chunks:
                hasher.update(chunk)
                out.write(chunk)
            # Raising inside the writer discards the temp file instead of renaming it.
            self._verify(digest, hasher.hexdigest())

    def iter_verified(self, digest: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """The blob in chunks; raises ``IntegrityError`` after the last one if it is corrupt.

        A missing blob raises ``NotFound`` on the call, before any chunk is sent.
        """
        chunks = self.backend.iter_chunks(self.key(digest), chunk_size)
        return self._hash_along(digest, chunks)

    def exists(self, digest: str) -> bool:
        """Whether the blob is stored."""
        return self.backend.exists(self.key(digest))

    def size(self, digest: str) -> int:
        """The blob's size in bytes."""
        return self.backend.size(self.key(digest))

    def _put_once(self, digest: str, put: Callable[[str], None]) -> None:
        key = self.key(digest)
        # Same digest, same bytes: skipping the write is the deduplication.
        if not self.backend.exists(key):
            put(key)

    def _hash_along(self, digest: str, chunks: Iterator[bytes]) -> Iterator[bytes]:
        hasher = blake3.blake3()
        for chunk in chunks:
            hasher.update(chunk)
            yield chunk
        self._verify(digest, hasher.hexdigest())

    def _verify(self, digest: str, actual: str) -> None:
        if actual != digest:
            location = self.backend.describe()
            raise IntegrityError(
                f"blob {digest} in {location} is corrupt (content hashes to {actual}); "
                "restore it from a backup or re-log the artifact",
                details={"digest": digest, "actual": actual, "location": location},
            )
