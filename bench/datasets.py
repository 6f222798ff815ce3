"""Dataset snapshots: 1 GiB in 10,000 files (100 folders of 100 random files), read from
the page cache (each timing is preceded by a read of every file).

- first `data add`, copying into the store (the default: one sync for the whole add, so
  the figure includes writing 1 GiB to this machine's disk) and with `--link` (hard links:
  no bytes written). Baselines: `b3sum` over the same files (or Python's blake3 if `b3sum`
  is not installed), `sha256sum` (one process, xargs), and for the copy mode
  `cp -r && sync` of the same folder (what writing the bytes durably costs on this disk).
- re-add of the unchanged folder, and `data status` after changing one file (stat cache).
- `dvc add` on the same folder, when `dvc` is installed in this environment.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import blake3

from bench.common import Result
from shipway.config import Settings
from shipway.services import Services

FOLDERS, FILES = 100, 100
FILE_SIZE = (1 << 30) // (FOLDERS * FILES)


def make_data(root: Path) -> int:
    for d in range(FOLDERS):
        folder = root / f"part{d:03d}"
        folder.mkdir(parents=True)
        for i in range(FILES):
            (folder / f"file{i:03d}.bin").write_bytes(os.urandom(FILE_SIZE))
    return FOLDERS * FILES * FILE_SIZE


def warm(root: Path) -> None:
    for path in root.rglob("*.bin"):
        path.read_bytes()


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def hash_tool(root: Path) -> tuple[str, float]:
    files = [str(p) for p in sorted(root.rglob("*.bin"))]
    if shutil.which("b3sum"):
        return "b3sum", timed(lambda: _xargs(["b3sum"], files))

    def py() -> None:
        for f in files:
            with open(f, "rb") as fh:
                blake3.blake3(fh.read()).hexdigest()

    return "Python blake3, one thread", timed(py)


def _xargs(cmd: list[str], files: list[str]) -> None:
    subprocess.run(
        ["xargs", "-0", *cmd],
        input="\0".join(files).encode(),
        stdout=subprocess.DEVNULL,
        check=True,
    )


def add(home: Path, data: Path, link: bool) -> float:
    settings = Settings.load(overrides={"home": str(home)}, environ={})
    services = Services.open(settings)
    warm(data)
    took = timed(lambda: services.datasets.add("bench", data, link=link))
    services.close()
    return took


def run() -> list[Result]:
    results: list[Result] = []
    with tempfile.TemporaryDirectory(dir=Path.home()) as tmp:
        data = Path(tmp) / "data"
        size = make_data(data)
        mb = size / 1e6
        warm(data)
        tool, tool_s = hash_tool(data)
        files = [str(p) for p in sorted(data.rglob("*.bin"))]
        sha_s = timed(lambda: _xargs(["sha256sum"], files))
        print(f"  {tool}: {mb / tool_s:,.0f} MB/s, sha256sum: {mb / sha_s:,.0f} MB/s")

        copy_s = add(Path(tmp) / "home-copy", data, link=False)
        results.append(
            Result(
                "data add 1 GiB / 10k files (copy)",
                mb / copy_s,
                "MB/s",
                tool,
                mb / tool_s,
                ">= 400 MB/s",
            )
        )
        results.append(
            Result(
                "data add 1 GiB / 10k files (copy) vs sha256sum",
                mb / copy_s,
                "MB/s",
                "sha256sum",
                mb / sha_s,
                "faster than sha256sum",
            )
        )
        warm(data)
        target = Path(tmp) / "cp-copy"
        cp_s = timed(
            lambda: subprocess.run(f"cp -r '{data}' '{target}' && sync", shell=True, check=True)
        )
        results.append(
            Result(
                "data add 1 GiB / 10k files (copy) vs cp -r + sync",
                mb / copy_s,
                "MB/s",
                "cp -r && sync",
                mb / cp_s,
                "as fast as the disk allows",
            )
        )
        link_home = Path(tmp) / "home-link"
        link_s = add(link_home, data, link=True)
        results.append(
            Result(
                "data add 1 GiB / 10k files (--link)",
                mb / link_s,
                "MB/s",
                tool,
                mb / tool_s,
                ">= 400 MB/s",
            )
        )

        settings = Settings.load(overrides={"home": str(link_home)}, environ={})
        services = Services.open(settings)
        readd_s = timed(lambda: services.datasets.add("bench", data))
        results.append(
            Result(
                "re-add unchanged 10k files",
                readd_s,
                "s",
                "first add",
                link_s,
                "< 0.5 s",
                higher_is_better=False,
            )
        )
        one = data / "part000" / "file000.bin"
        one.unlink()  # a new file, as a tool would write it (the linked blob is untouched)
        one.write_bytes(os.urandom(FILE_SIZE))
        status_s = timed(lambda: services.datasets.status("bench", data))
        results.append(
            Result(
                "data status, one file changed",
                status_s,
                "s",
                "first add",
                link_s,
                "< 0.5 s",
                higher_is_better=False,
            )
        )
        services.close()

        if shutil.which("dvc"):
            results.append(_dvc(Path(tmp), data, mb, copy_s))
        else:
            print("  dvc is not installed here: skipping the dvc add comparison")
    return results


def _dvc(tmp: Path, data: Path, mb: float, ours: float) -> Result:
    repo = tmp / "dvc-repo"
    shutil.copytree(data, repo / "data")
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["dvc", "init", "-q"], cwd=repo, check=True)
    warm(repo / "data")
    took = timed(lambda: subprocess.run(["dvc", "add", "-q", "data"], cwd=repo, check=True))
    return Result(
        "data add 1 GiB (copy) vs dvc add", mb / ours, "MB/s", "dvc add", mb / took, ">= 3x dvc"
    )
