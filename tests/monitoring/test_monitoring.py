"""The monitor end to end on a real home: feedback (late, unknown, wrong types, repeated),
every rule type, consecutive windows, cooldown, webhook retries against a local receiver,
rollback and retraining actions, reports."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import http.server
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from churn_project import Project

import shipway as sw
from shipway.config import Settings
from shipway.demo.churn import FEATURES
from shipway.errors import InvalidInput, NotFound
from shipway.monitoring import actions
from shipway.monitoring.report import to_html
from shipway.services import Services
from shipway.serving.codecs import Rows
from shipway.serving.predlog import PredictionLogWriter, PredictionRecord
from shipway.testing.predictions import write_prediction_log

HOUR = 3_600_000


def monitoring(project: Project, block: str) -> None:
    """Store the project's contract with ``block`` as its monitoring section."""
    head = project.contract().split("monitoring:\n")[0]
    project.client.set_contract("churn", head + "monitoring:\n" + block)


@pytest.fixture
def monitor_services(local_project: Project, monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    monkeypatch.setattr(actions, "WEBHOOK_BACKOFF", 0.01)  # retried webhooks wait less
    # the tests' receivers listen on loopback, which webhooks may reach only when allowed
    settings = dataclasses.replace(local_project.client.settings, webhook_allow="127.0.0.1")
    svc = Services.open(settings, actor="monitor")
    yield svc
    svc.close()


def late_in_hour() -> int:
    """A "now" 55 minutes into the current clock hour: windows are whole buckets (here:
    hours), so rows logged up to 50 minutes before it share its window."""
    return int(time.time() * 1000) // HOUR * HOUR + 55 * 60_000


def promote_v1(project: Project) -> None:
    """production: v2, then v1 (so a rollback has somewhere to go)."""
    project.client.promote("churn", 2, force=True, reason="first")
    project.client.promote("churn", 1, force=True, reason="better")


def log_rows(
    project: Project, frame: pd.DataFrame, start: int, step: int = 1000, **kw: Any
) -> list[str]:
    model = project.models[kw.pop("version", 1)]
    return write_prediction_log(
        project.client,
        "churn",
        kw.pop("as_version", 1),
        frame[FEATURES],
        model.predict(frame[FEATURES]),
        start_ms=start,
        step_ms=step,
        **kw,
    )


def shifted(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["tenure_months"] = out["tenure_months"] + 40
    return out


# feedback --------------------------------------------------------------------------------


def test_feedback_joins_late_reports_unknown_and_rejects_wrong_types(
    local_project: Project, monitor_services: Services
) -> None:
    monitoring(local_project, "  live: {accuracy_below: 0.5, window: 1d, min_labels: 10}\n")
    now = int(time.time() * 1000)
    holdout = local_project.holdout.head(200)
    ids = log_rows(local_project, holdout, now - 2 * HOUR)
    client = local_project.client
    first = client.log_feedback(
        "churn",
        [
            {"request_id": i, "label": int(y)}
            for i, y in zip(ids[:100], holdout.churned[:100], strict=True)
        ]
        + [
            {"request_id": "never-served", "label": 1},
            {"request_id": ids[0], "label": 0.5},
            {"request_id": ids[1], "label": 1, "colour": "red"},
            {"request_id": "", "label": 1},
        ],
    )
    assert first["accepted"] == 100 and first["unknown"] == ["never-served"]
    assert [p["index"] for p in first["invalid"]] == [101, 102, 103]
    assert "class label" in first["invalid"][0]["reason"]
    again = client.log_feedback(
        "churn", [{"request_id": ids[0], "label": int(holdout.churned.iloc[0])}]
    )
    assert (again["accepted"], again["duplicates"]) == (0, 1)  # idempotent
    scored = monitor_services.monitoring.feedback.quality("churn", now - 3 * HOUR, now)[
        (1, "primary")
    ]
    assert (scored["rows"], scored["labelled"], scored["coverage"]) == (200, 100, 0.5)
    early = scored["metrics"]["accuracy"]
    # labels arriving later land in the same window and change its metric
    late = client.log_feedback(
        "churn",
        [
            {"request_id": i, "label": 1 - int(y)}
            for i, y in zip(ids[100:], holdout.churned[100:], strict=True)
        ],
    )
    assert late["accepted"] == 100
    rescored = monitor_services.monitoring.feedback.quality("churn", now - 3 * HOUR, now)[
        (1, "primary")
    ]
    assert rescored["coverage"] == 1.0 and rescored["metrics"]["accuracy"] < early
    corrected = client.log_feedback(
        "churn", [{"request_id": ids[100], "label": int(holdout.churned.iloc[100])}]
    )
    assert corrected["updated"] == 1
    with pytest.raises(NotFound):
        client.log_feedback("nothing-here", [])
    with pytest.raises(InvalidInput):
        client.log_feedback("churn", "not a list")  # type: ignore[arg-type]


# rules -----------------------------------------------------------------------------------


def test_drift_rule_names_the_shifted_feature_and_rolls_production_back(
    local_project: Project, monitor_services: Services
) -> None:
    monitoring(local_project, "  drift: {share_above: 0.2, window: 1h}\n  on_breach: rollback\n")
    promote_v1(local_project)
    now = late_in_hour()
    log_rows(local_project, local_project.holdout, now - 50 * 60_000, step=1000)
    quiet = monitor_services.monitoring.run_at("churn", now)
    assert quiet["alerts"] == [] and quiet["checked"][0]["status"] == "ok"
    log_rows(local_project, shifted(local_project.holdout), now - 20 * 60_000, step=500)
    result = monitor_services.monitoring.run_at("churn", now + 1000)
    (alert,) = result["alerts"]
    assert alert["rule"] == "drift" and "tenure_months" in alert["message"]
    assert alert["evidence"]["top"][0]["column"] == "tenure_months"
    assert alert["action_result"] == {"status": "rolled back", "from": 1, "to": 2}
    assert local_project.client.resolve("models:/churn@production").version == 2
    event = local_project.client.alias_history("churn", "production")[-1]
    assert event.actor == "monitor" and f"alert #{alert['id']}" in event.reason
    # profiles were built once: a second run profiles nothing new and stays in cooldown
    again = monitor_services.monitoring.run_at("churn", now + 2000)
    assert again["profiled"] == {"segments": 0, "rows": 0} and again["alerts"] == []
    # the same drift reaches v2 now: it alerts too, but no second automatic rollback
    log_rows(local_project, shifted(local_project.holdout), now - 15 * 60_000, as_version=2)
    (second,) = monitor_services.monitoring.run_at("churn", now + 3000)["alerts"]
    assert second["version"] == 2 and second["action_result"]["status"] == "skipped"
    assert "rolled back already" in second["action_result"]["reason"]
    assert local_project.client.resolve("models:/churn@production").version == 2


def test_feature_drift_and_insufficient_windows(
    local_project: Project, monitor_services: Services
) -> None:
    monitoring(
        local_project,
        "  feature_drift: {features: [support_calls, plan], window: 1h, min_rows: 50}\n",
    )
    now = late_in_hour()
    log_rows(local_project, shifted(local_project.holdout.head(20)), now - 10 * 60_000)
    small = monitor_services.monitoring.run_at("churn", now)
    assert small["alerts"] == [] and small["checked"][0]["status"] == "insufficient"
    moved = local_project.holdout.copy()
    moved["support_calls"] = moved["support_calls"] + 5
    log_rows(local_project, shifted(moved), now - 5 * 60_000, step=100)
    (alert,) = monitor_services.monitoring.run_at("churn", now)["alerts"]
    assert alert["rule"] == "feature_drift" and alert["evidence"]["value"] == ["support_calls"]


def test_live_quality_needs_consecutive_windows(
    local_project: Project, monitor_services: Services
) -> None:
    monitoring(
        local_project, "  live: {accuracy_below: 0.6, window: 1h, for_windows: 2, min_labels: 50}\n"
    )
    client, holdout = local_project.client, local_project.holdout.head(300)
    now = int(time.time() * 1000)

    def bad_hour(start: int) -> None:
        ids = log_rows(local_project, holdout, start, step=1000)
        client.log_feedback(
            "churn",
            [
                {"request_id": i, "label": 1 - int(y)}
                for i, y in zip(ids, holdout.churned, strict=True)
            ],
        )

    end = (now // HOUR + 1) * HOUR  # windows are whole buckets (here: clock hours)
    bad_hour(end - HOUR + 60_000)  # the latest hour only
    assert monitor_services.monitoring.run_at("churn", now)["alerts"] == []
    bad_hour(end - 2 * HOUR + 60_000)  # and the hour before
    (alert,) = monitor_services.monitoring.run_at("churn", now)["alerts"]
    assert alert["rule"] == "live" and "accuracy" in alert["message"]
    assert "2 consecutive windows" in alert["message"]


def test_latency_error_and_drop_rules_with_cooldown(
    local_project: Project, monitor_services: Services
) -> None:
    monitoring(
        local_project,
        "  latency: {p95_ms_above: 50, window: 5m, cooldown: 1h}\n"
        "  errors: {rate_above: 0.1, window: 5m, min_rows: 10}\n"
        "  log_drops: {above: 0, window: 5m}\n",
    )
    client = local_project.client
    now = int(time.time() * 1000)
    start = now // 300_000 * 300_000  # this 5-minute bucket, as the writer's counts
    log_rows(local_project, local_project.holdout.head(100), start, step=1, latency_ms=80.0)
    # the server's writer: failed requests and a full queue travel with its segments
    writer = PredictionLogWriter(
        lambda m, v, path, rows, first, last: client.backend.prediction_segment_add(
            m, v, path, rows, first, last
        ),
        max_rows=5,
        flush_seconds=60,
    )
    for _ in range(40):
        writer.count_error("churn", 1)
    record = PredictionRecord(
        request_id="r",
        time_ms=now,
        endpoint="churn",
        model="churn",
        version=1,
        arm="primary",
        protocol="native",
        latency_ms=1.0,
        input_names=["tenure_months"],
        input_types=["int"],
        rows=Rows(10, columns={"tenure_months": list(range(10))}),
        predictions=[0] * 10,
        probabilities=None,
    )
    assert writer.put(record) is False  # over the queue's limit: dropped and counted
    writer.close()
    result = monitor_services.monitoring.run_at("churn", now + 1000)
    fired = {a["rule"]: a for a in result["alerts"]}
    assert set(fired) == {"latency", "errors", "log_drops"}
    assert fired["latency"]["evidence"]["value"]["p95_ms"] == pytest.approx(80.0)
    assert (
        fired["errors"]["evidence"]["errors"] == 40
        and fired["errors"]["evidence"]["requests"] == 140
    )
    assert fired["log_drops"]["evidence"]["value"] == 10
    # in their cooldown: breached again, not raised again
    later = monitor_services.monitoring.run_at("churn", now + 2000)
    assert later["alerts"] == [] and any(c["breached"] for c in later["checked"])


# actions ---------------------------------------------------------------------------------


class Receiver(http.server.BaseHTTPRequestHandler):
    failures = 0
    seen: list[tuple[bytes, str | None]] = []

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).seen.append((body, self.headers.get("X-Shipway-Signature")))
        if type(self).failures > 0:
            type(self).failures -= 1
            self.send_response(503)
        else:
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.seen, Receiver.failures = [], 2
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def test_webhook_is_retried_signed_and_recorded(
    local_project: Project,
    monitor_services: Services,
    receiver: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOOK_SECRET", "s3cret")
    monitoring(
        local_project,
        "  drift: {share_above: 0.2, window: 1h}\n"
        f"  webhook: {{url: '{receiver}', secret_env: HOOK_SECRET}}\n",
    )
    now = late_in_hour()
    log_rows(local_project, shifted(local_project.holdout), now - 10 * 60_000, step=100)
    (alert,) = monitor_services.monitoring.run_at("churn", now)["alerts"]
    assert alert["webhook"] == {"status": "delivered", "attempts": 3, "code": 204}
    assert len(Receiver.seen) == 3
    body, signature = Receiver.seen[-1]
    assert signature == "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert json.loads(body)["id"] == alert["id"]


def test_a_webhook_into_an_internal_network_is_refused_unless_allowed(
    local_project: Project, receiver: str
) -> None:
    monitoring(
        local_project,
        f"  drift: {{share_above: 0.2, window: 1h}}\n  webhook: {{url: '{receiver}'}}\n",
    )
    now = late_in_hour()
    log_rows(local_project, shifted(local_project.holdout), now - 10 * 60_000, step=100)
    plain = Services.open(local_project.client.settings, actor="monitor")  # nothing allowed
    try:
        (alert,) = plain.monitoring.run_at("churn", now)["alerts"]
    finally:
        plain.close()
    assert alert["webhook"]["status"] == "refused" and Receiver.seen == []
    assert "127.0.0.1, a loopback address" in alert["webhook"]["errors"][0]
    assert "SHIPWAY_WEBHOOK_ALLOW" in alert["webhook"]["errors"][0]
    for url in ("http://169.254.169.254/latest/meta-data", "http://10.1.2.3/hook", "http://[::1]/"):
        assert actions.outbound_problem(url) is not None, url
    assert actions.outbound_problem("http://10.1.2.3/hook", ["10.0.0.0/8"]) is None
    assert actions.outbound_problem("http://localhost/hook", ["localhost"]) is None


class Redirect(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        self.send_response(307)
        self.send_header("Location", "http://169.254.169.254/latest/meta-data")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


def test_a_webhook_redirect_is_not_followed() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        result = actions.post_webhook(url, {"id": 1}, secret=None, allow=["127.0.0.1"])
    finally:
        server.shutdown()
        server.server_close()
    assert result == {"status": "failed", "attempts": 1, "errors": ["HTTP 307"]}


def test_a_webhook_that_is_down_is_recorded_and_monitoring_goes_on(
    local_project: Project, monitor_services: Services
) -> None:
    monitoring(
        local_project,
        "  drift: {share_above: 0.2, window: 1h}\n  webhook: {url: 'http://127.0.0.1:9/down'}\n",
    )
    now = late_in_hour()
    log_rows(local_project, shifted(local_project.holdout), now - 10 * 60_000, step=100)
    (alert,) = monitor_services.monitoring.run_at("churn", now)["alerts"]
    assert alert["webhook"]["status"] == "failed" and alert["webhook"]["attempts"] == 4
    assert monitor_services.monitoring.get_alert(alert["id"]).webhook["status"] == "failed"


def test_retrain_action_starts_the_command_and_its_run_is_linked(
    local_project: Project, monitor_services: Services, tmp_path: Any
) -> None:
    home = local_project.client.settings.home
    script = tmp_path / "retrain.py"
    script.write_text(
        "import os, shipway as sw\n"
        f"sw.set_tracking_uri({str(home)!r})\n"
        "with sw.start_run(experiment='churn-retrain', capture=False) as run:\n"
        "    run.log_params({'reason': os.environ['SHIPWAY_ALERT_RULE']})\n"
    )
    import sys

    monitoring(
        local_project,
        "  drift: {share_above: 0.2, window: 1h}\n  on_breach: retrain\n"
        f"  retrain: {{command: '{sys.executable} {script}'}}\n",
    )
    now = late_in_hour()
    log_rows(local_project, shifted(local_project.holdout), now - 10 * 60_000, step=100)
    (alert,) = monitor_services.monitoring.run_at("churn", now)["alerts"]
    assert alert["action"] == "retrain" and alert["action_result"]["status"] == "started"
    deadline = time.monotonic() + 60
    found: list[sw.Run] = []
    while time.monotonic() < deadline and not found:
        time.sleep(0.5)
        found = list(
            local_project.client.search_runs(filter=f"tags.`shipway.alert` = '{alert['id']}'")
        )
    assert len(found) == 1 and found[0].params == {"reason": "drift"}
    assert found[0].status == "finished"


def test_hashed_columns_are_left_out_of_drift(
    local_project: Project, monitor_services: Services
) -> None:
    head = local_project.contract().split("monitoring:\n")[0]
    head = head.replace("log: {hash: [customer_id], drop: [email]}", "log: {hash: [plan]}")
    local_project.client.set_contract(
        "churn", head + "monitoring:\n  drift: {share_above: 0.2, window: 1h}\n"
    )
    now = late_in_hour()
    log_rows(local_project, local_project.holdout, now - 10 * 60_000, step=100)
    monitor_services.monitoring.run_at("churn", now)
    report = monitor_services.monitoring.report_at("churn", 3600, now)
    features = {f["column"]: f for f in report["versions"]["1"]["drift"]["features"]}
    assert features["plan"]["status"] == "hashed" and not features["plan"]["drifted"]
    assert "plan" not in report["versions"]["1"]["data_quality"]


def test_reference_missing_a_feature_is_reported_not_drift(
    local_project: Project, monitor_services: Services, tmp_path: Any
) -> None:
    partial = local_project.train.drop(columns=["plan"])
    partial.to_csv(tmp_path / "partial.csv", index=False)
    ref = sw.datasets.add(
        "churn-partial", tmp_path / "partial.csv", client=local_project.client
    ).ref
    monitoring(local_project, f"  reference: {ref}\n  drift: {{share_above: 0.2, window: 1h}}\n")
    now = late_in_hour()
    log_rows(local_project, local_project.holdout, now - 10 * 60_000, step=100)
    monitor_services.monitoring.run_at("churn", now)
    report = monitor_services.monitoring.report_at("churn", 3600, now)
    features = {f["column"]: f for f in report["versions"]["1"]["drift"]["features"]}
    assert features["plan"]["status"] == "no_reference" and not features["plan"]["drifted"]
    assert report["versions"]["1"]["drift"]["reference"] == ref


def test_report_and_alerts_through_the_client(project: Project) -> None:
    monitoring(
        project,
        "  drift: {share_above: 0.2, window: 1h}\n"
        "  live: {accuracy_below: 0.7, window: 1d, min_labels: 50}\n"
        "  on_breach: rollback\n",
    )
    promote_v1(project)
    client = project.client
    now = int(time.time() * 1000) // HOUR * HOUR  # this hour's bucket
    ids = log_rows(project, shifted(project.holdout), now + 1000, step=100)
    client.log_feedback(
        "churn",
        [
            {"request_id": i, "label": 1 - int(y)}
            for i, y in zip(ids, project.holdout.churned, strict=True)
        ],
    )
    result = client.monitor("churn")
    assert {a["rule"] for a in result["alerts"]} == {"drift", "live"}
    alerts = client.list_alerts("churn", status="open")
    assert len(alerts) == 2
    acked = client.ack_alert(alerts[0].id, "looking into it")
    assert acked.status == "acked" and acked.ack_comment == "looking into it"
    assert [a.id for a in client.list_alerts("churn", status="open")] == [alerts[1].id]
    report = client.monitoring_report("churn", "24h")
    arm = report["versions"]["1"]["arms"]["primary"]
    assert arm["rows"] == len(project.holdout) and arm["quality"]["coverage"] == 1.0
    assert report["production"] == 2 and len(report["alerts"]) == 2
    assert report["versions"]["1"]["data_quality"]["tenure_months"]["out_of_range"] == 0
    page = to_html(report)
    assert page.count("<svg") >= 3 and "tenure_months" in page and "rolled back" in page
    with pytest.raises(NotFound):
        client.get_alert(999)


def test_periodic_loop_runs_every_monitored_model(
    local_project: Project, monitor_services: Services
) -> None:
    from shipway.monitoring.loop import MonitorLoop

    monitoring(local_project, "  drift: {share_above: 0.2, window: 1h}\n")
    assert monitor_services.monitoring.monitored() == ["churn"]
    log_rows(
        local_project,
        shifted(local_project.holdout),
        int(time.time() * 1000) // HOUR * HOUR + 1000,
        step=10,
    )
    loop = MonitorLoop(monitor_services.monitoring.run_all, interval=0.1)
    loop.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not monitor_services.monitoring.list_alerts("churn"):
        time.sleep(0.1)
    loop.stop()
    assert loop.runs >= 1 and monitor_services.monitoring.list_alerts("churn")[0].rule == "drift"


def test_settings_default_interval() -> None:
    assert Settings.load(environ={}).monitor_interval == 300.0
    assert Settings.load(environ={"SHIPWAY_MONITOR_INTERVAL": "0"}).monitor_interval == 0.0


def test_routes_check_roles(tmp_path: Any) -> None:
    import httpx

    from shipway.api.server import BackgroundServer

    settings = Settings.load(overrides={"home": str(tmp_path / "home"), "auth": True}, environ={})
    services = Services.open(settings, actor="bootstrap")
    secrets = {}
    for name, role in [("vic", "viewer"), ("dee", "data-scientist")]:
        services.accounts.create_user(name, role)
        secret = services.accounts.create_token(name).secret
        assert secret is not None
        secrets[name] = {"Authorization": f"Bearer {secret}"}
    server = BackgroundServer(services)
    url = server.start() + "/api/v1"
    try:
        with httpx.Client(base_url=url) as http:
            assert http.get("/alerts").status_code == 401
            assert http.get("/alerts", headers=secrets["vic"]).json()["alerts"] == []
            body = {"items": []}
            denied = http.post("/monitoring/churn/feedback", json=body, headers=secrets["vic"])
            assert (
                denied.status_code == 403 and "data-scientist" in denied.json()["error"]["message"]
            )
            assert http.post("/monitoring/churn/run", headers=secrets["vic"]).status_code == 403
            missing = http.post("/monitoring/churn/feedback", json=body, headers=secrets["dee"])
            assert missing.status_code == 404  # allowed, but there is no model 'churn'
            bad = http.get("/monitoring/churn/report?window=soon", headers=secrets["vic"])
            assert bad.status_code == 400 and "duration" in bad.json()["error"]["message"]
            assert http.get("/alerts/7", headers=secrets["vic"]).status_code == 404
    finally:
        server.stop()
        services.close()
