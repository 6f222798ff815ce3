"""What a run records about where it came from: git state, entry point, environment.

Captured in the process that runs the training code (the client), then sent to the store.
Every probe is best-effort: a missing git binary or a folder outside a repository simply
records nothing. The environment (python, platform, packages) costs a tenth of a second
or more, so :func:`environment` captures it once per process and interpreter environment,
in a background thread.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
import sys
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipway.records import GitInfo


@dataclass(frozen=True)
class GitCapture:
    info: GitInfo
    diff: bytes | None  # the uncommitted changes, when the work tree is dirty


def _start_git(cwd: Path, *args: str) -> subprocess.Popen[bytes] | None:
    try:
        return subprocess.Popen(
            ["git", *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
    except OSError:
        return None


def _git_bytes(process: subprocess.Popen[bytes] | None, timeout: float = 30) -> bytes | None:
    if process is None:
        return None
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return None
    return out if process.returncode == 0 else None


def _git_output(process: subprocess.Popen[bytes] | None) -> str | None:
    out = _git_bytes(process, timeout=10)
    return None if out is None else out.decode("utf-8", "replace").strip()


def capture_git(cwd: Path | None = None) -> GitCapture:
    cwd = cwd or Path.cwd()
    # three probes side by side (start_run waits for the slowest, not their sum): the
    # status gives the commit, the branch and whether the tree is dirty; the diff is kept
    # only when it is
    status_probe = _start_git(cwd, "status", "--porcelain=v2", "--branch", "--untracked-files=no")
    remote_probe = _start_git(cwd, "remote", "get-url", "origin")
    diff_probe = _start_git(cwd, "diff", "HEAD", "--binary")
    status = _git_output(status_probe)
    remote = _git_output(remote_probe)
    diff = _git_bytes(diff_probe)
    headers = {}
    dirty = False
    for line in (status or "").splitlines():
        if line.startswith("# "):
            key, _, value = line[2:].partition(" ")
            headers[key] = value
        elif line:
            dirty = True
    commit = headers.get("branch.oid")
    if status is None or commit in (None, "(initial)"):
        return GitCapture(GitInfo(), None)
    branch = headers.get("branch.head")
    if branch == "(detached)":
        branch = "HEAD"  # what `git rev-parse --abbrev-ref HEAD` says
    return GitCapture(
        GitInfo(commit, branch or None, remote or None, dirty), diff if dirty else None
    )


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
            metadata = dist.metadata  # parsed on each access: read it once
            name = metadata["Name"]
            if name:
                found[name.lower()] = metadata["Version"]
        env["packages"] = dict(sorted(found.items()))
    return env


_captures: dict[tuple[Any, ...], Future[dict[str, Any]]] = {}
_captures_lock = threading.Lock()


def _environment_key(packages: bool) -> tuple[Any, ...]:
    """What the environment depends on: the interpreter, the import path, and when each
    folder packages are installed in last changed (installing or removing one changes it).
    Other folders on the path (the script's, the working folder) change as files are
    written and say nothing about the packages."""
    stamps: list[tuple[str, int | None]] = []
    for entry in sys.path:
        if os.path.basename(entry.rstrip(os.sep)) in ("site-packages", "dist-packages"):
            try:
                stamps.append((entry, os.stat(entry).st_mtime_ns))
            except OSError:
                stamps.append((entry, None))
    return (packages, sys.executable, sys.prefix, tuple(sys.path), tuple(stamps))


def _capture_into(future: Future[dict[str, Any]], packages: bool) -> None:
    try:
        future.set_result(capture_environment(packages))
    except BaseException as exc:  # handed to whoever waits for it
        future.set_exception(exc)


def environment(packages: bool = True) -> Future[dict[str, Any]]:
    """The environment of this process (see :func:`capture_environment`) as a future.

    The first call for an interpreter environment starts the capture in a background
    thread; later calls get the same future back until a folder on ``sys.path`` changes.
    """
    key = _environment_key(packages)
    with _captures_lock:
        future = _captures.get(key)
        if future is None or (future.done() and future.exception() is not None):
            future = Future()
            _captures[key] = future
            thread = threading.Thread(
                target=_capture_into, args=(future, packages), name="shipway-environment"
            )
            thread.daemon = True
            thread.start()
    return future
