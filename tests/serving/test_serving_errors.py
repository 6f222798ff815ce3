"""Every bad request gets a 4xx naming the field and the problem, in shipway's envelope;
never a 500, never a framework-default body."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import orjson
import pandas as pd
import pytest
from serving_helpers import records, serving

import shipway as sw
from shipway.client.serving import ClientModelSource
from shipway.serving.app import create_app
from shipway.serving.runtime import Runtime, ServeConfig

Data = tuple[pd.DataFrame, pd.Series]


def test_native_error_paths(registry: sw.Client, cancer: Data) -> None:
    X, _ = cancer
    row = records(X, 1)[0]
    with serving(registry, ["models:/cancer@production"], max_rows=50, max_body_bytes=200_000) as (
        url,
        _,
    ):
        predict = f"{url}/v1/models/cancer/predict"
        cases: list[tuple[Any, int, str, str]] = [
            (b"{not json", 400, "invalid_input", "not valid JSON"),
            (b"", 400, "invalid_input", "body is empty"),
            (b"[1, 2]", 400, "invalid_input", "JSON object with 'records'"),
            ({"rows": [row]}, 400, "invalid_input", "unknown field 'rows'"),
            ({"records": [row], "columns": {}}, 400, "invalid_input", "exactly one of"),
            ({"records": []}, 400, "invalid_input", "non-empty list"),
            ({"records": [1]}, 400, "invalid_input", "records[0] must be an object"),
            ({"records": [row], "probabilities": "yes"}, 400, "invalid_input", "true or false"),
            ({"records": [{**row, "zip": 1}]}, 400, "schema_error", "unknown field 'zip'"),
            (
                {"records": [{k: v for k, v in row.items() if k != "mean area"}]},
                400,
                "schema_error",
                "missing required field 'mean area' (float)",
            ),
            (
                {"records": [{**row, "mean area": "big"}]},
                400,
                "schema_error",
                "column 'mean area' expects float values, got 'big'",
            ),
            (
                {"records": [{**row, "mean area": None}]},
                400,
                "schema_error",
                "'mean area' (float) has a null value",
            ),
            (
                {"columns": {"mean area": 3}},
                400,
                "invalid_input",
                "columns.mean area must be a list",
            ),
            ({"columns": {"a": [1], "b": [1, 2]}}, 400, "invalid_input", "same, non-zero length"),
            ({"records": [row] * 51}, 413, "payload_too_large", "at most 50 per request"),
            ({"records": [{**row, "pad": "x" * 300_000}]}, 413, "payload_too_large", "200000"),
        ]
        for body, status, code, text in cases:
            content = body if isinstance(body, bytes) else orjson.dumps(body)
            r = httpx.post(predict, content=content, headers={"Content-Type": "application/json"})
            assert r.status_code == status, (
                body if isinstance(body, bytes) else list(body),
                r.text,
            )
            error = r.json()["error"]
            assert error["code"] == code and text in error["message"], error
        unknown = httpx.post(f"{url}/v1/models/churn/predict", json={"records": [row]})
        assert unknown.status_code == 404
        assert "served: cancer" in unknown.json()["error"]["message"]
        bad_version = httpx.post(f"{url}/v1/models/cancer/versions/x/predict", json={})
        assert bad_version.status_code == 400
        assert "positive number" in bad_version.json()["error"]["message"]
        route = httpx.get(f"{url}/v1/nothing")
        assert route.status_code == 404 and route.json()["error"]["code"] == "not_found"
        method = httpx.get(predict)
        assert method.status_code == 405 and method.json()["error"]["code"] == "method_not_allowed"
        invocations = httpx.post(f"{url}/invocations", json={"records": [row]})
        assert invocations.status_code == 400
        assert "exactly one of dataframe_split" in invocations.json()["error"]["message"]
        xml = httpx.post(
            f"{url}/invocations", content=b"<a/>", headers={"Content-Type": "text/xml"}
        )
        assert xml.status_code == 400 and "text/xml" in xml.json()["error"]["message"]
        csv = httpx.post(
            f"{url}/invocations", content=b"\xff\xfe", headers={"Content-Type": "text/csv"}
        )
        assert csv.status_code == 400 and "CSV" in csv.json()["error"]["message"]


def test_not_ready_answers_503(registry: sw.Client, cancer: Data) -> None:
    """Before the start-up has loaded the models (no lifespan ran), requests get 503."""
    X, _ = cancer
    runtime = Runtime(ClientModelSource(registry), models=["models:/cancer@production"])
    app = create_app(runtime)

    async def calls() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://serve") as http:
            return [
                await http.post("/v1/models/cancer/predict", json={"records": records(X)}),
                await http.get("/health/ready"),
                await http.get("/v2/health/ready"),
                await http.post("/v2/models/cancer/infer", json={"inputs": []}),
            ]

    native, ready, v2_ready, v2 = asyncio.run(calls())
    assert native.status_code == 503 and native.json()["error"]["code"] == "not_ready"
    assert ready.status_code == 503 and ready.json()["error"]["details"] == {"loading": ["cancer"]}
    assert v2_ready.status_code == 503 and "still loading" in v2_ready.json()["error"]
    assert v2.status_code == 503 and "loading" in v2.json()["error"]


def test_each_protocol_answers_its_own_error_shape(registry: sw.Client) -> None:
    """Everything under /v2 (the bare prefix, unknown routes, wrong methods) answers the
    protocol's {"error": "…"}; everything else the platform's envelope."""
    runtime = Runtime(ClientModelSource(registry), models=["models:/cancer@production"])
    app = create_app(runtime)

    async def calls() -> dict[tuple[str, str], httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://serve") as http:
            asked = [
                ("POST", "/v2"),
                ("GET", "/v2/nothing"),
                ("GET", "/v2/models/cancer/versions/x"),
                ("GET", "/v2x"),
                ("GET", "/nothing"),
                ("PUT", "/invocations"),
                ("GET", "/ping"),
            ]
            return {(m, p): await http.request(m, p) for m, p in asked}

    answers = asyncio.run(calls())
    assert answers[("POST", "/v2")].status_code == 405
    assert answers[("POST", "/v2")].json() == {"error": "POST is not allowed on /v2"}
    assert answers[("GET", "/v2/nothing")].status_code == 404
    assert isinstance(answers[("GET", "/v2/nothing")].json()["error"], str)
    assert "positive number" in answers[("GET", "/v2/models/cancer/versions/x")].json()["error"]
    for key, code in [
        (("GET", "/v2x"), "not_found"),
        (("GET", "/nothing"), "not_found"),
        (("PUT", "/invocations"), "method_not_allowed"),
        (("GET", "/ping"), "not_ready"),
    ]:
        assert answers[key].json()["error"]["code"] == code, (key, answers[key].text)


def test_model_failing_on_input_is_a_4xx(registry: sw.Client) -> None:
    """A model package without a signature takes what it is given; when the library
    refuses it, the caller gets 400 prediction_failed with the library's reason."""
    from sklearn.linear_model import LinearRegression

    model = LinearRegression().fit([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]], [0.0, 1.0, 2.0])
    with sw.start_run(experiment="raw", client=registry, capture=False) as run:
        run.log_model(model, register="raw")
    with serving(registry, ["models:/raw/1"]) as (url, _):
        ok = httpx.post(f"{url}/invocations", json={"instances": [[1.0, 1.0]]})
        assert ok.status_code == 200, ok.text
        bad = httpx.post(f"{url}/invocations", json={"instances": [[1.0, 1.0, 5.0]]})
        assert bad.status_code == 400, bad.text
        assert bad.json()["error"]["code"] == "prediction_failed"


def test_metrics_and_access_log(
    registry: sw.Client, cancer: Data, caplog: pytest.LogCaptureFixture
) -> None:
    X, _ = cancer
    caplog.set_level(logging.INFO, logger="shipway.access")
    with serving(registry, ["models:/cancer@production"]) as (url, _):
        for _ in range(3):
            httpx.post(f"{url}/v1/models/cancer/predict", json={"records": records(X)})
        httpx.post(f"{url}/v1/models/cancer/predict", json={"records": [{"x": 1}]})
        httpx.post(
            f"{url}/invocations",
            json={"dataframe_records": records(X)},
            headers={"X-Request-ID": "abc-1"},
        )
        text = httpx.get(f"{url}/metrics").text
    assert (
        'shipway_requests_total{model="cancer",protocol="native",status="200",version="1"} 3.0'
        in text
    )
    assert (
        'shipway_requests_total{model="cancer",protocol="native",status="400",version="1"} 1.0'
        in text
    )
    assert (
        'shipway_requests_total{model="cancer",protocol="mlflow",status="200",version="1"} 1.0'
        in text
    )
    assert 'shipway_predictions_total{arm="primary",model="cancer",version="1"} 8.0' in text
    assert "shipway_request_duration_seconds_bucket" in text
    assert "shipway_prediction_log_dropped_total 0.0" in text
    lines = [orjson.loads(r.getMessage()) for r in caplog.records if r.name == "shipway.access"]
    assert len(lines) == 5
    assert lines[-1]["request_id"] == "abc-1" and lines[-1]["status"] == 200
    assert lines[3]["status"] == 400 and lines[3]["path"] == "/v1/models/cancer/predict"
    assert all(line["latency_ms"] > 0 for line in lines)


def test_nothing_to_serve_and_duplicates(registry: sw.Client) -> None:
    source = ClientModelSource(registry)
    with pytest.raises(sw.errors.InvalidInput, match="nothing to serve"):
        Runtime(source)
    with pytest.raises(sw.errors.InvalidInput, match="same name"):
        Runtime(source, models=["models:/cancer/1", "models:/cancer/2"], config=ServeConfig())
