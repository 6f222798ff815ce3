"""Run every benchmark, print the figures, and write docs/benchmarks.md.

python -m bench            # all
python -m bench ingest     # one
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from bench import datasets, datasets_profile, ingest, models, search
from bench.common import Result, machine

SUITES = {
    "ingest": ingest,
    "search": search,
    "datasets": datasets,
    "datasets_profile": datasets_profile,
    "models": models,
}
DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def write_doc(results: list[Result]) -> None:
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m bench`); each benchmark measures its own baseline",
        "in the same run, on the same machine and database. Timings are never pass/fail tests.",
        "",
        f"Last run: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {machine()}.",
        "",
        "| benchmark | shipway | baseline | ratio | target |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {r.figure:,.1f} {r.unit} | {r.baseline:,.1f} {r.unit} "
            f"({r.baseline_name}) | {r.ratio:.2f}x | {r.target} |"
        )
    lines += ["", "## What each one does", ""]
    for module in SUITES.values():
        lines += [
            f"### `bench/{module.__name__.split('.')[-1]}.py`",
            "",
            (module.__doc__ or "").strip(),
            "",
        ]
    DOC.write_text("\n".join(lines))


def main(argv: list[str]) -> int:
    names = argv or list(SUITES)
    print(f"machine: {machine()}")
    results: list[Result] = []
    for name in names:
        for result in SUITES[name].run():
            print(result.line(), flush=True)
            results.append(result)
    if not argv:
        write_doc(results)
        print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
