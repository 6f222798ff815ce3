"""The three protocols against a live server: native, Open Inference Protocol v2 (with the
real tritonclient, JSON and binary tensors) and MLflow /invocations."""

from __future__ import annotations

import re
from typing import Any

import httpx
import numpy as np
import pandas as pd
import tritonclient.http as triton
from serving_helpers import records, serving
from tritonclient.utils import InferenceServerException

import shipway as sw
from shipway.serving.runtime import Runtime

Data = tuple[pd.DataFrame, pd.Series]


def _expected(fitted: dict[int, Any], X: pd.DataFrame, version: int = 1) -> list[int]:
    out: list[int] = fitted[version].predict(X).tolist()
    return out


def test_native_records_columns_probabilities(
    served: tuple[str, Runtime], cancer: Data, fitted: dict[int, Any]
) -> None:
    url, _ = served
    X, _ = cancer
    rows = X.iloc[:5]
    r = httpx.post(f"{url}/v1/models/cancer/predict", json={"records": records(X, 5)})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["model"], body["version"]) == ("cancer", 1)
    assert body["predictions"] == _expected(fitted, rows)
    assert "probabilities" not in body
    assert r.headers["x-request-id"] == body["request_id"]

    columns = {c: rows[c].tolist() for c in X.columns}
    r = httpx.post(
        f"{url}/v1/models/cancer/predict",
        json={"columns": columns, "probabilities": True},
        headers={"X-Request-ID": "order-17"},
    )
    body = r.json()
    assert body["predictions"] == _expected(fitted, rows)
    assert body["classes"] == [0, 1]
    np.testing.assert_allclose(body["probabilities"], fitted[1].predict_proba(rows))
    assert body["request_id"] == r.headers["x-request-id"] == "order-17"


def test_pinned_version_and_listing(
    registry: sw.Client, cancer: Data, fitted: dict[int, Any]
) -> None:
    X, _ = cancer
    deployment, _ = registry.deployments.create(
        "cancer-canary",
        "models:/cancer@production",
        mode="canary",
        candidate="models:/cancer/2",
        percent=0,
    )
    with serving(registry, deployments=[deployment.name]) as (url, _):
        r = httpx.post(
            f"{url}/v1/models/cancer-canary/versions/2/predict", json={"records": records(X, 20)}
        )
        assert r.json()["version"] == 2
        assert r.json()["predictions"] == _expected(fitted, X.iloc[:20], 2)
        missing = httpx.post(
            f"{url}/v1/models/cancer-canary/versions/7/predict", json={"records": records(X)}
        )
        assert missing.status_code == 404
        assert "served versions: 1, 2" in missing.json()["error"]["message"]
        listing = httpx.get(f"{url}/v1/models").json()["models"]
        assert listing[0]["name"] == "cancer-canary"
        assert listing[0]["candidate"] == {"model": "cancer", "version": 2, "percent": 0.0}
        assert listing[0]["signature"]["inputs"][0]["name"] == "mean radius"


def test_openapi_is_generated_from_the_signature(served: tuple[str, Runtime], cancer: Data) -> None:
    url, _ = served
    X, _ = cancer
    doc = httpx.get(f"{url}/openapi.json").json()
    op = doc["paths"]["/v1/models/cancer/predict"]["post"]
    content = op["requestBody"]["content"]["application/json"]
    by_records = content["schema"]["oneOf"][0]["properties"]["records"]["items"]
    assert by_records["properties"]["mean radius"] == {"type": "number"}
    assert by_records["additionalProperties"] is False
    assert set(by_records["required"]) == set(X.columns)
    assert content["example"]["records"][0]["mean radius"] == X.iloc[0]["mean radius"]
    assert {"400", "413", "404", "503"} <= set(op["responses"]) and "422" not in op["responses"]
    docs = httpx.get(f"{url}/docs")
    assert (
        "swagger-ui" in docs.text
        and "default-src 'self'" in docs.headers["content-security-policy"]
    )
    assert "https://" not in docs.text and "http://" not in docs.text  # nothing from a CDN
    for asset in re.findall(r'(?:src|href)="(/docs/assets/[^"]+)"', docs.text):
        assert httpx.get(url + asset).status_code == 200, asset


def test_invocations_formats(
    served: tuple[str, Runtime], cancer: Data, fitted: dict[int, Any]
) -> None:
    url, _ = served
    X, _ = cancer
    rows = X.iloc[:3]
    want = _expected(fitted, rows)
    split = {"columns": list(X.columns), "data": rows.values.tolist()}
    bodies: list[dict[str, Any]] = [
        {"dataframe_split": split},
        {"dataframe_records": records(X, 3)},
        {"instances": records(X, 3)},
        {"instances": rows.values.tolist()},
        {"inputs": {c: rows[c].tolist() for c in X.columns}},
        {"inputs": rows.values.tolist(), "params": {}},
    ]
    for body in bodies:
        r = httpx.post(f"{url}/invocations", json=body)
        assert r.status_code == 200, (body.keys(), r.text)
        assert r.json() == {"predictions": want}
    csv = rows.to_csv(index=False)
    r = httpx.post(f"{url}/invocations", content=csv, headers={"Content-Type": "text/csv"})
    assert r.json() == {"predictions": want}
    for path in ("/ping", "/health", "/health/ready", "/health/live", "/v2/health/ready"):
        assert httpx.get(url + path).status_code == 200


def test_invocations_needs_a_model_when_several_are_served(
    registry: sw.Client, cancer: Data
) -> None:
    X, _ = cancer
    registry.deployments.create("other", "models:/cancer/2")
    with serving(registry, ["models:/cancer@production"], ["other"]) as (url, _):
        r = httpx.post(f"{url}/invocations", json={"dataframe_records": records(X)})
        assert r.status_code == 400
        assert "?model=NAME" in r.json()["error"]["message"]
        r = httpx.post(f"{url}/invocations?model=other", json={"dataframe_records": records(X)})
        assert r.status_code == 200


def test_tritonclient_health_metadata_and_infer(
    served: tuple[str, Runtime], cancer: Data, fitted: dict[int, Any]
) -> None:
    url, _ = served
    X, _ = cancer
    data = X.iloc[:4].to_numpy(dtype=np.float64)
    client = triton.InferenceServerClient(url.removeprefix("http://"))
    try:
        assert client.is_server_live() and client.is_server_ready()
        assert client.is_model_ready("cancer")
        assert not client.is_model_ready("nope")
        assert "binary_tensor_data" in client.get_server_metadata()["extensions"]
        meta = client.get_model_metadata("cancer")
        assert meta["versions"] == ["1"]
        assert meta["inputs"][0] == {"name": "mean radius", "datatype": "FP64", "shape": [-1]}
        assert [o["name"] for o in meta["outputs"]] == ["predict", "predict_proba"]
        for binary in (False, True):
            tensor = triton.InferInput("input", list(data.shape), "FP64")
            tensor.set_data_from_numpy(data, binary_data=binary)
            outputs = [
                triton.InferRequestedOutput("predict", binary_data=binary),
                triton.InferRequestedOutput("predict_proba", binary_data=binary),
            ]
            result = client.infer("cancer", [tensor], outputs=outputs, request_id="r-1")
            assert result.as_numpy("predict").tolist() == _expected(fitted, X.iloc[:4])
            np.testing.assert_allclose(
                result.as_numpy("predict_proba"), fitted[1].predict_proba(X.iloc[:4])
            )
            assert result.get_response()["id"] == "r-1"
        default = triton.InferInput("input", list(data.shape), "FP64")
        default.set_data_from_numpy(data)  # the client's default: binary in, binary out
        assert client.infer("cancer", [default]).as_numpy("predict").tolist() == _expected(
            fitted, X.iloc[:4]
        )
        bad = triton.InferInput("input", [4, 2], "FP64")
        bad.set_data_from_numpy(data[:, :2].copy())
        try:
            client.infer("cancer", [bad])
        except InferenceServerException as exc:
            assert "[rows, 30]" in str(exc)
        else:
            raise AssertionError("a [4, 2] tensor was accepted")
    finally:
        client.close()


def test_v2_tensor_per_column_and_errors(
    served: tuple[str, Runtime], cancer: Data, fitted: dict[int, Any]
) -> None:
    url, _ = served
    X, _ = cancer
    rows = X.iloc[:2]
    inputs = [
        {"name": c, "shape": [2], "datatype": "FP64", "data": rows[c].tolist()} for c in X.columns
    ]
    r = httpx.post(f"{url}/v2/models/cancer/versions/1/infer", json={"inputs": inputs})
    assert r.status_code == 200, r.text
    assert r.json()["outputs"][0]["data"] == _expected(fitted, rows)
    assert r.json()["model_version"] == "1"
    cases = [
        ({"inputs": inputs[:-1]}, 400, "missing input tensor worst fractal dimension"),
        ({"inputs": "x"}, 400, "'inputs' list"),
        ({"inputs": [{**inputs[0], "datatype": "FP128"}]}, 400, "datatype 'FP128'"),
        ({"inputs": [{**inputs[0], "shape": [3]}] + inputs[1:]}, 400, "shape [3] needs 3"),
        ({"inputs": inputs, "outputs": [{"name": "logits"}]}, 400, "asks for 'logits'"),
    ]
    for body, status, text in cases:
        r = httpx.post(f"{url}/v2/models/cancer/infer", json=body)
        assert r.status_code == status, (body, r.text)
        assert isinstance(r.json()["error"], str) and text in r.json()["error"], r.text
    r = httpx.post(
        f"{url}/v2/models/cancer/infer",
        content=b"{}",
        headers={"Inference-Header-Content-Length": "99"},
    )
    assert r.status_code == 400 and "Inference-Header-Content-Length" in r.json()["error"]
    r = httpx.get(f"{url}/v2/models/cancer/versions/3")
    assert r.status_code == 404 and isinstance(r.json()["error"], str)
    unknown = httpx.get(f"{url}/v2/nothing")
    assert unknown.status_code == 404 and isinstance(unknown.json()["error"], str)
