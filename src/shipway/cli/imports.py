"""``shipway import``: bring another tool's history into the home."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from shipway.cli.common import Home, Json, settings_for
from shipway.cli.output import console, print_json, table

app = typer.Typer(help="Import another tool's history (MLflow).", no_args_is_help=True)


@app.command("mlflow")
def mlflow_(
    source: Annotated[
        str,
        typer.Option(
            "--from",
            help="An MLflow tracking server URL, an MLflow database URI (sqlite:///mlflow.db, "
            "postgresql://…) or an mlruns folder.",
        ),
    ],
    artifacts: Annotated[
        Path | None,
        typer.Option(
            help="For a database an MLflow server wrote: the folder of its mlflow-artifacts:/ "
            "files (the server's --artifacts-destination)."
        ),
    ] = None,
    home: Home = None,
    json: Json = False,
) -> None:
    """Import experiments, runs (params, metric histories, tags, artifacts, dataset
    inputs), logged models, registered models, versions, stages and aliases from MLflow.

    Running it again imports nothing twice; an interrupted import continues where it
    stopped. Needs MLflow's client: pip install 'shipway[mlflow]'.

    Example: shipway import mlflow --from sqlite:///mlflow.db --artifacts ./mlartifacts
    """
    from rich.progress import Progress, SpinnerColumn, TimeElapsedColumn

    from shipway.importers.mlflow import import_mlflow
    from shipway.services import Services

    started = time.perf_counter()
    services = Services.open(settings_for(home), actor=None)
    with Progress(
        SpinnerColumn(),
        "[progress.description]{task.description}",
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=json or not console.is_terminal,
    ) as bar:
        task = bar.add_task("reading", total=None)
        try:
            summary = import_mlflow(
                services, source, lambda what: bar.update(task, description=what), artifacts
            )
        finally:
            services.close()
    took = time.perf_counter() - started
    if json:
        print_json({**summary.to_dict(), "seconds": round(took, 3)})
        return
    kinds = sorted(set(summary.imported) | set(summary.skipped))
    rows = [[k, str(summary.imported[k]), str(summary.skipped[k])] for k in kinds]
    console.print(table(None, ["what", "imported", "skipped (imported before)"], rows))
    for problem in summary.problems:
        console.print(f"[yellow]not imported:[/] {problem}")
    console.print(f"imported from {source} in {took:.1f}s")
