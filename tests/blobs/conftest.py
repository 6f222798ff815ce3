"""Fixtures: a store over each backend, and a real SeaweedFS S3 server for the s3 ones."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from shipway.blobs import ByteBackend, ContentStore, LocalBackend, S3Backend
from shipway.testing.seaweed import SeaweedServer

BUCKET = "shipway-blobs-test"


@pytest.fixture
def s3_backend(seaweed: SeaweedServer, s3_env: None) -> S3Backend:
    """An S3 backend under a fresh prefix, so tests share the bucket but nothing else."""
    backend = S3Backend(BUCKET, f"t-{uuid.uuid4().hex[:12]}", seaweed.endpoint_url)
    backend.ensure_bucket()
    return backend


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> ByteBackend:
    if request.param == "local":
        return LocalBackend(tmp_path / "blobs")
    backend: S3Backend = request.getfixturevalue("s3_backend")
    return backend


@pytest.fixture
def store(backend: ByteBackend) -> ContentStore:
    return ContentStore(backend)


@pytest.fixture
def corrupt(request: pytest.FixtureRequest) -> Callable[[ContentStore, str, bytes], None]:
    """Replace a stored blob's bytes behind the store's back, as a disk fault or a bad actor."""

    def replace(store: ContentStore, digest: str, data: bytes) -> None:
        key = store.key(digest)
        backend = store.backend
        if isinstance(backend, LocalBackend):
            backend.root.joinpath(*key.split("/")).write_bytes(data)
        else:
            assert isinstance(backend, S3Backend)
            client = request.getfixturevalue("seaweed").client()
            client.put_object(Bucket=backend.bucket, Key=f"{backend.prefix}/{key}", Body=data)

    return replace
