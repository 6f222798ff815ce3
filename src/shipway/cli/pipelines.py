"""``shipway pipelines``: run a pipeline, say what is stale and why, list, show, schedule."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from shipway.cli.common import Home, Json, Uri, client_for
from shipway.cli.output import console, print_json, table, when
from shipway.errors import InvalidInput

app = typer.Typer(
    help="Pipelines on Dask: cached, tracked steps from data to a promoted model.",
    no_args_is_help=True,
)

Source = Annotated[
    str | None,
    typer.Argument(
        help="FILE.py[:NAME] or shipway.yaml (default: shipway.yaml, else pipeline.py).",
        show_default=False,
    ),
]
Params = Annotated[
    list[str] | None,
    typer.Option(
        "--param", "-p", help="A pipeline param, NAME=VALUE (repeatable).", show_default=False
    ),
]
Name = Annotated[str, typer.Argument(help="The pipeline's name.")]


def parse_params(items: list[str] | None) -> dict[str, Any]:
    """``-p C=0.5 -p model=rf`` as {"C": 0.5, "model": "rf"} (values read as YAML scalars)."""
    import yaml

    found: dict[str, Any] = {}
    for item in items or []:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise InvalidInput(f"--param {item!r} is not NAME=VALUE (e.g. -p C=0.5)")
        try:
            found[name.strip()] = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError:
            found[name.strip()] = text
    return found


def _source(source: str | None) -> str:
    if source:
        return source
    for default in ("shipway.yaml", "pipeline.py"):
        if Path(default).is_file():
            return default
    raise InvalidInput(
        "no pipeline here: give FILE.py[:NAME] or shipway.yaml "
        "(neither shipway.yaml nor pipeline.py is in this folder)"
    )


def _load(source: str | None) -> Any:
    from shipway.runner import load

    return load(_source(source))


@app.command("run")
def run(
    source: Source = None,
    param: Params = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="An existing Dask scheduler, tcp://HOST:PORT (default: a LocalCluster).",
            show_default=False,
        ),
    ] = None,
    workers: Annotated[int, typer.Option(help="Workers of the LocalCluster.", min=1)] = 2,
    force: Annotated[bool, typer.Option("--force", help="Re-run every step.")] = False,
    queued: Annotated[
        int | None,
        typer.Option(
            help="Start this queued pipeline run (the server's scheduler does).", hidden=True
        ),
    ] = None,
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """Run a pipeline: unchanged steps are reused from the cache, the others run on Dask;
    a parent run with one nested run per step records it. Exit 1 if a step fails (the
    finished ones stay cached: run again to resume).

    Example: shipway pipelines run pipeline.py -p C=0.5
    """
    from shipway.runner import PipelineFailed

    pipeline = _load(source)
    params = parse_params(param)

    def progress(step: Any) -> None:
        if json:
            return
        mark = {"cached": "[dim]cached[/]", "ran": "[green]ran[/]", "failed": "[red]failed[/]"}
        where = f" on {step.worker}" if step.worker and step.status == "ran" else ""
        took = f" in {step.duration_ms / 1000:.2f} s" if step.status == "ran" else ""
        console.print(f"  {step.name}: {mark.get(step.status, step.status)}{took}{where}")

    with client_for(home, tracking_uri) as client:
        if not json:
            console.print(f"pipeline [bold]{pipeline.name}[/] ({pipeline.source})")
        trigger, detail = "manual", {}
        if queued is not None:
            request = client.pipelines.get_run(queued)
            trigger, detail = request.trigger, request.trigger_detail
            params = {**request.params, **params}
        try:
            result = pipeline.run(
                params=params,
                client=client,
                trigger=trigger,
                detail=detail,
                queued=queued,
                scheduler=scheduler,
                workers=workers,
                force=force,
                progress=progress,
            )
        except PipelineFailed as exc:
            if json:
                print_json(exc.result.to_dict())
                raise typer.Exit(1) from None
            raise
    if json:
        print_json(result.to_dict())
        return
    console.print(
        f"[bold]{result.outcome}[/] — pipeline run #{result.number}, run {result.run_id}, "
        f"{result.seconds:.2f} s"
    )


@app.command("status")
def status(
    source: Source = None,
    param: Params = None,
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """Which steps a run would reuse and which it would re-run, and why (code, a param or
    an input changed), without running anything.

    Example: shipway pipelines status shipway.yaml
    """
    pipeline = _load(source)
    with client_for(home, tracking_uri) as client:
        found = pipeline.status(parse_params(param), client=client)
    if json:
        print_json([s.to_dict() for s in found])
        return
    stale = [s for s in found if s.state != "cached"]
    rows = [(s.name, s.state, "; ".join(s.reasons)) for s in found]
    console.print(table(None, ["step", "state", "why"], rows))
    console.print(
        f"{len(found) - len(stale)} of {len(found)} step(s) up to date"
        + (f"; {len(stale)} would run" if stale else "")
    )


@app.command("list")
def list_(home: Home = None, tracking_uri: Uri = None, json: Json = False) -> None:
    """List the pipelines the platform knows (each run records its pipeline).

    Example: shipway pipelines list --json
    """
    with client_for(home, tracking_uri) as client:
        found = client.pipelines.list_pipelines()
        last = {p.name: client.pipelines.list_runs(p.name, limit=1) for p in found}
    if json:
        print_json([p.to_dict() for p in found])
        return
    rows = []
    for p in found:
        runs = last[p.name]
        recent = f"#{runs[0].id} {runs[0].status}: {runs[0].outcome}" if runs else ""
        rows.append((p.name, p.source, len(p.steps), when(p.updated_at), recent))
    console.print(table(None, ["name", "source", "steps", "updated", "last run"], rows))


@app.command("show")
def show(
    name: Name,
    runs: Annotated[int, typer.Option(help="How many recent runs to list.", min=1)] = 10,
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """Show a pipeline: its steps, schedules and recent runs with what started them.

    Example: shipway pipelines show cancer --runs 5
    """
    with client_for(home, tracking_uri) as client:
        p = client.pipelines.get(name)
        schedules = client.pipelines.schedules(name)
        recent = client.pipelines.list_runs(name, limit=runs)
    if json:
        print_json(
            {
                **p.to_dict(),
                "schedules": [s.to_dict() for s in schedules],
                "runs": [r.to_dict() for r in recent],
            }
        )
        return
    console.print(f"[bold]{p.name}[/]  {p.source} in {p.project}  experiment {p.experiment}")
    steps = [
        (s["name"], ", ".join(s.get("needs") or []), ", ".join(s.get("datasets") or []))
        for s in p.steps
    ]
    console.print(table("steps", ["step", "needs", "datasets"], steps))
    if schedules:
        fired = [
            (s.id, s.kind, s.spec, when(s.last_fired) if s.last_fired else "") for s in schedules
        ]
        console.print(table("schedules", ["id", "kind", "spec", "last fired"], fired))
    rows = [
        (
            f"#{r.id}",
            r.status,
            _trigger(r.trigger, r.trigger_detail),
            when(r.requested_at),
            r.outcome,
        )
        for r in recent
    ]
    console.print(table("runs", ["run", "status", "trigger", "when", "outcome"], rows))


def _trigger(trigger: str, detail: dict[str, Any]) -> str:
    extra = detail.get("cron") or detail.get("dataset") or detail.get("alert")
    return f"{trigger} ({extra})" if extra else trigger


@app.command("schedule")
def schedule(
    name: Name,
    cron: Annotated[
        str | None, typer.Option(help="Five-field cron expression, UTC.", show_default=False)
    ] = None,
    on_dataset: Annotated[
        str | None,
        typer.Option(help="Start on each new version of this dataset.", show_default=False),
    ] = None,
    param: Params = None,
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """Start a pipeline by itself, on a cron schedule or a new dataset version; `shipway
    server` runs it (one run at a time per pipeline), recording what started it.

    Example: shipway pipelines schedule cancer --cron "0 3 * * *"
    """
    with client_for(home, tracking_uri) as client:
        s = client.pipelines.schedule(
            name, cron=cron, on_dataset=on_dataset, params=parse_params(param)
        )
    if json:
        print_json(s.to_dict())
        return
    what = f"cron {s.spec} (UTC)" if s.kind == "cron" else f"each new version of {s.spec}"
    console.print(f"schedule #{s.id}: {name} on {what}")


@app.command("unschedule")
def unschedule(
    name: Name,
    schedule_id: Annotated[int, typer.Argument(help="The schedule's id (pipelines show).")],
    home: Home = None,
    tracking_uri: Uri = None,
) -> None:
    """Remove one of a pipeline's schedules.

    Example: shipway pipelines unschedule cancer 2
    """
    with client_for(home, tracking_uri) as client:
        client.pipelines.unschedule(name, schedule_id)
    console.print(f"removed schedule #{schedule_id} of {name}")


def sweep(
    source: Annotated[
        str,
        typer.Argument(help="FILE.py[:NAME]: a file with an sw.Sweep (default: sweep.py)."),
    ] = "sweep.py",
    trials: Annotated[
        int | None, typer.Option(help="How many trials (default: the Sweep's).", min=1)
    ] = None,
    sampler: Annotated[
        str | None, typer.Option(help="tpe, random or grid (default: the Sweep's, else tpe).")
    ] = None,
    pruner: Annotated[
        str | None, typer.Option(help="median, hyperband, halving or none.", show_default=False)
    ] = None,
    seed: Annotated[int | None, typer.Option(help="The sampler's seed.")] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="An existing Dask scheduler (default: a LocalCluster).", show_default=False
        ),
    ] = None,
    workers: Annotated[int, typer.Option(help="Workers of the LocalCluster.", min=1)] = 2,
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """Run a sweep: trials over a search space in parallel on Dask, Optuna choosing.

    The objective of the file's sw.Sweep runs once per trial, each a nested run of one
    sweep run; the best trial is tagged shipway.best and a table of every trial is printed.

    Example: shipway sweep sweep.py --trials 32 --sampler random
    """
    from shipway.runner.loading import load_object
    from shipway.runner.sweeps import Sweep

    found = load_object(source, Sweep, "an sw.Sweep")
    overrides: dict[str, Any] = {"scheduler": scheduler, "workers": workers}
    for key, value in (
        ("trials", trials),
        ("sampler", sampler),
        ("pruner", pruner),
        ("seed", seed),
    ):
        if value is not None:
            overrides[key] = value

    def progress(trial: Any) -> None:
        if not json:
            value = "" if trial.value is None else f" {trial.value:.6g}"
            console.print(f"  trial {trial.number}: {trial.state}{value}  {trial.params}")

    with client_for(home, tracking_uri) as client:
        result = found.run(client=client, progress=progress, **overrides)
    if json:
        print_json(result.to_dict())
        return
    keys = sorted({k for t in result.trials for k in t.params})
    ranked = sorted(
        result.trials,
        key=lambda t: (
            t.value is None,
            -(t.value or 0) if result.direction == "maximize" else (t.value or 0),
        ),
    )
    rows = [
        (
            ("★ " if result.best and t.number == result.best.number else "") + str(t.number),
            t.state,
            "" if t.value is None else f"{t.value:.6g}",
            *(str(t.params.get(k, "")) for k in keys),
            f"{t.duration_ms / 1000:.2f}",
            t.run_id or "",
        )
        for t in ranked
    ]
    console.print(table(None, ["trial", "state", result.metric, *keys, "s", "run"], rows))
    if result.best:
        console.print(
            f"best: trial {result.best.number}, {result.metric} = {result.best.value:.6g} "
            f"with {result.best.params} — sweep run {result.run_id}, {result.seconds:.1f} s"
        )


def predict(
    model: Annotated[str, typer.Argument(help="Model URI, e.g. models:/cancer@production.")],
    input: Annotated[
        str,
        typer.Option(
            "--input", "-i", help="Parquet/CSV file or folder, s3://…, or a dataset NAME[@N]."
        ),
    ],
    output: Annotated[
        str,
        typer.Option(
            "--output", "-o", help="A folder of parts, or one FILE.parquet / FILE.csv (or s3://…)."
        ),
    ],
    rejected: Annotated[
        str | None,
        typer.Option(help="Where rejected rows go (default: OUTPUT.rejected).", show_default=False),
    ] = None,
    format: Annotated[
        str | None, typer.Option(help="parquet or csv (default: from the file names).")
    ] = None,
    partition_rows: Annotated[
        int, typer.Option(help="Rows per partition (the memory bound of a task).", min=1)
    ] = 500_000,
    keep_columns: Annotated[
        bool, typer.Option("--keep-columns", help="Write the input columns beside the predictions.")
    ] = False,
    proba: Annotated[
        bool, typer.Option("--proba", help="Also write proba_<class> columns (classifiers).")
    ] = False,
    log: Annotated[
        bool, typer.Option("--log", help="Also log the predictions (arm 'batch') for monitoring.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing output.")] = False,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="An existing Dask scheduler (default: a LocalCluster).", show_default=False
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option(help="Threads (or --processes) of the LocalCluster.", min=1)
    ] = 2,
    processes: Annotated[
        bool,
        typer.Option("--processes", help="Worker processes, for models that hold the GIL."),
    ] = False,
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """Score a Parquet/CSV file or a dataset with a model, partitioned on Dask.

    Each partition is checked against the model's signature as the server checks requests;
    rows that do not fit go to OUTPUT.rejected with the reason (never dropped silently).
    Exit 1 if any row was rejected.

    Example: shipway predict models:/cancer@production -i scores.parquet -o predictions.parquet
    """
    from rich.progress import Progress

    from shipway.runner.batch import predict as run_batch

    with (
        client_for(home, tracking_uri) as client,
        Progress(console=console, transient=True, disable=json) as bar,
    ):
        task = bar.add_task("scoring", total=None)
        report = run_batch(
            model,
            input,
            output,
            rejected=rejected,
            fmt=format,
            partition_rows=partition_rows,
            keep_columns=keep_columns,
            proba=proba,
            log=log,
            force=force,
            client=client,
            scheduler=scheduler,
            workers=workers,
            processes=processes,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    if json:
        print_json(report.to_dict())
    else:
        console.print(
            f"{report.model} v{report.version}: {report.predicted:,} of {report.rows:,} rows "
            f"scored into {report.output} in {report.seconds:.2f} s "
            f"({report.rows_per_second:,.0f} rows/s, {report.partitions} partitions)"
        )
        if report.rejected:
            console.print(
                f"[yellow]{report.rejected:,} row(s) rejected[/] → {report.rejected_output}"
            )
            rows = [(count, reason) for reason, count in list(report.reasons.items())[:10]]
            console.print(table(None, ["rows", "reason"], rows))
    if report.rejected:
        raise typer.Exit(1)
