"""The demo's monitoring act: production traffic, then a shifted feature and worse labels.

A retrained ``churn`` version passes its gates and is promoted; the served production model
gets normal traffic with true labels (the monitor finds nothing), then traffic whose
``tenure_months`` is shifted and whose labels disagree; the monitor raises a drift alert
naming the feature and a quality alert, rolls ``production`` back as the contract says,
and the HTML report shows it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx
from rich.markup import escape

import shipway as sw
from shipway.cli.output import console
from shipway.client.serving import ClientModelSource
from shipway.config import Settings
from shipway.demo.churn import FEATURES, churn_frame, good_model
from shipway.demo.contracts import as_user
from shipway.monitoring.report import to_html
from shipway.records import Alert, ModelVersion
from shipway.serving.app import create_app
from shipway.serving.runtime import Runtime, ServeConfig
from shipway.serving.workers import background_serve

MODEL = "churn"
BATCH = 20


def _send(http: httpx.Client, frame: Any, labels: list[int]) -> list[dict[str, Any]]:
    """Send the rows in requests of ``BATCH``; feedback items for each row."""
    items = []
    rows = frame[FEATURES].to_dict(orient="records")
    for start in range(0, len(rows), BATCH):
        response = http.post(
            f"/v1/models/{MODEL}/predict", json={"records": rows[start : start + BATCH]}
        )
        response.raise_for_status()
        request_id = response.headers["x-request-id"]
        for offset in range(len(rows[start : start + BATCH])):
            items.append({"request_id": request_id, "row": offset, "label": labels[start + offset]})
    return items


def _alerts(alerts: list[dict[str, Any]]) -> None:
    for data in alerts:
        alert = Alert.from_dict(data)
        outcome = alert.action_result.get("status", "")
        detail = ""
        if outcome == "rolled back":
            detail = f" (v{alert.action_result['from']} -> v{alert.action_result['to']})"
        console.print(
            f"[bold yellow]alert #{alert.id}[/] {escape(f'[{alert.severity}]')} "
            f"{escape(alert.message)}; {alert.action}: {outcome}{detail}",
            highlight=False,
        )


def run(client: sw.Client, url: str, settings: Settings, folder: Path) -> None:
    console.print("\n[bold]monitoring[/]: production traffic, drift, late labels, rollback")
    logging.getLogger("shipway.monitoring").setLevel(logging.ERROR)  # alerts printed below
    train = churn_frame(4000, seed=3)
    holdout_ref = client.get_contract(MODEL).spec["holdout"]
    train.to_csv(folder / "churn-train.csv", index=False)
    train_v = sw.datasets.add(
        "churn-train", folder / "churn-train.csv", message="March extract", client=client
    )
    with sw.start_run(
        experiment="churn", name="logistic regression, retrained", client=client
    ) as run:
        run.log_input(train_v, context="training")
        run.log_input(sw.datasets.get(holdout_ref, client=client), context="holdout")
        version = run.log_model(
            good_model(train), input_example=train[FEATURES].head(3), register=MODEL
        )
    assert isinstance(version, ModelVersion)
    report = client.run_gates(MODEL, version.version)
    named = {user: as_user(user, url, settings) for user in ("dana", "eli")}
    named["dana"].approve(MODEL, version.version, "data-science", "retrained on March data")
    named["eli"].approve(MODEL, version.version, "engineering", "same latency")
    for other in named.values():
        other.close()
    client.promote(MODEL, version.version)
    console.print(
        f"retrained v{version.version}: gates {report.status}, signed off, promoted to production"
    )

    client.deployments.create(MODEL, f"models:/{MODEL}@production")  # shown in the workspace
    runtime = Runtime(
        ClientModelSource(client),
        models=[f"models:/{MODEL}@production"],
        config=ServeConfig(access_log=False, poll_interval=0.5, log_flush_seconds=0.5),
    )
    normal = churn_frame(1200, seed=4)
    drifted = churn_frame(1200, seed=5)
    drifted["tenure_months"] = drifted["tenure_months"] + 40
    with background_serve(create_app(runtime)) as served, httpx.Client(base_url=served) as http:
        items = _send(http, normal, [int(v) for v in normal["churned"]])
        assert runtime.writer is not None
        runtime.writer.flush()
        stored = client.log_feedback(MODEL, items)
        result = client.monitor(MODEL)
        console.print(
            f"normal traffic: {len(items)} predictions, {stored['accepted']} labels; "
            f"monitor: {len(result['alerts'])} alerts"
        )
        _alerts(result["alerts"])  # none, unless this machine is far slower than expected
        items = _send(http, drifted, [1 - int(v) for v in drifted["churned"]])
        runtime.writer.flush()
        client.log_feedback(MODEL, items)
        result = client.monitor(MODEL)
        console.print(
            f"shifted traffic: {len(items)} predictions, tenure_months + 40, labels that disagree"
        )
        _alerts(result["alerts"])
    production = client.resolve(f"models:/{MODEL}@production").version
    console.print(f"production is now v{production}")
    page = folder / "monitoring.html"
    page.write_text(to_html(client.monitoring_report(MODEL, "24h")))
    console.print(f"monitoring report: {page}  (shipway monitor report {MODEL} --format html)")
