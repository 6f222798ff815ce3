"""LocalBackend: key safety and what list() shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipway.blobs import LocalBackend
from shipway.errors import InvalidPath, NotFound

HOSTILE_KEYS = [
    "../x",
    "a/../../x",
    "/etc/passwd",
    "a\x00b",
    "a\nb",
    "a\\..\\b",
    "",
    "a//b",
    "./a",
    "a/",
    ".tmp-abc",
]


@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_hostile_keys_are_rejected(tmp_path: Path, key: str) -> None:
    backend = LocalBackend(tmp_path / "blobs")
    source = tmp_path / "source"
    source.write_bytes(b"x")

    for call in (
        backend.exists,
        backend.size,
        backend.delete,
        backend.iter_chunks,
        lambda k: backend.put_bytes(k, b"x"),
        lambda k: backend.put_file(k, source),
        lambda k: backend.get_file(k, tmp_path / "out"),
    ):
        with pytest.raises(InvalidPath):
            call(key)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["source"]


def test_list_prefix_cannot_escape_the_root(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "blobs")

    with pytest.raises(InvalidPath):
        list(backend.list("../"))


def test_list_skips_temp_files_and_filters_by_prefix(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "blobs")
    backend.put_bytes("ab/cd/abcd1", b"1")
    backend.put_bytes("ab/ce/abce2", b"2")
    backend.put_bytes("ef/gh/efgh3", b"3")
    (tmp_path / "blobs" / "ab" / "cd" / ".tmp-abcd9-0123").write_bytes(b"half-written")

    assert sorted(backend.list()) == ["ab/cd/abcd1", "ab/ce/abce2", "ef/gh/efgh3"]
    assert sorted(backend.list("ab/")) == ["ab/cd/abcd1", "ab/ce/abce2"]
    assert sorted(backend.list("ab/c")) == ["ab/cd/abcd1", "ab/ce/abce2"]
    assert list(backend.list("ab/cd/abcd")) == ["ab/cd/abcd1"]
    assert list(backend.list("zz/")) == []


def test_missing_root_lists_nothing_and_finds_nothing(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "absent")

    assert list(backend.list()) == []
    assert not backend.exists("ab/cd/x")
    with pytest.raises(NotFound, match="ab/cd/x"):
        backend.iter_chunks("ab/cd/x")


def test_get_file_and_delete(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "blobs")
    backend.put_bytes("ab/cd/x", b"payload")

    backend.get_file("ab/cd/x", tmp_path / "out")
    backend.delete("ab/cd/x")

    assert (tmp_path / "out").read_bytes() == b"payload"
    assert not backend.exists("ab/cd/x")
    with pytest.raises(NotFound, match="ab/cd/x"):
        backend.delete("ab/cd/x")


def test_stored_files_follow_the_umask(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "blobs")
    backend.put_bytes("ab/cd/x", b"payload")

    mode = (tmp_path / "blobs" / "ab" / "cd" / "x").stat().st_mode & 0o777

    assert mode == (tmp_path / "blobs").stat().st_mode & 0o666
