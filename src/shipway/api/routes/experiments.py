"""/api/v1/experiments"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from shipway.api.auth import DataScientist, Viewer
from shipway.services import Services

router = APIRouter(prefix="/experiments", tags=["experiments"])


class NewExperiment(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    description: str = ""


@router.post("", status_code=201, summary="Create an experiment")
def create(body: NewExperiment, services: Services = DataScientist) -> dict[str, Any]:
    return services.tracking.create_experiment(body.name, body.description).to_dict()


@router.get("", summary="List experiments (cursor-paginated)")
def list_(
    limit: int = 100, cursor: str | None = None, services: Services = Viewer
) -> dict[str, Any]:
    page = services.tracking.list_experiments(limit, cursor)
    return {"experiments": [e.to_dict() for e in page], "next_cursor": page.next_cursor}


@router.get("/{ref}", summary="Get an experiment by id or name")
def get(ref: str, services: Services = Viewer) -> dict[str, Any]:
    return services.tracking.get_experiment(ref).to_dict()
