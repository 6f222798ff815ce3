"""The prediction log (written, dropped when full, read back locally and over HTTP),
deployments on both databases, and auth on the inference server."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from serving_helpers import records, serving

import shipway as sw
from shipway.api.server import BackgroundServer
from shipway.config import Settings
from shipway.services import Services
from shipway.serving.codecs import Rows
from shipway.serving.predlog import PredictionLogWriter, PredictionRecord

Data = tuple[pd.DataFrame, pd.Series]


def _record(i: int, n: int = 1) -> PredictionRecord:
    return PredictionRecord(
        request_id=f"r{i}",
        time_ms=1_700_000_000_000 + i,
        endpoint="m",
        model="m",
        version=1,
        arm="primary",
        protocol="native",
        latency_ms=1.5,
        input_names=["a", "b"],
        input_types=["float", "string"],
        rows=Rows(n, columns={"a": [float(i)] * n, "b": [f"s{i}"] * n}),
        predictions=np.arange(n) + i,
        probabilities=None,
    )


def test_writer_drops_and_counts_when_the_queue_is_full(tmp_path: Path) -> None:
    release = threading.Event()
    written: list[int] = []

    def sink(model: str, version: int, path: Path, rows: int, first: int, last: int) -> None:
        release.wait(10)  # a slow store: the queue fills meanwhile
        written.append(rows)

    dropped: list[int] = []
    writer = PredictionLogWriter(sink, max_rows=10, flush_seconds=0.05, on_drop=dropped.append)
    accepted = [writer.put(_record(i, 2)) for i in range(8)]
    assert accepted == [True] * 5 + [False] * 3  # 10 rows fit; put never blocked
    assert writer.dropped == 6 and sum(dropped) == 6
    release.set()
    writer.close()
    assert sum(written) == 10 and writer.written == 10


def test_writer_survives_a_failing_store() -> None:
    def sink(model: str, version: int, path: Path, rows: int, first: int, last: int) -> None:
        raise OSError("disk full")

    writer = PredictionLogWriter(sink, flush_seconds=0.05)
    writer.put(_record(1, 3))
    writer.flush()
    assert writer.dropped == 3 and writer.written == 0
    assert writer.put(_record(2))  # still taking records
    writer.close()


def test_flush_waits_for_records_queued_during_a_drain_under_way() -> None:
    """A drain already writing when flush() is called took the queue before the last record:
    flush() must wait for the next drain, not return when that one ends (the demo's labels
    once found 1,180 of 1,200 logged predictions)."""
    writing = threading.Event()
    release = threading.Event()
    written: list[int] = []

    def sink(model: str, version: int, path: Path, rows: int, first: int, last: int) -> None:
        writing.set()
        release.wait(10)
        written.append(rows)

    writer = PredictionLogWriter(sink, flush_seconds=60)
    writer.put(_record(1, 2))
    first = threading.Thread(target=writer.flush)
    first.start()
    assert writing.wait(10)  # the first drain is in the sink, its queue taken
    writer.put(_record(2, 3))  # arrives during that drain
    threading.Timer(0.2, release.set).start()
    writer.flush()
    assert written == [2, 3]
    first.join(10)
    writer.close()


def test_segments_round_trip_with_typed_columns(services: Services, tmp_path: Path) -> None:
    """Written by the writer, stored by the service, read back with DuckDB (both databases)."""
    log = services.predictions

    def sink(model: str, version: int, path: Path, rows: int, first: int, last: int) -> None:
        log.add_segment(model, version, path, rows=rows, first=first, last=last)

    writer = PredictionLogWriter(sink, flush_seconds=0.05)
    for i in range(5):
        writer.put(_record(i, 2))
    writer.close()
    (segment,) = log.segments("m")
    assert (segment.rows, segment.first_time, segment.last_time) == (
        10,
        1_700_000_000_000,
        1_700_000_000_004,
    )
    table = log.query(
        "m",
        "SELECT request_id, row, inputs.a, inputs.b, prediction FROM predictions "
        "ORDER BY request_id, row",
    )
    rows = table.to_pylist()
    assert rows[0] == {"request_id": "r0", "row": 0, "a": 0.0, "b": "s0", "prediction": 0}
    assert rows[-1] == {"request_id": "r4", "row": 1, "a": 4.0, "b": "s4", "prediction": 5}
    assert log.segments("m", since=1_700_000_000_005) == []
    assert log.query("nothing", "SELECT count(*) AS n FROM predictions").to_pylist() == [{"n": 0}]
    with pytest.raises(sw.errors.InvalidInput, match="query failed"):
        log.query("m", "SELECT nope FROM predictions")


def test_deployments_service(services: Services) -> None:
    d, key = services.deployments.create("churn", "models:/churn@production", api_key=True)
    assert (d.mode, d.revision, d.has_api_key) == ("single", 1, True)
    assert key is not None and services.deployments.check_api_key("churn", key)
    assert not services.deployments.check_api_key("churn", key + "x")
    with pytest.raises(sw.errors.Conflict, match="exists"):
        services.deployments.create("churn", "models:/churn/1")
    d = services.deployments.set_traffic("churn", mode="canary", candidate="models:/churn/2")
    assert (d.mode, d.candidate, d.percent, d.revision) == ("canary", "models:/churn/2", 10.0, 2)
    d = services.deployments.set_traffic("churn", percent=50)
    assert (d.mode, d.percent) == ("canary", 50.0)
    with pytest.raises(sw.errors.InvalidInput, match="traffic mode 'blue'"):
        services.deployments.set_traffic("churn", mode="blue")
    with pytest.raises(sw.errors.InvalidInput, match="not a model URI"):
        services.deployments.create("other", "churn")
    with pytest.raises(sw.errors.InvalidInput, match="deployment name"):
        services.deployments.create("../x", "models:/churn/1")
    assert [x.name for x in services.deployments.list()] == ["churn"]
    services.deployments.delete("churn")
    with pytest.raises(sw.errors.NotFound, match="deployments create churn"):
        services.deployments.get("churn")


def test_remote_platform_server_log_and_auth(
    tmp_path: Path, cancer: Data, fitted: dict[int, Any]
) -> None:
    """An inference server talking to a platform server with auth on: callers need a token
    (any role) or the deployment's API key; the log goes up through the platform's API."""
    X, _ = cancer
    settings = Settings.load(
        overrides={"home": str(tmp_path / "platform"), "auth": True}, environ={}
    )
    platform = Services.open(settings, actor="admin")
    platform.accounts.create_user("admin", "admin")
    platform.accounts.create_user("svc", "data-scientist")
    platform.accounts.create_user("reader", "viewer")
    admin = platform.accounts.create_token("admin").secret
    server_token = platform.accounts.create_token("svc").secret
    reader = platform.accounts.create_token("reader").secret
    platform_server = BackgroundServer(platform)
    platform_url = platform_server.start()
    try:
        client_settings = Settings.load(overrides={"home": str(tmp_path / "client")}, environ={})
        owner = sw.Client(platform_url, settings=client_settings, token=admin)
        with sw.start_run(experiment="cancer", client=owner, capture=False) as run:
            run.log_model(fitted[1], input_example=X.head(3), register="cancer")
        _, key = owner.deployments.create("live", "models:/cancer/1", api_key=True)
        server_client = sw.Client(platform_url, settings=client_settings, token=server_token)
        with serving(server_client, deployments=["live"]) as (url, runtime):
            predict = f"{url}/v1/models/live/predict"
            body = {"records": records(X)}
            anonymous = httpx.post(predict, json=body)
            assert anonymous.status_code == 401
            assert "Authorization: Bearer" in anonymous.json()["error"]["message"]
            guess = httpx.post(f"{url}/v1/models/nope/predict", json=body)
            assert guess.status_code == 401 and "live" not in guess.text  # names stay hidden
            bad = httpx.post(predict, json=body, headers={"Authorization": "Bearer swt_nope"})
            assert bad.status_code == 401 and "unknown or revoked" in bad.json()["error"]["message"]
            wrong_key = httpx.post(predict, json=body, headers={"X-API-Key": "swk_nope"})
            assert wrong_key.status_code == 401
            by_token = httpx.post(predict, json=body, headers={"Authorization": f"Bearer {reader}"})
            assert by_token.status_code == 200, by_token.text
            by_key = httpx.post(predict, json=body, headers={"X-API-Key": key or ""})
            assert by_key.status_code == 200
            v2 = httpx.get(f"{url}/v2/models/live")
            assert v2.status_code == 401 and isinstance(v2.json()["error"], str)
            assert httpx.get(f"{url}/health/ready").status_code == 200  # probes stay open
            assert runtime.writer is not None
            runtime.writer.flush()
        got = owner.backend.predictions_query(
            "cancer", "SELECT request_id, version, endpoint FROM predictions"
        ).to_pylist()
        assert len(got) == 4
        assert {g["request_id"] for g in got} == {
            by_token.json()["request_id"],
            by_key.json()["request_id"],
        }
        assert len(owner.predictions.segments("cancer")) >= 1
        owner.close()
        server_client.close()
    finally:
        platform_server.stop()
        platform.close()
