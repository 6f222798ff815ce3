"""/api/v1/predictions: the prediction log inference servers write (deployments are
declared operations, shipway.operations.deployments)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from shipway.api.auth import DataScientist, Viewer
from shipway.services import Services

router = APIRouter(tags=["serving"])


class NewSegment(BaseModel):
    model: str
    version: int = Field(ge=1)
    digest: str
    size: int = Field(ge=0)
    rows: int = Field(ge=0)
    first_time: int
    last_time: int


@router.post("/predictions/segments", status_code=201, summary="List an uploaded log segment")
def add_segment(body: NewSegment, services: Services = DataScientist) -> dict[str, Any]:
    segment = services.predictions.record_segment(
        body.model,
        body.version,
        digest=body.digest,
        size=body.size,
        rows=body.rows,
        first=body.first_time,
        last=body.last_time,
    )
    return segment.to_dict()


@router.get("/predictions/segments", summary="Prediction-log segments of a model")
def list_segments(
    model: str | None = None,
    since: int | None = None,
    until: int | None = None,
    services: Services = Viewer,
) -> dict[str, Any]:
    segments = services.predictions.segments(model, since=since, until=until)
    return {"segments": [s.to_dict() for s in segments]}
