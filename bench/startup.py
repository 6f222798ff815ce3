"""Start-up: whole-process timings of the commands a user types most, each started afresh
(median of repeated runs; shipway and the baseline alternate, so both see the same machine):

- `shipway --help`;
- `shipway runs list` on a local home holding 20 runs;
- `import shipway` + `sw.set_tracking_uri("http://127.0.0.1:5050")` (a remote client's start);
- `shipway data status` and an unchanged `shipway data add` of a folder of 1 GiB in 10,000
  files (generated under /tmp; `python -m bench.startup --size-mb 100` for a quick run),
  beside `dvc status` / `dvc add` on the same folder when `dvc` is installed;
- `sw.start_run()` in a process that already made one run (median of 20, in-process).

Then the modules `python -X importtime` finds slowest to import for `--help` and
`runs list`. Baseline: the same commands with PYTHONPATH on a temporary `git worktree` of
commit 5278cbc (main before this work; `--baseline COMMIT` or SHIPWAY_BENCH_BASELINE to
change it), measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from bench.common import Result

REPO = Path(__file__).resolve().parent.parent
BASELINE = os.environ.get("SHIPWAY_BENCH_BASELINE", "5278cbc")
SIZE_MB = int(os.environ.get("SHIPWAY_BENCH_STARTUP_MB", "1024"))
FILES = 10_000
REPEAT = 7
REMOTE = "import shipway as sw; sw.set_tracking_uri('http://127.0.0.1:5050')"
START_RUN = """
import statistics, time
import shipway as sw
client = sw.Client()
with sw.start_run(experiment="bench", client=client):
    pass
time.sleep(1)  # the first run's environment capture finishes in the background
times = []
for _ in range(20):
    started = time.perf_counter()
    run = sw.start_run(experiment="bench", client=client)
    times.append(time.perf_counter() - started)
    run.end()
print(statistics.median(times))
"""


@contextmanager
def baseline_tree(commit: str) -> Iterator[Path]:
    """A temporary git worktree of ``commit`` (detached), removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="shipway-baseline-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "-q", str(tree), commit],
            cwd=REPO,
            check=True,
        )
        try:
            yield tree
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(tree)], cwd=REPO, check=False
            )


def make_folder(root: Path, size_mb: int, files: int = FILES) -> None:
    """``files`` random files (100 folders) adding up to ``size_mb`` MiB."""
    size = (size_mb << 20) // files
    for i in range(files):
        folder = root / f"part{i % 100:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"file{i:05d}.bin").write_bytes(os.urandom(size))


class Side:
    """One version of shipway: its source folder and the environment that selects it."""

    def __init__(self, name: str, src: Path, home: Path) -> None:
        self.name = name
        self.src = src
        self.home = home
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SHIPWAY_")},
            "PYTHONPATH": str(src),
            "SHIPWAY_HOME": str(home),
            "COLUMNS": "120",
        }

    def shipway(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "shipway", *args]

    def run(self, argv: Sequence[str], cwd: Path | None = None) -> str:
        out = subprocess.run(
            list(argv), env=self.env, cwd=cwd, capture_output=True, text=True, check=False
        )
        if out.returncode not in (0, 1):  # `data status` exits 1 on a change
            raise RuntimeError(f"{self.name}: {' '.join(argv)} failed: {out.stderr[-2000:]}")
        return out.stdout


def _wall(side: Side, argv: Sequence[str], cwd: Path | None = None) -> float:
    started = time.perf_counter()
    side.run(argv, cwd)
    return time.perf_counter() - started


def paired(
    ours: Side, base: Side, argv: Callable[[Side], Sequence[str]], repeat: int
) -> tuple[float, float]:
    """Median wall seconds of ``argv`` on each side, alternating, after one warm-up each."""
    for side in (ours, base):
        side.run(argv(side))
    a: list[float] = []
    b: list[float] = []
    for _ in range(repeat):
        a.append(_wall(ours, argv(ours)))
        b.append(_wall(base, argv(base)))
    return statistics.median(a), statistics.median(b)


def setup_home(side: Side, data: Path) -> None:
    script = (
        "import shipway as sw\n"
        "client = sw.Client()\n"
        "for i in range(20):\n"
        "    with sw.start_run(experiment='bench', name=f'r{i}', client=client,"
        " capture=False) as run:\n"
        "        run.log_params({'model': 'rf', 'i': i})\n"
        "        run.log_metrics({'acc': 0.9, 'loss': 0.1})\n"
    )
    side.run([sys.executable, "-c", script])
    side.run(side.shipway("data", "add", "bench-data", str(data)))  # the first add


def importtime(side: Side, argv: Sequence[str], top: int = 8) -> list[tuple[str, float]]:
    """The top-level imports that took longest (cumulative ms) for ``argv``."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", *argv[1:]],
        env=side.env,
        capture_output=True,
        text=True,
        check=False,
    )
    found: dict[str, float] = {}
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.split("|")
        if name.startswith(" ") and not name.startswith("  "):  # imported at top level
            found[name.strip()] = int(cumulative) / 1000
    return sorted(found.items(), key=lambda kv: -kv[1])[:top]


def _dvc(data: Path, repeat: int) -> dict[str, float] | None:
    """Median seconds of ``dvc status`` and an unchanged ``dvc add`` of ``data`` (made a
    DVC repository's output in its parent folder), or None when dvc is not installed."""
    if shutil.which("dvc") is None:
        return None
    repo = data.parent
    subprocess.run(["dvc", "init", "-q", "--no-scm"], cwd=repo, check=True)
    subprocess.run(["dvc", "add", "-q", data.name], cwd=repo, check=True)
    out = {}
    for argv in (["dvc", "status", "-q"], ["dvc", "add", "-q", data.name]):
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            subprocess.run(argv, cwd=repo, capture_output=True, check=False)
            times.append(time.perf_counter() - started)
        out[argv[1]] = statistics.median(times)
    return out


def run(baseline: str = BASELINE, size_mb: int = SIZE_MB, repeat: int = REPEAT) -> list[Result]:
    label = f"main@{baseline}"
    results: list[Result] = []
    with (
        tempfile.TemporaryDirectory(prefix="shipway-startup-", dir="/tmp") as tmp,
        baseline_tree(baseline) as tree,
    ):
        root = Path(tmp)
        data = root / "repo" / "data"  # repo/: a DVC repository too, when dvc is installed
        make_folder(data, size_mb)
        ours = Side("shipway", REPO / "src", root / "home-ours")
        base = Side(label, tree / "src", root / "home-base")
        for side in (ours, base):
            setup_home(side, data)
        size = f"{size_mb / 1024:g} GiB" if size_mb >= 1024 else f"{size_mb} MiB"
        cases: list[tuple[str, Callable[[Side], Sequence[str]], str]] = [
            ("shipway --help", lambda s: s.shipway("--help"), "< 300 ms"),
            (
                "shipway runs list (local home, 20 runs)",
                lambda s: s.shipway("runs", "list"),
                "< 600 ms",
            ),
            (
                "import shipway + set_tracking_uri(http://…)",
                lambda s: [sys.executable, "-c", REMOTE],
                "< 250 ms",
            ),
            (
                f"shipway data status ({size} in {FILES:,} files, unchanged)",
                lambda s: s.shipway("data", "status", "bench-data", str(data)),
                "< 350 ms",
            ),
            (
                f"shipway data add, unchanged ({size} in {FILES:,} files)",
                lambda s: s.shipway("data", "add", "bench-data", str(data)),
                "< 350 ms",
            ),
        ]
        ours_ms: dict[str, float] = {}  # by the command's first words, for the dvc rows
        for name, argv, target in cases:
            a, b = paired(ours, base, argv, repeat)
            ours_ms[" ".join(name.split()[:3])] = a * 1000
            results.append(
                Result(name, a * 1000, "ms", label, b * 1000, target, higher_is_better=False)
            )
        start_a, start_b = (
            float(side.run([sys.executable, "-c", START_RUN]).strip().splitlines()[-1])
            for side in (ours, base)
        )
        results.append(
            Result(
                "sw.start_run() (local home, after the process's first run)",
                start_a * 1000,
                "ms",
                label,
                start_b * 1000,
                "< 50 ms",
                higher_is_better=False,
            )
        )
        dvc = _dvc(data, repeat)
        if dvc is None:
            print("  dvc: not found on PATH; no dvc status / dvc add beside shipway")
        else:
            for (title, figure), command in zip(
                (
                    ("data status", ours_ms["shipway data status"]),
                    ("data add, unchanged", ours_ms["shipway data add,"]),
                ),
                ("status", "add"),
                strict=True,
            ):
                results.append(
                    Result(
                        f"shipway {title} ({size} in {FILES:,} files) vs dvc",
                        figure,
                        "ms",
                        f"dvc {command}",
                        dvc[command] * 1000,
                        "faster than dvc",
                        higher_is_better=False,
                    )
                )
        for title, argv in (
            ("shipway --help", ours.shipway("--help")),
            ("shipway runs list", ours.shipway("runs", "list")),
        ):
            for side in (ours, base):
                top = ", ".join(f"{m} {ms:.0f}" for m, ms in importtime(side, argv))
                print(f"  importtime, {title} ({side.name}), ms: {top}")
    return results


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__)
    parser.add_argument("--baseline", default=BASELINE, help="commit to compare with")
    parser.add_argument("--size-mb", type=int, default=SIZE_MB, help="data folder size")
    parser.add_argument("--repeat", type=int, default=REPEAT, help="timed runs per command")
    args = parser.parse_args(argv)
    for result in run(args.baseline, args.size_mb, args.repeat):
        print(result.line())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
