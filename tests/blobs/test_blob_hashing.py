"""Digests: the small (chunked) and large (parallel mmap) paths agree."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shipway.blobs import hash_bytes, hash_file

EMPTY = "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"


def test_known_digest_of_nothing(tmp_path: Path) -> None:
    (tmp_path / "empty").write_bytes(b"")

    assert hash_bytes(b"") == EMPTY
    assert hash_file(tmp_path / "empty") == EMPTY


@pytest.mark.parametrize("size", [1, (1 << 20) + 1, (16 << 20) + 1])
def test_hash_file_matches_hash_bytes(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    (tmp_path / "f").write_bytes(data)

    assert hash_file(tmp_path / "f") == hash_bytes(data)
