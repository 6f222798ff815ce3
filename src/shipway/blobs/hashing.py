"""BLAKE3 digests: the names blobs are stored under."""

from __future__ import annotations

import re
from pathlib import Path

import blake3

from shipway.blobs.backends import CHUNK_SIZE
from shipway.errors import InvalidInput

DIGEST_LENGTH = 64

# Below this, threads and mmap cost more than they save.
_PARALLEL_THRESHOLD = 16 << 20

_DIGEST = re.compile(r"[0-9a-f]{64}")


def hash_bytes(data: bytes) -> str:
    """The hex BLAKE3 digest of ``data``.

    Example::

        >>> hash_bytes(b"")[:16]
        'af1349b9f5f9a1a6'
    """
    return blake3.blake3(data).hexdigest()


def hash_file(path: Path) -> str:
    """The hex BLAKE3 digest of the file at ``path``, read as a stream."""
    return hash_file_sized(path)[0]


def hash_file_sized(path: Path) -> tuple[str, int]:
    """``(digest, size)`` of the file at ``path``; it must not change while being hashed."""
    size = Path(path).stat().st_size
    if size > _PARALLEL_THRESHOLD and hasattr(blake3.blake3, "update_mmap"):
        hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
        hasher.update_mmap(path)
        return hasher.hexdigest(), size
    if size <= CHUNK_SIZE:  # one read: most dataset files are small
        with open(path, "rb") as f:
            data = f.read()
        return blake3.blake3(data).hexdigest(), len(data)
    hasher = blake3.blake3()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_SIZE):
            hasher.update(chunk)
            size += len(chunk)
    return hasher.hexdigest(), size


def check_digest(digest: str) -> str:
    """Return ``digest`` if it is 64 lowercase hex characters, else raise ``InvalidInput``."""
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise InvalidInput(
            f"invalid blob digest {digest!r}: expected {DIGEST_LENGTH} lowercase hex characters "
            "(a BLAKE3 digest)"
        )
    return digest


def blob_key(digest: str) -> str:
    """The backend key of a blob: ``ab/abcdef…`` (``InvalidInput`` for a malformed digest)."""
    check_digest(digest)
    return f"{digest[:2]}/{digest}"
