"""ContentStore over each backend: round trips, dedup, streaming, corruption, atomicity."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from shipway.blobs import ContentStore, LocalBackend, S3Backend, hash_bytes, hash_file
from shipway.errors import IntegrityError, InvalidInput, NotFound

Corrupt = Callable[[ContentStore, str, bytes], None]


def test_put_bytes_round_trip(store: ContentStore) -> None:
    digest, size = store.put_bytes(b"hello blobs")

    assert digest == hash_bytes(b"hello blobs")
    assert size == 11
    assert store.exists(digest)
    assert store.size(digest) == 11
    assert store.get_bytes(digest) == b"hello blobs"
    assert list(store.backend.list()) == [f"{digest[:2]}/{digest}"]


def test_empty_blob_round_trip(store: ContentStore, tmp_path: Path) -> None:
    digest, size = store.put_bytes(b"")

    store.download(digest, tmp_path / "out" / "empty")

    assert (size, store.get_bytes(digest)) == (0, b"")
    assert (tmp_path / "out" / "empty").read_bytes() == b""


def test_second_put_of_same_content_writes_nothing(
    store: ContentStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "model.bin"
    source.write_bytes(b"same bytes")
    digest, _ = store.put_file(source)
    writes: list[str] = []
    for name in ("put_file", "put_bytes"):
        original = getattr(store.backend, name)
        monkeypatch.setattr(store.backend, name, _recording(original, writes))

    assert store.put_file(source) == (digest, 10)
    assert store.put_bytes(b"same bytes") == (digest, 10)
    assert store.put_stream([b"same ", b"bytes"], tmp_dir=tmp_path) == (digest, 10)
    assert writes == []


def test_local_dedup_leaves_the_stored_file_alone(tmp_path: Path) -> None:
    store = ContentStore(LocalBackend(tmp_path / "blobs"))
    digest, _ = store.put_bytes(b"same bytes")
    stored = all_files(tmp_path / "blobs")[0]
    os.utime(stored, ns=(1_000_000_000, 1_000_000_000))

    store.put_bytes(b"same bytes")

    assert stored.stat().st_mtime_ns == 1_000_000_000


def test_large_file_round_trip(store: ContentStore, tmp_path: Path) -> None:
    data = os.urandom(40 << 20)
    source = tmp_path / "big.bin"
    source.write_bytes(data)

    digest, size = store.put_file(source)
    dest = tmp_path / "restored" / "deep" / "big.bin"
    store.download(digest, dest)

    assert (digest, size) == (hash_bytes(data), len(data))
    assert hash_file(dest) == digest
    assert [p.name for p in dest.parent.iterdir()] == ["big.bin"]


def test_put_stream_many_chunks(store: ContentStore, tmp_path: Path) -> None:
    chunks = [os.urandom(n % 5000) for n in range(1000)]
    spool = tmp_path / "spool"
    spool.mkdir()

    digest, size = store.put_stream(iter(chunks), tmp_dir=spool)

    whole = b"".join(chunks)
    assert (digest, size) == (hash_bytes(whole), len(whole))
    assert b"".join(store.iter_verified(digest, chunk_size=4096)) == whole
    assert list(spool.iterdir()) == []


def test_put_stream_that_fails_stores_nothing(store: ContentStore, tmp_path: Path) -> None:
    def broken() -> Iterator[bytes]:
        yield b"x" * 1000
        raise ConnectionResetError("client went away")

    spool = tmp_path / "spool"
    spool.mkdir()

    with pytest.raises(ConnectionResetError):
        store.put_stream(broken(), tmp_dir=spool)

    assert list(spool.iterdir()) == []
    assert list(store.backend.list()) == []


def test_corrupt_blob_is_detected_on_every_read(
    store: ContentStore, corrupt: Corrupt, tmp_path: Path
) -> None:
    digest, _ = store.put_bytes(b"the real model")
    corrupt(store, digest, b"the fake model")

    with pytest.raises(IntegrityError) as info:
        store.get_bytes(digest)
    message = str(info.value)
    assert digest in message
    assert hash_bytes(b"the fake model") in message
    assert store.backend.describe() in message

    chunks = store.iter_verified(digest, chunk_size=4)
    with pytest.raises(IntegrityError, match=digest):
        list(chunks)


def test_corrupt_download_leaves_dest_untouched(
    store: ContentStore, corrupt: Corrupt, tmp_path: Path
) -> None:
    digest, _ = store.put_bytes(b"the real model")
    corrupt(store, digest, b"the fake model")
    out = tmp_path / "out"
    out.mkdir()
    existing = out / "model.bin"
    existing.write_bytes(b"previous version")

    with pytest.raises(IntegrityError, match=digest):
        store.download(digest, out / "fresh.bin")
    with pytest.raises(IntegrityError, match=digest):
        store.download(digest, existing)

    assert sorted(p.name for p in out.iterdir()) == ["model.bin"]
    assert existing.read_bytes() == b"previous version"


def test_missing_digest_is_not_found(store: ContentStore, tmp_path: Path) -> None:
    digest = hash_bytes(b"never stored")

    assert not store.exists(digest)
    for read in (
        store.get_bytes,
        store.size,
        store.iter_verified,  # raises on the call, before any chunk
        lambda d: store.download(d, tmp_path / "x" / "out.bin"),
    ):
        with pytest.raises(NotFound, match=digest):
            read(digest)
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    "digest",
    ["", "abc", "A" * 64, "g" * 64, "a" * 63, "a" * 65, "../" + "a" * 61, "a" * 63 + "\n"],
)
def test_invalid_digest_is_rejected(digest: str, tmp_path: Path) -> None:
    # Digests are checked before any backend call, so one backend covers both.
    store = ContentStore(LocalBackend(tmp_path / "blobs"))
    for call in (
        store.exists,
        store.get_bytes,
        store.size,
        store.iter_verified,
        lambda d: store.download(d, tmp_path / "out.bin"),
    ):
        with pytest.raises(InvalidInput, match="invalid blob digest"):
            call(digest)


def test_interrupted_put_leaves_no_object(
    store: ContentStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "source" / "big.bin"
    source.parent.mkdir()
    # Big enough for S3 to go multipart, so the failure hits between parts.
    source.write_bytes(os.urandom(20 << 20))
    backend = store.backend
    if isinstance(backend, LocalBackend):
        _fail_os_replace(monkeypatch)
    else:
        assert isinstance(backend, S3Backend)
        _fail_second_s3_part(backend)

    with pytest.raises(OSError, match="simulated crash"):
        store.put_file(source)

    digest = hash_file(source)
    assert not store.exists(digest)
    assert list(backend.list()) == []
    if isinstance(backend, LocalBackend):
        assert all_files(backend.root) == []
    else:
        assert isinstance(backend, S3Backend)
        uploads = backend.client.list_multipart_uploads(Bucket=backend.bucket)
        assert [u for u in uploads.get("Uploads", []) if u["Key"].startswith(backend.prefix)] == []


def all_files(root: Path) -> list[Path]:
    """Every file under ``root``, hidden ones included."""
    return sorted(p for p in root.rglob("*") if p.is_file())


def _fail_os_replace(monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(src: Any, dst: Any) -> None:
        raise OSError("simulated crash before rename")

    monkeypatch.setattr(os, "replace", crash)


def _fail_second_s3_part(backend: S3Backend) -> None:
    parts: list[None] = []

    def crash(**_: Any) -> None:
        parts.append(None)  # list.append is atomic: parts upload from several threads
        if len(parts) > 1:
            raise OSError("simulated crash during multipart upload")

    backend.client.meta.events.register("before-call.s3.UploadPart", crash)


def _recording(method: Callable[..., None], calls: list[str]) -> Callable[..., None]:
    def record(key: str, *args: Any) -> None:
        calls.append(key)
        method(key, *args)

    return record
