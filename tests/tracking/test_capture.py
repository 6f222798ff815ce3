"""What a run records about where it came from: git state and the environment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from shipway.tracking import capture

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]


def _repo(path: Path) -> Path:
    path.mkdir()
    subprocess.run([*GIT, "init", "-q", "-b", "main"], cwd=path, check=True)
    return path


def _commit(repo: Path, text: str) -> str:
    (repo / "train.py").write_text(text)
    subprocess.run([*GIT, "add", "."], cwd=repo, check=True)
    subprocess.run([*GIT, "commit", "-qm", text], cwd=repo, check=True)
    out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True)
    return out.stdout.strip()


def test_outside_a_repository_nothing_is_recorded(tmp_path: Path) -> None:
    captured = capture.capture_git(tmp_path)
    assert captured.info == capture.GitInfo() and captured.diff is None


def test_a_repository_without_commits_records_nothing(tmp_path: Path) -> None:
    captured = capture.capture_git(_repo(tmp_path / "r"))
    assert captured.info == capture.GitInfo() and captured.diff is None


def test_a_clean_tree_has_no_diff_and_no_remote(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "r")
    commit = _commit(repo, "v1")
    captured = capture.capture_git(repo)
    assert captured.info == capture.GitInfo(commit, "main", None, False)
    assert captured.diff is None


def test_a_detached_head_is_named_like_rev_parse_names_it(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "r")
    first = _commit(repo, "v1")
    _commit(repo, "v2")
    subprocess.run(["git", "checkout", "-q", first], cwd=repo, check=True)
    (repo / "train.py").write_text("v3")
    captured = capture.capture_git(repo)
    assert captured.info == capture.GitInfo(first, "HEAD", None, True)
    assert captured.diff is not None and b"+v3" in captured.diff


def test_the_environment_is_captured_once_until_a_package_folder_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.setattr(sys, "path", [*sys.path, str(site)])
    monkeypatch.setattr(capture, "_captures", {})
    first = capture.environment(packages=False)
    assert capture.environment(packages=False) is first
    assert first.result(timeout=30)["python"]
    (site / "new_package-1.0.dist-info").mkdir()  # an install changes the folder
    second = capture.environment(packages=False)
    assert second is not first
    assert second.result(timeout=30) == first.result()
    assert capture.environment(packages=True) is not second
