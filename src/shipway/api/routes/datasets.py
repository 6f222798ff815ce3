"""/api/v1/datasets: dataset versions, their manifests, diffs and run inputs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from shipway.api.auth import DataScientist, Viewer
from shipway.services import Services

router = APIRouter(tags=["datasets"])


class NewVersion(BaseModel):
    manifest_digest: str = Field(description="digest of the manifest blob, uploaded first")
    version: int | None = Field(
        None, ge=1, le=2**63 - 1, description="keep this number (push); default next"
    )
    message: str = ""
    source: str | None = None
    git_commit: str | None = None
    run_id: str | None = None
    profile: dict[str, Any] | None = None


class Input(BaseModel):
    dataset: str = Field(description="NAME@VERSION")
    context: str = "training"


@router.get("/datasets", summary="List datasets with their latest version")
def list_(services: Services = Viewer) -> dict[str, Any]:
    return {
        "datasets": [d.to_dict() for d in services.datasets.list_datasets()],
        "next_cursor": None,
    }


@router.get("/datasets/{name}/versions", summary="Every version of a dataset")
def versions(name: str, services: Services = Viewer) -> dict[str, Any]:
    found = services.datasets.versions(name)
    return {"versions": [v.to_dict() for v in found], "next_cursor": None}


@router.post("/datasets/{name}/versions", status_code=201, summary="Record a version")
def create(name: str, body: NewVersion, services: Services = DataScientist) -> dict[str, Any]:
    version, created = services.datasets.register(
        name,
        body.manifest_digest,
        version=body.version,
        message=body.message,
        source=body.source,
        git_commit=body.git_commit,
        run_id=body.run_id,
        profile=body.profile,
    )
    return {**version.to_dict(), "created": created}


@router.get("/datasets/{name}/versions/{version}", summary="One version (or 'latest')")
def get(name: str, version: str, services: Services = Viewer) -> dict[str, Any]:
    return services.datasets.get(f"{name}@{version}").to_dict()


@router.get("/datasets/{name}/versions/{version}/manifest", summary="The files of a version")
def manifest(name: str, version: str, services: Services = Viewer) -> dict[str, Any]:
    found = services.datasets.get(f"{name}@{version}")
    entries = services.datasets.manifest(found)
    return {"files": [e.to_dict() for e in entries], "next_cursor": None}


@router.get("/datasets/{name}/versions/{version}/runs", summary="Runs that used a version")
def used_by(name: str, version: str, services: Services = Viewer) -> dict[str, Any]:
    found = services.datasets.used_by(f"{name}@{version}")
    return {"inputs": [i.to_dict() for i in found], "next_cursor": None}


@router.get("/datasets-diff", summary="Compare two versions: files, schema, statistics")
def diff(a: str, b: str, services: Services = Viewer) -> dict[str, Any]:
    return services.datasets.diff(a, b)


@router.post("/runs/{run_id}/inputs", status_code=201, summary="Link a dataset version to a run")
def log_input(run_id: str, body: Input, services: Services = DataScientist) -> dict[str, Any]:
    return services.datasets.log_input(run_id, body.dataset, body.context).to_dict()


@router.get("/runs/{run_id}/inputs", summary="The dataset versions a run used")
def inputs(run_id: str, services: Services = Viewer) -> dict[str, Any]:
    return {"inputs": [i.to_dict() for i in services.datasets.inputs(run_id)], "next_cursor": None}
