"""shipway serve, shipway deployments create|show|set-traffic|list|delete,
shipway predictions tail|export|query"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from shipway.cli.common import Home, Json, Uri, client_for
from shipway.cli.output import console, print_json, table, when
from shipway.errors import InvalidInput
from shipway.records import Deployment

if TYPE_CHECKING:
    from shipway.client import Client

deployments = typer.Typer(
    help="Deployments: what an inference server serves, and its traffic policy.",
    no_args_is_help=True,
)
predictions = typer.Typer(
    help="The prediction log written by inference servers.", no_args_is_help=True
)


# shipway serve ---------------------------------------------------------------------------


def build_app(spec: dict[str, Any]) -> Any:
    """The inference server's app (called in each worker process)."""
    from shipway.client.serving import ClientModelSource
    from shipway.serving.app import create_app
    from shipway.serving.runtime import Runtime, ServeConfig

    client = client_for(Path(spec["home"]) if spec["home"] else None, spec["tracking_uri"])
    runtime = Runtime(
        ClientModelSource(client),
        models=spec["models"],
        deployments=spec["deployments"],
        config=ServeConfig(**spec["config"]),
    )
    return create_app(runtime)


def serve(
    models: Annotated[
        list[str] | None,
        typer.Argument(help="Model URIs to serve: models:/NAME@ALIAS or models:/NAME/VERSION."),
    ] = None,
    deployment: Annotated[
        list[str] | None,
        typer.Option("--deployment", "-d", help="Serve a deployment from the registry."),
    ] = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Worker processes (one model copy each).")
    ] = 1,
    batch_max_size: Annotated[
        int, typer.Option(min=0, help="Micro-batching: most rows per model call (0: off).")
    ] = 0,
    batch_max_wait_ms: Annotated[
        float, typer.Option(min=0, help="Micro-batching: longest wait for company, in ms.")
    ] = 2.0,
    max_rows: Annotated[
        int, typer.Option(min=1, help="Most rows per request (413 above).")
    ] = 10_000,
    max_body_mb: Annotated[
        float, typer.Option(min=0.001, help="Largest request body in MiB (413 above).")
    ] = 16.0,
    poll_interval: Annotated[
        float,
        typer.Option(help="Seconds between checks of aliases and deployments (0: never)."),
    ] = 5.0,
    prediction_log: Annotated[
        bool, typer.Option("--prediction-log/--no-prediction-log", help="Log every prediction.")
    ] = True,
    log_flush_seconds: Annotated[
        float, typer.Option(min=0.05, help="Longest time a prediction waits to be written.")
    ] = 5.0,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="JSON access log on stderr.")
    ] = True,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
    home: Home = None,
    tracking_uri: Uri = None,
) -> None:
    """Serve models over REST (native, Open Inference Protocol v2, MLflow /invocations).

    Routes: POST /v1/models/NAME/predict, /v2/models/NAME/infer, /invocations; GET /docs,
    /metrics, /health/ready. The server follows aliases and deployments: when production
    moves, it loads the new version in the background and switches without failing a request.

    Example: shipway serve models:/churn@production --port 8080 --workers 2
    """
    from shipway.serving.workers import run

    models = list(models or [])
    deployments_ = list(deployment or [])
    if not models and not deployments_:
        raise InvalidInput(
            "nothing to serve: give model URIs (shipway serve models:/churn@production) or "
            "--deployment NAME"
        )
    with client_for(home, tracking_uri) as client:  # fail early, with the registry's words
        for uri in models:
            version = client.registry.resolve(uri)
            console.print(f"serving {uri} → {version.name} version {version.version}")
        for name in deployments_:
            d = client.deployments.get(name)
            console.print(f"serving deployment {name}: {_policy(d)}")
    spec = {
        "home": str(home) if home else None,
        "tracking_uri": tracking_uri,
        "models": models,
        "deployments": deployments_,
        "config": {
            "batch_max_size": batch_max_size,
            "batch_max_wait_ms": batch_max_wait_ms,
            "max_rows": max_rows,
            "max_body_bytes": int(max_body_mb * 1024 * 1024),
            "poll_interval": poll_interval,
            "prediction_log": prediction_log,
            "log_flush_seconds": log_flush_seconds,
            "access_log": access_log,
        },
    }
    url = f"http://{host}:{port}"
    console.print(f"inference server on {url}  (docs: {url}/docs, metrics: {url}/metrics)")
    run(build_app, (spec,), host, port, workers=workers, log_level=log_level)


# shipway deployments ---------------------------------------------------------------------

Name = Annotated[str, typer.Argument(help="Deployment name.")]


def _policy(d: Deployment) -> str:
    if d.mode == "single" or d.candidate is None:
        return d.model
    if d.mode == "canary":
        return f"{d.model}, canary {d.percent:g}% → {d.candidate}"
    return f"{d.model}, shadow {d.percent:g}% → {d.candidate}"


def _print_deployment(d: Deployment) -> None:
    console.print(f"[bold]{d.name}[/]  revision {d.revision}")
    console.print(f"model:    {d.model}")
    console.print(
        f"traffic:  {d.mode}" + ("" if d.candidate is None else f" {d.percent:g}% → {d.candidate}")
    )
    console.print(f"api key:  {'yes' if d.has_api_key else 'no'}")
    console.print(f"created:  {when(d.created_at)} by {d.created_by}; updated {when(d.updated_at)}")


def _mode_of(canary: str | None, shadow: str | None) -> tuple[str, str | None]:
    if canary and shadow:
        raise InvalidInput("give --canary or --shadow, not both")
    if canary:
        return "canary", canary
    if shadow:
        return "shadow", shadow
    return "single", None


@deployments.command("create")
def create(
    name: Name,
    model: Annotated[str, typer.Argument(help="Model URI, e.g. models:/churn@production.")],
    canary: Annotated[
        str | None, typer.Option(help="Candidate URI getting --percent of the traffic.")
    ] = None,
    shadow: Annotated[
        str | None, typer.Option(help="Candidate URI mirrored --percent of the traffic.")
    ] = None,
    percent: Annotated[
        float | None, typer.Option(help="Canary share (default 10) or shadow sample (100).")
    ] = None,
    api_key: Annotated[
        bool, typer.Option("--api-key", help="Create an API key for callers (shown once).")
    ] = False,
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """Create a deployment: a model URI and a traffic policy, served with --deployment NAME.

    Example: shipway deployments create churn models:/churn@production --canary models:/churn/5
    """
    mode, candidate = _mode_of(canary, shadow)
    with client_for(home, tracking_uri) as client:
        d, key = client.deployments.create(
            name, model, mode=mode, candidate=candidate, percent=percent, api_key=api_key
        )
    if json:
        print_json({**d.to_dict(), "api_key": key})
        return
    _print_deployment(d)
    if key:
        console.print(f"API key (shown once; send it as X-API-Key): [bold]{key}[/]")


@deployments.command("show")
def show(name: Name, home: Home = None, tracking_uri: Uri = None, json: Json = False) -> None:
    """Show a deployment's model and traffic policy.

    Example: shipway deployments show churn
    """
    with client_for(home, tracking_uri) as client:
        d = client.deployments.get(name)
    if json:
        print_json(d.to_dict())
        return
    _print_deployment(d)


@deployments.command("list")
def list_(home: Home = None, tracking_uri: Uri = None, json: Json = False) -> None:
    """List deployments.

    Example: shipway deployments list --json
    """
    with client_for(home, tracking_uri) as client:
        found = client.deployments.list()
    if json:
        print_json([d.to_dict() for d in found])
        return
    rows = [
        (
            d.name,
            d.model,
            d.mode,
            d.candidate or "",
            f"{d.percent:g}" if d.candidate else "",
            d.revision,
            when(d.updated_at),
        )
        for d in found
    ]
    console.print(
        table(None, ["name", "model", "mode", "candidate", "%", "revision", "updated"], rows)
    )


@deployments.command("set-traffic")
def set_traffic(
    name: Name,
    model: Annotated[str | None, typer.Option(help="New primary model URI.")] = None,
    canary: Annotated[str | None, typer.Option(help="Send --percent to this candidate.")] = None,
    shadow: Annotated[str | None, typer.Option(help="Mirror --percent to this candidate.")] = None,
    single: Annotated[bool, typer.Option("--single", help="Drop the candidate.")] = False,
    percent: Annotated[float | None, typer.Option(help="Canary share or shadow sample.")] = None,
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """Change a deployment's model or traffic; running servers follow within --poll-interval.

    Example: shipway deployments set-traffic churn --canary models:/churn/5 --percent 25
    """
    mode: str | None
    if single:
        if canary or shadow:
            raise InvalidInput("--single drops the candidate; do not give --canary or --shadow")
        mode, candidate = "single", None
    elif canary or shadow:
        mode, candidate = _mode_of(canary, shadow)
    else:
        mode, candidate = None, None
    with client_for(home, tracking_uri) as client:
        d = client.deployments.set_traffic(
            name, model=model, mode=mode, candidate=candidate, percent=percent
        )
    if json:
        print_json(d.to_dict())
        return
    _print_deployment(d)


@deployments.command("delete")
def delete(name: Name, home: Home = None, tracking_uri: Uri = None) -> None:
    """Delete a deployment (servers following it keep what they have loaded).

    Example: shipway deployments delete churn-old
    """
    with client_for(home, tracking_uri) as client:
        client.deployments.delete(name)
    console.print(f"deleted deployment {name}")


# shipway predictions ---------------------------------------------------------------------

Model = Annotated[str, typer.Argument(help="Registered model name.")]
Since = Annotated[
    str | None,
    typer.Option(help="Only rows since: 24h, 30m, 7d, or an ISO date/time (UTC)."),
]
Until = Annotated[str | None, typer.Option(help="Only rows until (same forms as --since).")]

_RELATIVE = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_time(text: str | None, option: str) -> int | None:
    """``24h`` (ago) or an ISO date/time as ms since the epoch."""
    if text is None:
        return None
    match = _RELATIVE.fullmatch(text.strip())
    if match:
        return int((time.time() - float(match[1]) * _UNITS[match[2]]) * 1000)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"{option} {text!r} is not a time: use 30m, 24h, 7d or an ISO date such as 2026-11-30"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _where(since: int | None, until: int | None) -> str:
    parts = []
    if since is not None:
        parts.append(f"time >= epoch_ms({since})")
    if until is not None:
        parts.append(f"time <= epoch_ms({until})")
    return (" WHERE " + " AND ".join(parts)) if parts else ""


def _query(client: Client, model: str, sql: str, since: int | None, until: int | None) -> Any:
    return client.backend.predictions_query(model, sql, since, until)


@predictions.command("tail")
def tail(
    model: Model,
    n: Annotated[int, typer.Option("-n", min=1, help="How many of the latest rows.")] = 20,
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """Show the latest logged predictions of a model.

    Example: shipway predictions tail churn -n 50
    """
    sql = (
        "SELECT time, request_id, row, version, arm, protocol, latency_ms, prediction, inputs "
        f"FROM predictions ORDER BY time DESC, request_id, row LIMIT {n}"
    )
    with client_for(home, tracking_uri) as client:
        rows = _query(client, model, sql, None, None).to_pylist()
    rows.reverse()
    if json:
        print_json([{**r, "time": r["time"].isoformat()} for r in rows])
        return
    console.print(
        table(
            f"{model}: latest {len(rows)} predictions",
            ["time", "request", "version", "arm", "protocol", "ms", "prediction", "inputs"],
            [
                (
                    r["time"].strftime("%Y-%m-%d %H:%M:%S"),
                    f"{r['request_id'][:12]}/{r['row']}",
                    r["version"],
                    r["arm"],
                    r["protocol"],
                    f"{r['latency_ms']:.2f}",
                    r["prediction"],
                    _short(r["inputs"]),
                )
                for r in rows
            ],
        )
    )


def _short(inputs: Any, limit: int = 60) -> str:
    text = ", ".join(f"{k}={v}" for k, v in (inputs or {}).items())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@predictions.command("export")
def export(
    model: Model,
    out: Annotated[Path, typer.Option("--out", help="File to write: .parquet, .csv or .jsonl.")],
    since: Since = None,
    until: Until = None,
    home: Home = None,
    tracking_uri: Uri = None,
) -> None:
    """Export a model's prediction log (inputs flattened into columns for CSV).

    Example: shipway predictions export churn --since 24h --out last-day.parquet
    """
    suffix = out.suffix.lower()
    if suffix not in (".parquet", ".csv", ".jsonl"):
        raise InvalidInput(f"--out {out} must end in .parquet, .csv or .jsonl")
    lo, hi = parse_time(since, "--since"), parse_time(until, "--until")
    select = (
        "SELECT * EXCLUDE (inputs), inputs.* FROM predictions"
        if suffix == ".csv"
        else ("SELECT * FROM predictions")
    )
    with client_for(home, tracking_uri) as client:
        result = _query(
            client, model, select + _where(lo, hi) + " ORDER BY time, request_id, row", lo, hi
        )
    _write_table(result, out, suffix)
    console.print(f"wrote {result.num_rows} predictions of {model} to {out}")


def _write_table(result: Any, out: Path, suffix: str) -> None:
    from shipway.blobs.atomic import atomic_writer

    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(out) as fh:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            pq.write_table(result, fh)
        elif suffix == ".csv":
            import pyarrow.csv as pacsv

            pacsv.write_csv(
                result.drop_columns([c for c in result.column_names if c == "probabilities"]), fh
            )
        else:
            import orjson

            for row in result.to_pylist():
                fh.write(orjson.dumps(row, option=orjson.OPT_NAIVE_UTC) + b"\n")


@predictions.command("query")
def query(
    model: Model,
    sql: Annotated[str, typer.Argument(help="DuckDB SQL over the view 'predictions'.")],
    since: Since = None,
    until: Until = None,
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """Run DuckDB SQL over a model's prediction log (the view is named predictions).

    Example: shipway predictions query churn "SELECT arm, count(*) FROM predictions GROUP BY 1"
    """
    lo, hi = parse_time(since, "--since"), parse_time(until, "--until")
    with client_for(home, tracking_uri) as client:
        result = _query(client, model, sql, lo, hi)
    rows = result.to_pylist()
    if json:
        import orjson

        typer.echo(orjson.dumps(rows, option=orjson.OPT_NAIVE_UTC, default=str).decode())
        return
    console.print(table(None, result.column_names, [tuple(r.values()) for r in rows]))
