"""shipway runs list|show|compare|delete|restore"""

from __future__ import annotations

from typing import Annotated

import typer

from shipway.cli.common import Home, Json, Uri, client_for
from shipway.cli.output import console, duration, number, print_json, table, when
from shipway.errors import InvalidInput
from shipway.records import Run

app = typer.Typer(help="Inspect, compare and delete runs.", no_args_is_help=True)


@app.command("list")
def list_(
    experiment: Annotated[
        list[str] | None,
        typer.Option("--experiment", "-e", help="Experiment name or id (repeatable)."),
    ] = None,
    filter: Annotated[
        str | None,
        typer.Option("--filter", "-f", help="e.g. \"metrics.acc > 0.9 and params.model = 'rf'\""),
    ] = None,
    order_by: Annotated[
        list[str] | None,
        typer.Option("--order-by", "-o", help="e.g. 'metrics.acc desc' (repeatable)."),
    ] = None,
    limit: Annotated[int, typer.Option(help="Runs per page.")] = 50,
    cursor: Annotated[str | None, typer.Option(help="next_cursor of the previous page.")] = None,
    deleted: Annotated[bool, typer.Option("--deleted", help="Include deleted runs.")] = False,
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """List runs, newest first, with a filter and an order.

    Example: shipway runs list -e churn -f "metrics.acc > 0.9" -o "metrics.acc desc"
    """
    with client_for(home, tracking_uri) as client:
        page = client.search_runs(
            experiment,
            filter=filter,
            order_by=order_by or [],
            limit=limit,
            cursor=cursor,
            include_deleted=deleted,
        )
    if json:
        print_json({"runs": [r.to_dict() for r in page], "next_cursor": page.next_cursor})
        return
    metric_keys = sorted({k for r in page for k in r.metrics})[:4]
    rows = [
        [
            r.id,
            r.name,
            _status(r),
            r.experiment,
            when(r.start_time),
            duration(r.start_time, r.end_time),
        ]
        + [number(r.metrics[k]) if k in r.metrics else "" for k in metric_keys]
        for r in page
    ]
    columns = ["id", "name", "status", "experiment", "started", "took", *metric_keys]
    console.print(table(f"{len(page)} run(s)", columns, rows))
    if page.next_cursor:
        console.print(f"more: --cursor {page.next_cursor}", highlight=False)


def _status(run: Run) -> str:
    colour = {"running": "yellow", "finished": "green", "failed": "red", "killed": "magenta"}
    text = f"[{colour.get(run.status, 'white')}]{run.status}[/]"
    return text + (" (deleted)" if run.deleted else "")


@app.command()
def show(
    run_id: Annotated[str, typer.Argument(help="The run's id.")],
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """Show one run: attributes, params, latest metrics, tags and artifacts.

    Example: shipway runs show 3f2a…
    """
    with client_for(home, tracking_uri) as client:
        run = client.get_run(run_id)
        artifacts = client.list_artifacts(run_id)
    if json:
        print_json({**run.to_dict(), "artifacts": [a.to_dict() for a in artifacts]})
        return
    git = run.git
    lines = [
        f"[bold]{run.name}[/]  {_status(run)}",
        f"id          {run.id}",
        f"experiment  {run.experiment}",
        f"user        {run.user}",
        f"started     {when(run.start_time)}   ended {when(run.end_time) or '-'}",
    ]
    if run.parent_id:
        lines.append(f"parent      {run.parent_id}")
    if git.commit:
        dirty = " (dirty)" if git.dirty else ""
        lines.append(f"git         {git.commit[:12]} on {git.branch}{dirty} {git.remote or ''}")
    if run.source:
        lines.append(f"source      {run.source}")
    from rich.panel import Panel

    console.print(Panel("\n".join(lines), expand=False))
    if run.params:
        console.print(table("params", ["key", "value"], sorted(run.params.items())))
    if run.metrics:
        rows = [(k, number(v)) for k, v in sorted(run.metrics.items())]
        console.print(table("metrics (latest)", ["key", "value"], rows))
    if run.tags:
        console.print(table("tags", ["key", "value"], sorted(run.tags.items())))
    if artifacts:
        console.print(table("artifacts", ["path", "bytes"], [(a.path, a.size) for a in artifacts]))
    if run.error:
        console.print(Panel(run.error.strip()[-2000:], title="error", border_style="red"))


@app.command()
def compare(
    run_ids: Annotated[list[str], typer.Argument(help="Two or more run ids.")],
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """Compare runs side by side: params that differ are marked, the best metric is bold.

    Example: shipway runs compare 3f2a… 9bc1…
    """
    if len(run_ids) < 2:
        raise InvalidInput("give at least two run ids to compare")
    with client_for(home, tracking_uri) as client:
        runs = [client.get_run(r) for r in run_ids]
    print_comparison(runs, json=json)


def lower_is_better(key: str) -> bool:
    """Whether the best value of a metric is its lowest (losses and errors)."""
    name = key.lower()
    return any(word in name for word in ("loss", "error", "mse", "mae", "rmse", "latency"))


def _json_float(value: float | None) -> object:
    return None if value is None else Run.to_dict_value(value)


def print_comparison(runs: list[Run], json: bool = False) -> None:
    params = sorted({k for r in runs for k in r.params})
    metrics = sorted({k for r in runs for k in r.metrics})
    if json:
        print_json(
            {
                "runs": [r.id for r in runs],
                "params": {k: [r.params.get(k) for r in runs] for k in params},
                "metrics": {k: [_json_float(r.metrics.get(k)) for r in runs] for k in metrics},
            }
        )
        return
    rows: list[list[str]] = []
    for key in params:
        values = [r.params.get(key, "") for r in runs]
        mark = "≠ " if len(set(values)) > 1 else "  "
        rows.append([f"{mark}params.{key}", *values])
    for key in metrics:
        numbers = [r.metrics.get(key) for r in runs]
        finite = [v for v in numbers if v is not None and v == v]
        pick = min if lower_is_better(key) else max
        best = pick(finite) if finite else None
        cells = [f"  metrics.{key}"]
        for v in numbers:
            text = "" if v is None else number(v)
            bold = v is not None and v == best and len(runs) > 1
            cells.append(f"[bold]{text}[/]" if bold else text)
        rows.append(cells)
    columns = ["", *[f"{r.name}\n{r.id[:12]}" for r in runs]]
    console.print(table("comparison", columns, rows))


@app.command()
def delete(
    run_id: Annotated[str, typer.Argument(help="The run's id.")],
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """Delete a run (hidden from lists; `shipway runs restore` brings it back).

    Example: shipway runs delete 3f2a…
    """
    with client_for(home, tracking_uri) as client:
        run = client.delete_run(run_id)
    if json:
        print_json(run.to_dict())
    else:
        console.print(
            f"deleted run {run.id} ({run.name}); undo with: shipway runs restore {run.id}"
        )


@app.command()
def restore(
    run_id: Annotated[str, typer.Argument(help="The run's id.")],
    home: Home = None,
    tracking_uri: Uri = None,
) -> None:
    """Restore a deleted run.

    Example: shipway runs restore 3f2a…
    """
    with client_for(home, tracking_uri) as client:
        run = client.restore_run(run_id)
    console.print(f"restored run {run.id} ({run.name})")
