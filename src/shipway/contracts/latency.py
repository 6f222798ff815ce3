"""The latency budget, measured for real: the version is served in-process by the same
stack ``shipway serve`` runs (runtime, Starlette app, uvicorn on a loopback socket) and
called one row at a time, after a warm-up, by a keep-alive HTTP client."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson

from shipway.errors import NotFound
from shipway.models.loaded import LoadedModel
from shipway.records import Deployment, ModelVersion


class OneVersion:
    """A ``ModelSource`` serving one already-loaded version, with no log and no auth."""

    def __init__(self, version: ModelVersion, model: LoadedModel) -> None:
        self.version = version
        self.model = model

    def resolve(self, uri: str) -> ModelVersion:
        return self.version

    def load(self, version: ModelVersion) -> LoadedModel:
        return self.model

    def deployment(self, name: str) -> Deployment:
        raise NotFound(f"no deployment {name!r} in a latency measurement")

    def auth_required(self) -> bool:
        return False

    def authenticate(self, token: str) -> str | None:
        return None

    def check_api_key(self, deployment: str, key: str) -> bool:
        return False

    def log_rules(self, model: str) -> dict[str, list[str]]:
        return {}

    def write_segment(
        self, model: str, version: int, path: Path, rows: int, first: int, last: int
    ) -> None:
        return None


def measure_latency(
    version: ModelVersion,
    model: LoadedModel,
    rows: Sequence[Any],
    *,
    requests: int = 300,
    warmup: int = 50,
) -> dict[str, Any]:
    """p50/p95/p99 (ms) of ``requests`` single-row predictions, cycling through ``rows``."""
    from shipway.serving.app import create_app
    from shipway.serving.runtime import Runtime, ServeConfig
    from shipway.serving.workers import background_serve

    config = ServeConfig(poll_interval=0, prediction_log=False, access_log=False)
    runtime = Runtime(OneVersion(version, model), models=[version.uri], config=config)
    bodies = [
        orjson.dumps(
            {"records": [row]}, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
        )
        for row in rows
    ]
    timings: list[float] = []
    errors = 0
    first_error = ""
    headers = {"content-type": "application/json"}
    with background_serve(create_app(runtime)) as url:
        target = f"{url}/v1/models/{version.name}/predict"
        with httpx.Client(timeout=30) as http:
            for i in range(warmup + requests):
                body = bodies[i % len(bodies)]
                start = time.perf_counter()
                response = http.post(target, content=body, headers=headers)
                elapsed = (time.perf_counter() - start) * 1000
                if i < warmup:
                    continue
                if response.status_code != 200:
                    errors += 1
                    first_error = first_error or f"{response.status_code} {response.text[:300]}"
                timings.append(elapsed)
    values = np.asarray(timings)
    return {
        "p50_ms": float(np.percentile(values, 50)),
        "p95_ms": float(np.percentile(values, 95)),
        "p99_ms": float(np.percentile(values, 99)),
        "mean_ms": float(values.mean()),
        "errors": errors,
        "first_error": first_error,
    }
