"""S3Backend against a real SeaweedFS: errors come out as ShipwayErrors that say what to do."""

from __future__ import annotations

import socket
import sys
import time
import uuid
from pathlib import Path

import pytest
from botocore.config import Config

from shipway.blobs import ContentStore, S3Backend, hash_bytes
from shipway.errors import ConnectionFailed, MissingDependency, NotFound, PermissionDenied
from shipway.testing.seaweed import SeaweedServer

BUCKET = "shipway-blobs-test"

pytestmark = pytest.mark.s3


def test_wrong_credentials_are_permission_denied(
    seaweed: SeaweedServer, s3_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    store = ContentStore(S3Backend(BUCKET, "denied", seaweed.endpoint_url))

    with pytest.raises(PermissionDenied, match="AWS_SECRET_ACCESS_KEY") as info:
        store.put_bytes(b"x")
    with pytest.raises(PermissionDenied, match="AWS_ACCESS_KEY_ID"):
        store.get_bytes(hash_bytes(b"x"))

    assert BUCKET in str(info.value)


def test_unknown_access_key_is_permission_denied(
    seaweed: SeaweedServer, s3_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "nobody")
    backend = S3Backend(BUCKET, "denied", seaweed.endpoint_url)
    source = tmp_path / "f"
    source.write_bytes(b"x")

    with pytest.raises(PermissionDenied, match="InvalidAccessKeyId"):
        backend.iter_chunks("ab/cd/x")
    # upload_file wraps the ClientError in boto3's S3UploadFailedError; it is unwrapped.
    with pytest.raises(PermissionDenied, match="InvalidAccessKeyId"):
        backend.put_file("ab/cd/x", source)


def test_unreachable_endpoint_is_connection_failed(s3_env: None) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    quick = Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=2)
    store = ContentStore(S3Backend(BUCKET, "p", endpoint, config=quick))

    started = time.monotonic()
    with pytest.raises(ConnectionFailed, match="is the server running") as info:
        store.exists(hash_bytes(b"x"))

    assert endpoint in str(info.value)
    assert "SHIPWAY_S3_ENDPOINT_URL" in str(info.value)
    assert time.monotonic() - started < 5


def test_missing_bucket_says_how_to_create_it(seaweed: SeaweedServer, s3_env: None) -> None:
    bucket = f"shipway-absent-{uuid.uuid4().hex[:8]}"
    backend = S3Backend(bucket, "p", seaweed.endpoint_url)

    with pytest.raises(NotFound, match="create=True"):
        backend.iter_chunks("ab/cd/x")
    with pytest.raises(NotFound, match=f"s3://{bucket}"):
        list(backend.list())


def test_ensure_bucket_creates_once(seaweed: SeaweedServer, s3_env: None) -> None:
    bucket = f"shipway-new-{uuid.uuid4().hex[:8]}"
    backend = S3Backend(bucket, "", seaweed.endpoint_url)

    backend.ensure_bucket()
    backend.ensure_bucket()

    assert bucket in [b["Name"] for b in seaweed.client().list_buckets()["Buckets"]]
    assert list(backend.list()) == []


def test_keys_are_relative_to_the_prefix(seaweed: SeaweedServer, s3_backend: S3Backend) -> None:
    s3_backend.put_bytes("ab/cd/x", b"1")
    sibling = S3Backend(s3_backend.bucket, s3_backend.prefix + "-sibling", seaweed.endpoint_url)
    sibling.put_bytes("ab/cd/y", b"2")

    assert list(s3_backend.list()) == ["ab/cd/x"]
    assert list(s3_backend.list("ab/c")) == ["ab/cd/x"]
    assert s3_backend.describe() == f"s3://{s3_backend.bucket}/{s3_backend.prefix}"
    with pytest.raises(NotFound, match="ab/cd/y"):
        s3_backend.delete("ab/cd/y")


def test_missing_boto3_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)

    with pytest.raises(MissingDependency, match=r"pip install 'shipway\[s3\]'"):
        S3Backend("bucket", "prefix")
