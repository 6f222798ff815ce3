"""Shared pieces of the benchmarks: timing, machine description, reporting."""

from __future__ import annotations

import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Result:
    name: str
    figure: float
    unit: str
    baseline_name: str
    baseline: float
    target: str
    higher_is_better: bool = True
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        if self.higher_is_better:
            return self.figure / self.baseline
        return self.baseline / self.figure

    def line(self) -> str:
        return (
            f"{self.name}: {self.figure:,.1f} {self.unit} | baseline ({self.baseline_name}): "
            f"{self.baseline:,.1f} {self.unit} | {self.ratio:.2f}x the baseline "
            f"| target {self.target}"
        )


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}, "
        f"SQLite {__import__('sqlite3').sqlite_version}"
    )


def start_server(
    home: Path, port: int, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """`shipway server` in its own process, so client and server do not share a GIL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "shipway", "server", "--home", str(home), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    import httpx

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health").status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(
        f"server did not start: {proc.stderr.read().decode() if proc.stderr else ''}"
    )
