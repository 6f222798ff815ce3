"""The monitoring commands: feedback upload, monitor run and report, alerts list/show/ack."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pandas as pd
from churn_project import Project

from shipway.demo.churn import FEATURES
from shipway.testing.predictions import write_prediction_log

HOUR = 3_600_000


def shipway(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPWAY_")}
    env.update(COLUMNS="200", SHIPWAY_HOME=str(home))
    return subprocess.run(
        [sys.executable, "-m", "shipway", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_feedback_monitor_and_alert_commands(local_project: Project, tmp_path: Path) -> None:
    client, home = local_project.client, local_project.client.settings.home
    head = local_project.contract().split("monitoring:\n")[0]
    client.set_contract(
        "churn",
        head
        + "monitoring:\n  drift: {share_above: 0.2, window: 1h}\n"
        + "  live: {accuracy_below: 0.7, window: 1h, min_labels: 50}\n",
    )
    start = int(time.time() * 1000) // HOUR * HOUR + 1000
    moved = local_project.holdout.copy()
    moved["tenure_months"] += 40
    ids = write_prediction_log(
        client,
        "churn",
        1,
        moved[FEATURES],
        local_project.models[1].predict(moved[FEATURES]),
        start_ms=start,
        step_ms=10,
    )
    labels = tmp_path / "labels.csv"
    frame = pd.DataFrame({"request_id": ids, "churned": 1 - moved["churned"].to_numpy()})
    pd.concat([frame, pd.DataFrame({"request_id": ["nope"], "churned": [1]})]).to_csv(
        labels, index=False
    )
    out = shipway(
        "feedback", "upload", "churn", str(labels), "--label-column", "churned", "--json", home=home
    )
    assert out.returncode == 0, out.stderr
    uploaded = orjson.loads(out.stdout)
    assert uploaded["accepted"] == len(ids) and uploaded["unknown"] == ["nope"]
    bad = shipway("feedback", "upload", "churn", str(labels), home=home)
    assert bad.returncode == 2 and "no column 'label'" in bad.stderr

    out = shipway("monitor", "run", "churn", home=home)
    assert out.returncode == 1  # alerts fired
    assert "tenure_months" in out.stdout and "live quality breached" in out.stdout
    listed = orjson.loads(shipway("alerts", "list", "--json", home=home).stdout)
    assert sorted(a["rule"] for a in listed) == ["drift", "live"]
    drift = next(a for a in listed if a["rule"] == "drift")
    shown = shipway("alerts", "show", str(drift["id"]), home=home)
    assert "tenure_months: wasserstein" in shown.stdout
    assert (
        shipway(
            "alerts", "ack", str(drift["id"]), "--comment", "upstream fix", home=home
        ).returncode
        == 0
    )
    opened = orjson.loads(shipway("alerts", "list", "--status", "open", "--json", home=home).stdout)
    assert [a["rule"] for a in opened] == ["live"]
    assert shipway("alerts", "show", "999", home=home).returncode == 2

    table = shipway("monitor", "report", "churn", "--window", "24h", home=home)
    assert table.returncode == 0 and "tenure_months" in table.stdout
    page = tmp_path / "report.html"
    out = shipway("monitor", "report", "churn", "--format", "html", "--out", str(page), home=home)
    assert out.returncode == 0 and "<svg" in page.read_text()
    as_json = orjson.loads(
        shipway("monitor", "report", "churn", "--format", "json", home=home).stdout
    )
    assert as_json["versions"]["1"]["drift"]["drifted"] == ["tenure_months"]
    assert shipway("monitor", "report", "churn", "--window", "soon", home=home).returncode == 2
