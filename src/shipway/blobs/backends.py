"""The byte-backend contract: a flat map from keys to immutable bytes.

A key is a relative, ``/``-separated path such as ``ab/cd/abcd…``. Backends know nothing
of digests; :class:`~shipway.blobs.content.ContentStore` adds content addressing on top.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

from shipway.errors import InvalidPath

CHUNK_SIZE = 1 << 20

# Writers stage bytes under this prefix; a key segment may not start with it.
TEMP_PREFIX = ".tmp-"

_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


@runtime_checkable
class ByteBackend(Protocol):
    """Where blob bytes live. Missing keys raise :class:`~shipway.errors.NotFound`.

    Example::

        backend.put_bytes("ab/cd/abcd", b"hello")
        assert b"".join(backend.iter_chunks("ab/cd/abcd")) == b"hello"
    """

    def exists(self, key: str) -> bool:
        """Whether ``key`` holds an object."""
        ...

    def put_file(self, key: str, path: Path) -> None:
        """Store the file at ``path`` under ``key``; the object appears whole or not at all."""
        ...

    def put_bytes(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, atomically like :meth:`put_file`."""
        ...

    def get_file(self, key: str, dest: Path) -> None:
        """Write the object to ``dest``; making ``dest`` appear atomically is the caller's job."""
        ...

    def iter_chunks(self, key: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """The object's bytes in chunks; raises ``NotFound`` on the call, not on first read."""
        ...

    def size(self, key: str) -> int:
        """The object's size in bytes."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object."""
        ...

    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys starting with ``prefix``, in no particular order."""
        ...

    def describe(self) -> str:
        """Where the bytes live, for error messages (a folder, or ``s3://bucket/prefix``)."""
        ...


def check_key(key: str) -> str:
    """Return ``key`` if it is a safe relative key, else raise ``InvalidPath``."""
    if not key:
        raise InvalidPath("blob key is empty")
    if "\\" in key or _CONTROL_CHARS.search(key):
        raise InvalidPath(f"blob key {key!r} contains a backslash or a control character")
    if key.startswith("/"):
        raise InvalidPath(f"blob key {key!r} is absolute; keys are relative paths")
    for part in key.split("/"):
        if part in ("", ".", ".."):
            raise InvalidPath(f"blob key {key!r} has an empty, '.' or '..' segment")
        if part.startswith(TEMP_PREFIX):
            raise InvalidPath(f"blob key {key!r} uses the reserved prefix {TEMP_PREFIX!r}")
    return key
