"""shipway monitor run|report, shipway feedback upload, shipway alerts list|show|ack"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from shipway.cli.common import Home, Json, Uri, client_for
from shipway.cli.output import console, print_json, table, when
from shipway.contracts.spec import duration
from shipway.errors import InvalidInput
from shipway.monitoring import report as render
from shipway.records import Alert

monitor = typer.Typer(help="Monitoring: evaluate the rules, write reports.", no_args_is_help=True)
feedback = typer.Typer(help="Ground truth for logged predictions.", no_args_is_help=True)
alerts = typer.Typer(help="Alerts the monitor raised.", no_args_is_help=True)

Name = Annotated[str, typer.Argument(help="Registered model name.")]
BATCH = 10_000


@monitor.command("run")
def run(name: Name, home: Home = None, tracking_uri: Uri = None, json: Json = False) -> None:
    """Profile new predictions and evaluate the contract's monitoring rules now; fired
    alerts take the contract's action. Exit 1 when an alert fired.

    Example: shipway monitor run churn
    """
    with client_for(home, tracking_uri) as client:
        result = client.monitor(name)
    if json:
        print_json(result)
    else:
        profiled = result["profiled"]
        console.print(
            f"profiled {profiled['rows']} new predictions in {profiled['segments']} segment(s)"
        )
        rows = [
            (
                c["rule"],
                c["version"],
                "BREACHED" if c["breached"] else c["status"],
                _short(c["value"]),
            )
            for c in result["checked"]
        ]
        console.print(table(None, ["rule", "version", "state", "value"], rows))
        for alert in result["alerts"]:
            _print_alert_line(Alert.from_dict(alert))
        if not result["alerts"]:
            console.print("no alerts")
    raise typer.Exit(1 if result["alerts"] else 0)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_short(v)}" for k, v in value.items() if v is not None)
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return "" if value is None else str(value)


def _print_alert_line(alert: Alert) -> None:
    outcome = alert.action_result.get("status", "")
    action = f"; {alert.action}: {outcome}" if alert.action != "none" else ""
    colour = "red" if alert.severity == "critical" else "yellow"
    console.print(
        f"[bold {colour}]alert #{alert.id}[/] {escape(f'[{alert.severity}]')} "
        f"{escape(alert.message)}{escape(action)}",
        highlight=False,
    )


@monitor.command("report")
def report(
    name: Name,
    window: Annotated[str, typer.Option("--window", help="How far back: 30m, 24h, 7d.")] = "24h",
    fmt: Annotated[str, typer.Option("--format", help="table, json or html.")] = "table",
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file.")] = None,
    home: Home = None,
    tracking_uri: Uri = None,
) -> None:
    """Live quality per version and arm, drift per feature, data quality, latency, alerts;
    HTML adds plots over time.

    Example: shipway monitor report churn --window 24h --format html --out churn.html
    """
    if fmt not in render.FORMATS:
        raise InvalidInput(f"--format must be one of {', '.join(render.FORMATS)}, got {fmt!r}")
    seconds = duration(window)
    if seconds is None:
        raise InvalidInput(f"--window {window!r} is not a duration; write 30m, 24h or 7d")
    with client_for(home, tracking_uri) as client:
        result = client.monitoring_report(name, int(seconds))
    if fmt == "table" and out is None:
        rows = render.to_text_rows(result)
        console.print(
            table(
                f"{name}: last {window}",
                ["version", "arm", "rows", "p95 ms", "live quality", "drifted features"],
                rows,
            )
        )
        for alert in result["alerts"]:
            _print_alert_line(Alert.from_dict(alert))
        return
    text = render.to_html(result) if fmt == "html" else render.to_json(result)
    if out is None:
        print(text, end="")
        return
    from shipway.blobs.atomic import atomic_writer

    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(out) as fh:
        fh.write(text.encode())
    console.print(f"wrote the {fmt} report to {out}")


@feedback.command("upload")
def upload(
    name: Name,
    file: Annotated[Path, typer.Argument(help="CSV, Parquet or JSON lines with the labels.")],
    request_id_column: Annotated[str, typer.Option(help="Column of request ids.")] = "request_id",
    label_column: Annotated[str, typer.Option(help="Column of labels.")] = "label",
    row_column: Annotated[
        str, typer.Option(help="Column of row positions (optional; default 0).")
    ] = "row",
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """Send ground truth for logged predictions, joined by request id; unknown ids are
    reported back, repeats are no-ops.

    Example: shipway feedback upload churn labels.csv --label-column churned
    """
    table = _read(file)
    for column in (request_id_column, label_column):
        if column not in table.column_names:
            raise InvalidInput(
                f"{file} has no column {column!r} (its columns: {', '.join(table.column_names)})"
            )
    ids = [str(v) for v in table.column(request_id_column).to_pylist()]
    labels = table.column(label_column).to_pylist()
    rows = (
        table.column(row_column).to_pylist()
        if row_column in table.column_names
        else [0] * table.num_rows
    )
    totals: dict[str, Any] = {
        "accepted": 0,
        "duplicates": 0,
        "updated": 0,
        "unknown": [],
        "invalid": [],
    }
    with client_for(home, tracking_uri) as client:
        for start in range(0, len(ids), BATCH):
            items = [
                {"request_id": ids[i], "row": int(rows[i] or 0), "label": labels[i]}
                for i in range(start, min(start + BATCH, len(ids)))
            ]
            result = client.log_feedback(name, items)
            for key in ("accepted", "duplicates", "updated"):
                totals[key] += result[key]
            totals["unknown"] += result["unknown"]
            totals["invalid"] += [dict(p, index=p["index"] + start) for p in result["invalid"]]
    if json:
        print_json(totals)
        return
    console.print(
        f"{totals['accepted']} labels stored, {totals['updated']} corrected, "
        f"{totals['duplicates']} already known; {len(totals['unknown'])} unknown request ids, "
        f"{len(totals['invalid'])} invalid"
    )
    for item in totals["invalid"][:10]:
        console.print(f"  row {item['index'] + 1}: {item['reason']}", highlight=False)
    if totals["unknown"]:
        console.print(f"  unknown ids, e.g. {', '.join(totals['unknown'][:5])}", highlight=False)


def _read(file: Path) -> Any:
    import pyarrow.csv as pcsv
    import pyarrow.json as pjson
    import pyarrow.parquet as pq

    if not file.is_file():
        raise InvalidInput(f"{file} does not exist")
    suffix = file.suffix.lower()
    try:
        if suffix == ".parquet":
            return pq.read_table(file)
        if suffix in (".jsonl", ".json", ".ndjson"):
            return pjson.read_json(file)
        convert = pcsv.ConvertOptions(column_types={"request_id": "string"})
        return pcsv.read_csv(file, convert_options=convert)
    except Exception as exc:  # pyarrow's parse errors name the line
        raise InvalidInput(f"cannot read {file}: {exc}") from None


@alerts.command("list")
def list_(
    model: Annotated[str | None, typer.Option("--model", help="Only this model.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="open or acked.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Most alerts.")] = 100,
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """List alerts, newest first.

    Example: shipway alerts list --model churn --status open
    """
    with client_for(home, tracking_uri) as client:
        found = client.list_alerts(model, status, limit)
    if json:
        print_json([a.to_dict() for a in found])
        return
    rows = [
        (
            a.id,
            when(a.fired_at),
            a.model,
            a.version or "",
            a.rule,
            a.severity,
            a.status,
            f"{a.action}: {a.action_result.get('status', '')}" if a.action != "none" else "",
            a.message,
        )
        for a in found
    ]
    console.print(
        table(
            None,
            ["id", "fired", "model", "version", "rule", "severity", "status", "action", "message"],
            rows,
        )
    )


@alerts.command("show")
def show(
    alert_id: Annotated[int, typer.Argument(help="Alert id.")],
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """Show an alert: its evidence, the action taken, the webhook delivery.

    Example: shipway alerts show 12
    """
    from shipway.client.run import ALERT_TAG

    with client_for(home, tracking_uri) as client:
        alert = client.get_alert(alert_id)
        runs = list(client.search_runs(filter=f"tags.`{ALERT_TAG}` = '{alert.id}'"))
    if json:
        print_json(alert.to_dict() | {"runs": [r.id for r in runs]})
        return
    _print_alert_line(alert)
    console.print(f"window {when(alert.window_start)} – {when(alert.window_end)}; {alert.status}")
    for feature in alert.evidence.get("top", []):
        console.print(
            f"  {feature['column']}: {feature['method']} {feature['score']:.4g} "
            f"(threshold {feature['threshold']:g})",
            highlight=False,
        )
    if alert.action != "none":
        console.print(f"action {alert.action}: {alert.action_result}", highlight=False)
    if alert.webhook:
        console.print(f"webhook: {alert.webhook}", highlight=False)
    for run in runs:
        console.print(f"retraining run: {run.id} ({run.experiment}/{run.name}, {run.status})")


@alerts.command("ack")
def ack(
    alert_id: Annotated[int, typer.Argument(help="Alert id.")],
    comment: Annotated[str, typer.Option("--comment", help="What was done.")] = "",
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """Acknowledge an alert (recorded with who and when).

    Example: shipway alerts ack 12 --comment "upstream fix deployed"
    """
    with client_for(home, tracking_uri) as client:
        alert = client.ack_alert(alert_id, comment)
    if json:
        print_json(alert.to_dict())
    else:
        console.print(f"alert #{alert.id} acknowledged by {alert.acked_by}")
