"""/api/v1/deployments and /api/v1/predictions: what inference servers serve, and the
prediction log they write."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from shipway.api.auth import DataScientist, Developer, Viewer
from shipway.services import Services

router = APIRouter(tags=["serving"])


class NewDeployment(BaseModel):
    name: str
    model: str = Field(description="the model URI, e.g. models:/churn@production")
    mode: str = "single"
    candidate: str | None = None
    percent: float | None = None
    api_key: bool = Field(False, description="create an API key for this deployment (shown once)")


class Traffic(BaseModel):
    model: str | None = None
    mode: str | None = None
    candidate: str | None = None
    percent: float | None = None


class ApiKey(BaseModel):
    key: str


class NewSegment(BaseModel):
    model: str
    version: int = Field(ge=1)
    digest: str
    size: int = Field(ge=0)
    rows: int = Field(ge=0)
    first_time: int
    last_time: int


@router.get("/deployments", summary="List deployments")
def list_deployments(services: Services = Viewer) -> dict[str, Any]:
    return {"deployments": [d.to_dict() for d in services.deployments.list()]}


@router.post("/deployments", status_code=201, summary="Create a deployment")
def create_deployment(body: NewDeployment, services: Services = Developer) -> dict[str, Any]:
    deployment, key = services.deployments.create(
        body.name,
        body.model,
        mode=body.mode,
        candidate=body.candidate,
        percent=body.percent,
        api_key=body.api_key,
    )
    return {**deployment.to_dict(), "api_key": key}


@router.get("/deployments/{name}", summary="One deployment")
def get_deployment(name: str, services: Services = Viewer) -> dict[str, Any]:
    return services.deployments.get(name).to_dict()


@router.patch("/deployments/{name}", summary="Change a deployment's model or traffic policy")
def set_traffic(name: str, body: Traffic, services: Services = Developer) -> dict[str, Any]:
    deployment = services.deployments.set_traffic(
        name, model=body.model, mode=body.mode, candidate=body.candidate, percent=body.percent
    )
    return deployment.to_dict()


@router.delete("/deployments/{name}", summary="Delete a deployment")
def delete_deployment(name: str, services: Services = Developer) -> dict[str, Any]:
    services.deployments.delete(name)
    return {"deleted": name}


@router.post("/deployments/{name}/check-key", summary="Whether an API key is the deployment's")
def check_key(name: str, body: ApiKey, services: Services = Viewer) -> dict[str, Any]:
    return {"valid": services.deployments.check_api_key(name, body.key)}


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
