"""Micro-batching, and the traffic policies of deployments: a rollout under load with zero
failed requests, canary proportions, sticky keys, shadow logging."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from serving_helpers import records, serving

import shipway as sw
from shipway.errors import SchemaError
from shipway.serving.batching import Batcher
from shipway.serving.codecs import Rows

Data = tuple[pd.DataFrame, pd.Series]


def test_batcher_merges_concurrent_requests_and_splits_answers() -> None:
    calls: list[int] = []

    def predict(rows: Rows, want: bool) -> tuple[Any, Any]:
        calls.append(rows.n)
        values = rows.matrix[:, 0] * 10
        return values, (np.c_[values, -values] if want else None)

    async def main() -> list[tuple[Any, Any]]:
        batcher = Batcher(predict, max_size=64, max_wait=0.001)
        batcher.start()
        lone = await asyncio.wait_for(batcher.submit(Rows(1, matrix=np.array([[7.0]])), False), 5)
        assert lone[0].tolist() == [70.0] and calls == [1]
        jobs = [
            batcher.submit(Rows(2, matrix=np.array([[i], [i + 0.5]])), i % 2 == 0)
            for i in range(40)
        ]
        results = await asyncio.gather(*jobs)
        await batcher.close()
        return results

    results = asyncio.run(main())
    assert sum(calls) == 81
    assert len(calls) < 41  # merged: far fewer model calls than requests
    assert max(calls) <= 64
    for i, (values, proba) in enumerate(results):
        assert values.tolist() == [i * 10, (i + 0.5) * 10]
        assert (proba is not None) == (i % 2 == 0)


def test_a_lone_request_never_waits_for_company() -> None:
    calls: list[int] = []

    def predict(rows: Rows, want: bool) -> tuple[Any, Any]:
        calls.append(rows.n)
        return rows.matrix[:, 0], None

    async def main() -> None:
        batcher = Batcher(predict, max_size=64, max_wait=60.0)  # a wait no test would sit out
        batcher.start()
        for i in range(3):
            result = await asyncio.wait_for(
                batcher.submit(Rows(1, matrix=np.array([[float(i)]])), False), 5
            )
            assert result[0].tolist() == [float(i)]
        await batcher.close()

    asyncio.run(main())
    assert calls == [1, 1, 1]


def test_one_bad_request_fails_alone_in_a_batch() -> None:
    def predict(rows: Rows, want: bool) -> tuple[Any, Any]:
        if (rows.matrix < 0).any():
            raise SchemaError("negative value")
        return rows.matrix[:, 0], None

    async def main() -> list[Any]:
        batcher = Batcher(predict, max_size=64, max_wait=0.01)
        batcher.start()
        jobs = [batcher.submit(Rows(1, matrix=np.array([[float(i)]])), False) for i in (1, -1, 2)]
        out = await asyncio.gather(*jobs, return_exceptions=True)
        await batcher.close()
        return out

    ok1, bad, ok2 = asyncio.run(main())
    assert ok1[0].tolist() == [1.0] and ok2[0].tolist() == [2.0]
    assert isinstance(bad, SchemaError)


def test_server_with_batching(registry: sw.Client, cancer: Data, fitted: dict[int, Any]) -> None:
    X, _ = cancer
    with serving(
        registry, ["models:/cancer@production"], batch_max_size=32, batch_max_wait_ms=5
    ) as (
        url,
        _,
    ):

        async def burst() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=url) as http:
                jobs = [
                    http.post("/v1/models/cancer/predict", json={"records": records(X, 1, i)})
                    for i in range(64)
                ]
                return await asyncio.gather(*jobs)

        answers = asyncio.run(burst())
        metrics = httpx.get(f"{url}/metrics").text
    assert [a.json()["predictions"][0] for a in answers] == fitted[1].predict(X.iloc[:64]).tolist()
    count = _metric(metrics, 'shipway_batch_size_count{model="cancer",version="1"}')
    total = _metric(metrics, 'shipway_batch_size_sum{model="cancer",version="1"}')
    assert total == 64  # every row went through a batch (the warm-up is not counted)
    assert count < 64  # some requests shared a model call
    assert "shipway_batch_queue_depth" in metrics


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{name} not in /metrics")


class Load:
    """Threads sending requests until stopped; every answer is kept."""

    def __init__(self, url: str, body: dict[str, Any], threads: int = 4, key: str | None = None):
        self.url, self.body = url, body
        self.answers: list[tuple[int, int | None]] = []
        self.failures: list[str] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        with httpx.Client(timeout=30) as http:
            while not self.stop.is_set():
                try:
                    r = http.post(self.url, json=self.body)
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))
                    continue
                if r.status_code != 200:
                    self.failures.append(f"{r.status_code} {r.text}")
                self.answers.append((r.status_code, r.json().get("version")))

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(30)


def _wait_for(condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def test_rollout_under_load_has_zero_failures(registry: sw.Client, cancer: Data) -> None:
    X, _ = cancer
    registry.deployments.create("live", "models:/cancer@production")
    with serving(registry, deployments=["live"], poll_interval=0.2) as (url, runtime):
        body = {"records": records(X, 1)}
        with Load(f"{url}/v1/models/live/predict", body) as load:
            _wait_for(lambda: len(load.answers) > 50)
            registry.registry.set_alias("cancer", 2, "production", reason="rollout test")
            _wait_for(lambda: runtime.endpoints["live"].primary.number == 2)
            seen = len(load.answers)
            _wait_for(lambda: len(load.answers) > seen + 50)
            registry.registry.rollback("cancer", "production", reason="and back")
            _wait_for(lambda: runtime.endpoints["live"].primary.number == 1)
            seen = len(load.answers)
            _wait_for(lambda: len(load.answers) > seen + 50)
    assert load.failures == []
    versions = [v for _, v in load.answers]
    assert versions[0] == 1 and versions[-1] == 1 and 2 in versions
    switches = sum(1 for a, b in zip(versions, versions[1:], strict=False) if a != b)
    assert switches >= 2


def test_canary_share_and_sticky_keys(registry: sw.Client, cancer: Data) -> None:
    X, _ = cancer
    registry.deployments.create(
        "canary",
        "models:/cancer@production",
        mode="canary",
        candidate="models:/cancer/2",
        percent=30,
    )
    with serving(registry, deployments=["canary"], poll_interval=0.2) as (url, runtime):
        body = {"records": records(X, 1)}
        with httpx.Client(base_url=url) as http:
            versions = Counter(
                http.post("/v1/models/canary/predict", json=body).json()["version"]
                for _ in range(600)
            )
            share = versions[2] / 600
            assert 0.22 <= share <= 0.38, versions  # 30% ± 4.3 standard deviations
            keyed = {
                key: {
                    http.post(
                        "/v1/models/canary/predict", json=body, headers={"X-Traffic-Key": key}
                    ).json()["version"]
                    for _ in range(5)
                }
                for key in (f"customer-{i}" for i in range(40))
            }
            assert all(len(v) == 1 for v in keyed.values())  # sticky
            assert {next(iter(v)) for v in keyed.values()} == {1, 2}
            registry.deployments.set_traffic("canary", percent=100)
            _wait_for(lambda: runtime.endpoints["canary"].target.percent == 100)
            assert {
                http.post("/v1/models/canary/predict", json=body).json()["version"]
                for _ in range(20)
            } == {2}
            registry.deployments.set_traffic("canary", mode="single")
            _wait_for(lambda: runtime.endpoints["canary"].candidate is None)
            assert http.post("/v1/models/canary/predict", json=body).json()["version"] == 1


def test_shadow_answers_from_primary_and_logs_both(
    registry: sw.Client, cancer: Data, fitted: dict[int, Any]
) -> None:
    X, _ = cancer
    registry.deployments.create(
        "shadowed", "models:/cancer@production", mode="shadow", candidate="models:/cancer/2"
    )
    with serving(registry, deployments=["shadowed"]) as (url, runtime):
        ids = []
        for i in range(10):
            r = httpx.post(f"{url}/v1/models/shadowed/predict", json={"records": records(X, 3, i)})
            assert r.json()["version"] == 1
            ids.append(r.json()["request_id"])
        _wait_for(
            lambda: runtime.metrics.predictions.labels("cancer", "2", "shadow")._value.get() == 30
        )
        assert runtime.writer is not None
        runtime.writer.flush()
    table = registry.backend.predictions_query(
        "cancer", "SELECT request_id, row, version, arm, prediction, endpoint FROM predictions"
    ).to_pandas()
    assert len(table) == 60
    assert set(table["endpoint"]) == {"shadowed"}
    by_arm = {arm: group for arm, group in table.groupby("arm")}
    assert set(by_arm) == {"primary", "shadow"}
    assert set(by_arm["shadow"]["version"]) == {2} and set(by_arm["primary"]["version"]) == {1}
    assert set(by_arm["shadow"]["request_id"]) == set(ids) == set(by_arm["primary"]["request_id"])
    shadow = by_arm["shadow"].sort_values(["request_id", "row"])
    first = shadow[shadow["request_id"] == ids[0]]["prediction"].tolist()
    assert first == fitted[2].predict(X.iloc[0:3]).tolist()


@pytest.mark.parametrize("mode", ["canary", "shadow"])
def test_bad_traffic_policies(registry: sw.Client, mode: str) -> None:
    with pytest.raises(sw.errors.InvalidInput, match="needs a candidate"):
        registry.deployments.create("x", "models:/cancer/1", mode=mode)
    with pytest.raises(sw.errors.InvalidInput, match="between 0 and 100"):
        registry.deployments.create(
            "x", "models:/cancer/1", mode=mode, candidate="models:/cancer/2", percent=120
        )
