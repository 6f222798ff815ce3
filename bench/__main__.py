"""Run every benchmark, print the figures, and write docs/benchmarks.md.

python -m bench            # all
python -m bench ingest     # one
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from bench import (
    datasets,
    datasets_profile,
    ingest,
    mlflow_compat,
    models,
    monitoring,
    pipelines,
    search,
    serving,
    startup,
    ui,
)
from bench.common import Result, machine

SUITES = {
    "ingest": ingest,
    "search": search,
    "datasets": datasets,
    "datasets_profile": datasets_profile,
    "models": models,
    "serving": serving,
    "monitoring": monitoring,
    "startup": startup,
    "ui": ui,
    "mlflow_compat": mlflow_compat,
    "pipelines": pipelines,
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
    else:
        update_doc(results, names)
    print(f"wrote {DOC}")
    return 0


def update_doc(results: list[Result], names: list[str]) -> None:
    """After a partial run: replace (or add) the rows of the suites that ran, and say when
    and where they ran; the other rows keep their own run's figures."""
    lines = DOC.read_text().splitlines() if DOC.exists() else []
    if not lines:
        write_doc(results)
        return
    fresh = {
        r.name: (
            f"| {r.name} | {r.figure:,.1f} {r.unit} | {r.baseline:,.1f} {r.unit} "
            f"({r.baseline_name}) | {r.ratio:.2f}x | {r.target} |"
        )
        for r in results
    }
    out: list[str] = []
    last_row = 0
    for line in lines:
        name = line.split("|")[1].strip() if line.startswith("| ") else None
        if name in fresh:
            line = fresh.pop(name)
        out.append(line)
        if line.startswith("|"):
            last_row = len(out)
    out[last_row:last_row] = list(fresh.values())
    note = (
        f"Rows of {', '.join(names)} re-run: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC "
        f"on {machine()}."
    )
    out = [line for line in out if not line.startswith(f"Rows of {', '.join(names)} re-run")]
    index = next(i for i, line in enumerate(out) if line.startswith("Last run:"))
    out.insert(index + 1, "")
    out.insert(index + 2, note)
    for module_name in names:
        heading = f"### `bench/{module_name}.py`"
        if heading not in out:
            out += [heading, "", (SUITES[module_name].__doc__ or "").strip(), ""]
    DOC.write_text("\n".join(out).replace("\n\n\n", "\n\n"))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
