"""open_blob_store: the URI scheme picks the backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipway.blobs import LocalBackend, S3Backend, open_blob_store
from shipway.errors import InvalidInput
from shipway.testing.seaweed import SeaweedServer


def test_plain_path_is_a_local_folder(tmp_path: Path) -> None:
    store = open_blob_store(str(tmp_path / "blobs"))

    assert isinstance(store.backend, LocalBackend)
    assert store.backend.root == tmp_path / "blobs"
    assert (tmp_path / "blobs").is_dir()


def test_file_uri_is_a_local_folder(tmp_path: Path) -> None:
    store = open_blob_store((tmp_path / "my blobs").as_uri(), create=False)

    assert isinstance(store.backend, LocalBackend)
    assert store.backend.root == tmp_path / "my blobs"
    assert not (tmp_path / "my blobs").exists()


def test_relative_path_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    store = open_blob_store("rel/blobs", create=False)

    assert isinstance(store.backend, LocalBackend)
    assert store.backend.root == tmp_path / "rel" / "blobs"


@pytest.mark.parametrize(
    "location",
    ["", "   ", "s3://", "s3:///prefix", "gs://bucket/x", "file://otherhost/x"],
)
def test_bad_locations_are_rejected(location: str) -> None:
    with pytest.raises(InvalidInput, match="blob location"):
        open_blob_store(location, create=False)


@pytest.mark.s3
def test_s3_uri_opens_and_creates_the_bucket(seaweed: SeaweedServer, s3_env: None) -> None:
    store = open_blob_store(
        "s3://shipway-location-test/team/blobs", s3_endpoint_url=seaweed.endpoint_url
    )
    digest, _ = store.put_bytes(b"via uri")

    assert isinstance(store.backend, S3Backend)
    assert (store.backend.bucket, store.backend.prefix) == ("shipway-location-test", "team/blobs")
    assert store.backend.endpoint_url == seaweed.endpoint_url
    key = f"team/blobs/{store.key(digest)}"
    assert (
        seaweed.client().head_object(Bucket="shipway-location-test", Key=key)["ContentLength"] == 7
    )


@pytest.mark.s3
def test_s3_endpoint_falls_back_to_aws_endpoint_url(
    seaweed: SeaweedServer, s3_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", seaweed.endpoint_url)

    store = open_blob_store("s3://shipway-location-test/env", create=True)

    assert isinstance(store.backend, S3Backend)
    assert store.backend.endpoint_url == seaweed.endpoint_url
