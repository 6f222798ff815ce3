"""Blob locations: a folder path, ``file://`` URI or ``s3://bucket/prefix`` picks a backend."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

from shipway.blobs.backends import ByteBackend
from shipway.blobs.content import ContentStore
from shipway.blobs.local import LocalBackend
from shipway.blobs.s3 import S3Backend
from shipway.errors import InvalidInput

_FORMS = "a folder path, file:///path or s3://bucket/prefix"


def open_blob_store(
    location: str, *, s3_endpoint_url: str | None = None, create: bool = True
) -> ContentStore:
    """Open the content store at ``location``; ``create`` makes the folder or bucket.

    Example::

        store = open_blob_store("s3://ml-artifacts/blobs", s3_endpoint_url="http://127.0.0.1:8333")
        store = open_blob_store(".shipway/blobs")
    """
    backend = open_backend(location, s3_endpoint_url=s3_endpoint_url)
    if create:
        if isinstance(backend, S3Backend):
            backend.ensure_bucket()
        elif isinstance(backend, LocalBackend):
            backend.root.mkdir(parents=True, exist_ok=True)
    return ContentStore(backend)


def open_backend(location: str, *, s3_endpoint_url: str | None = None) -> ByteBackend:
    """The byte backend ``location`` names, without touching it."""
    if not location.strip():
        raise InvalidInput(f"blob location is empty; use {_FORMS}")
    if "://" not in location:
        return LocalBackend(Path(location).expanduser().absolute())
    parts = urllib.parse.urlsplit(location)
    scheme = parts.scheme.lower()
    if scheme == "s3":
        if not parts.netloc:
            raise InvalidInput(
                f"blob location {location!r} names no bucket; use s3://bucket/prefix"
            )
        return S3Backend(parts.netloc, parts.path.strip("/"), s3_endpoint_url or None)
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise InvalidInput(f"blob location {location!r} names a remote host; use file:///path")
        return LocalBackend(Path(urllib.parse.unquote(parts.path)))
    raise InvalidInput(f"blob location {location!r} has an unsupported scheme; use {_FORMS}")
