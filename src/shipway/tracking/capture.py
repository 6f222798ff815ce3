"""What a run records about where it came from: git state, entry point, environment.

Captured in the process that runs the training code (the client), then sent to the store.
Every probe is best-effort: a missing git binary or a folder outside a repository simply
records nothing.
"""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipway.records import GitInfo


@dataclass(frozen=True)
class GitCapture:
    info: GitInfo
    diff: bytes | None  # the uncommitted changes, when the work tree is dirty


def _git(cwd: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.decode("utf-8", "replace").strip()


def capture_git(cwd: Path | None = None) -> GitCapture:
    cwd = cwd or Path.cwd()
    commit = _git(cwd, "rev-parse", "HEAD")
    if commit is None:
        return GitCapture(GitInfo(), None)
    branch = _git(cwd, "rev-parse", "--abbrev-ref", "HEAD")
    remote = _git(cwd, "remote", "get-url", "origin")
    status = _git(cwd, "status", "--porcelain", "--untracked-files=no")
    dirty = bool(status)
    diff = None
    if dirty:
        try:
            diff = subprocess.run(
                ["git", "diff", "HEAD", "--binary"], cwd=cwd, capture_output=True, timeout=30
            ).stdout
        except (OSError, subprocess.TimeoutExpired):
            diff = None
    return GitCapture(GitInfo(commit, branch or None, remote or None, dirty), diff)


def entry_point() -> str | None:
    """The script that started this process, relative to the working folder when inside it."""
    argv0 = sys.argv[0] if sys.argv else ""
    if not argv0 or argv0 in {"-c", "-m"}:
        main = sys.modules.get("__main__")
        spec = getattr(main, "__spec__", None)
        return f"-m {spec.name}" if spec is not None else None
    path = Path(argv0).resolve()
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)


def capture_environment(packages: bool = True) -> dict[str, Any]:
    env: dict[str, Any] = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "executable": sys.executable,
    }
    if packages:
        found: dict[str, str] = {}
        for dist in importlib.metadata.distributions():
            name = dist.name
            if name:
                found[name.lower()] = dist.version
        env["packages"] = dict(sorted(found.items()))
    return env
