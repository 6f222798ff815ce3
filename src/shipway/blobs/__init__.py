"""Content-addressed byte storage: blobs named by the BLAKE3 of their bytes.

Two layers: a tiny :class:`ByteBackend` per place bytes can live (a local folder, an S3
bucket), and :class:`ContentStore` on top for digests, deduplication and verified reads.

Example::

    store = open_blob_store(".shipway/blobs")
    digest, size = store.put_file(Path("model.pkl"))
    store.download(digest, Path("restored/model.pkl"))
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shipway.blobs.backends import ByteBackend
    from shipway.blobs.content import ContentStore
    from shipway.blobs.hashing import hash_bytes, hash_file
    from shipway.blobs.local import LocalBackend
    from shipway.blobs.location import open_blob_store
    from shipway.blobs.s3 import S3Backend

# each name loads its module on first use: a command that only hashes (``data status``)
# does not import the stores
_HOME = {
    "ByteBackend": "backends",
    "ContentStore": "content",
    "LocalBackend": "local",
    "S3Backend": "s3",
    "hash_bytes": "hashing",
    "hash_file": "hashing",
    "open_blob_store": "location",
}

__all__ = [
    "ByteBackend",
    "ContentStore",
    "LocalBackend",
    "S3Backend",
    "hash_bytes",
    "hash_file",
    "open_blob_store",
]


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(f"shipway.blobs.{_HOME[name]}"), name)
    raise AttributeError(f"module 'shipway.blobs' has no attribute {name!r}")
