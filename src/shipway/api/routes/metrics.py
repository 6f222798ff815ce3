"""/api/v1/runs/{run_id}/metrics: batched ingest (its own compact wire format; the
history is a declared operation, shipway.operations.tracking)."""

from __future__ import annotations

import time
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from shipway.api.auth import DataScientist
from shipway.errors import InvalidInput
from shipway.services import Services
from shipway.tracking.wire import decode_batch

router = APIRouter(prefix="/runs/{run_id}/metrics", tags=["metrics"])


@router.post(
    "",
    summary="Log a batch of metric points",
    description=(
        'Body: `{"metrics": {"acc": {"values": [0.9, 0.91], "steps": [1, 2], '
        '"timestamps": [1700000000000, 1700000000100]}}}`. Steps default to 0..n-1 and '
        'timestamps to now. Non-finite values as "NaN", "Infinity", "-Infinity". '
        '`"encoding": "base64"` takes base64 little-endian float64/int64 arrays instead.'
    ),
)
async def log_batch(
    run_id: str, request: Request, services: Services = DataScientist
) -> dict[str, Any]:
    raw = await request.body()
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"the request body is not valid JSON: {exc}") from None
    batch = decode_batch(payload, int(time.time() * 1000))
    count = await run_in_threadpool(services.tracking.log_metric_series, run_id, batch)
    return {"logged": count}
