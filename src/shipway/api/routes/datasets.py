"""/api/v1/dataset-versions/{ref}/manifest: the files of a version (every other dataset
route comes from shipway.operations.datasets)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from shipway.api.auth import Viewer
from shipway.services import Services

router = APIRouter(tags=["datasets"])


@router.get("/dataset-versions/{ref}/manifest", summary="The files of a version")
def manifest(ref: str, services: Services = Viewer) -> dict[str, Any]:
    found = services.datasets.get(ref)
    entries = services.datasets.manifest(found)
    return {"files": [e.to_dict() for e in entries], "next_cursor": None}
