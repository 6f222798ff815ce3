"""/api/v1/runs: runs, their params, tags and search."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from shipway.api.auth import DataScientist, Viewer
from shipway.records import GitInfo
from shipway.services import Services

router = APIRouter(prefix="/runs", tags=["runs"])


class GitBody(BaseModel):
    commit: str | None = None
    branch: str | None = None
    remote: str | None = None
    dirty: bool | None = None


class NewRun(BaseModel):
    experiment: str | None = Field(None, description="experiment name; created if missing")
    name: str | None = None
    description: str = ""
    tags: dict[str, str] = {}
    parent_id: str | None = None
    git: GitBody | None = None
    source: str | None = None


class RunUpdate(BaseModel):
    status: Literal["running", "finished", "failed", "killed"] | None = None
    error: str | None = None
    name: str | None = None
    description: str | None = None


class Search(BaseModel):
    experiment: str | list[str] | None = None
    filter: str | None = None
    order_by: list[str] = []
    limit: int = Field(100, ge=1, le=1000)
    cursor: str | None = None
    include_deleted: bool = False


class Params(BaseModel):
    params: dict[str, Any]


class Tags(BaseModel):
    tags: dict[str, Any]


@router.post("", status_code=201, summary="Start a run")
def create(body: NewRun, services: Services = DataScientist) -> dict[str, Any]:
    git = GitInfo(**body.git.model_dump()) if body.git else None
    run = services.tracking.create_run(
        body.experiment,
        name=body.name,
        description=body.description,
        tags=body.tags,
        parent_id=body.parent_id,
        git=git,
        source=body.source,
    )
    return run.to_dict()


@router.post("/search", summary="Search runs with a filter, order and cursor")
def search(body: Search, services: Services = Viewer) -> dict[str, Any]:
    return _search(services, body)


@router.get("", summary="List or search runs (query-string form of /runs/search)")
def list_(
    experiment: list[str] | None = Query(None),
    filter: str | None = None,
    order_by: list[str] = Query([]),
    limit: int = Query(100, ge=1, le=1000),
    cursor: str | None = None,
    include_deleted: bool = False,
    services: Services = Viewer,
) -> dict[str, Any]:
    body = Search(
        experiment=experiment,
        filter=filter,
        order_by=order_by,
        limit=limit,
        cursor=cursor,
        include_deleted=include_deleted,
    )
    return _search(services, body)


def _search(services: Services, body: Search) -> dict[str, Any]:
    page = services.tracking.search_runs(
        body.experiment,
        filter=body.filter,
        order_by=body.order_by,
        limit=body.limit,
        cursor=body.cursor,
        include_deleted=body.include_deleted,
    )
    return {"runs": [r.to_dict() for r in page], "next_cursor": page.next_cursor}


@router.get("/{run_id}", summary="Get a run with its params, latest metrics and tags")
def get(run_id: str, services: Services = Viewer) -> dict[str, Any]:
    return services.tracking.get_run(run_id).to_dict()


@router.patch("/{run_id}", summary="End a run, or change its name or description")
def update(run_id: str, body: RunUpdate, services: Services = DataScientist) -> dict[str, Any]:
    run = services.tracking.update_run(
        run_id, status=body.status, error=body.error, name=body.name, description=body.description
    )
    return run.to_dict()


@router.delete("/{run_id}", summary="Delete a run (it can be restored)")
def delete(run_id: str, services: Services = DataScientist) -> dict[str, Any]:
    return services.tracking.delete_run(run_id).to_dict()


@router.post("/{run_id}/restore", summary="Restore a deleted run")
def restore(run_id: str, services: Services = DataScientist) -> dict[str, Any]:
    return services.tracking.delete_run(run_id, restore=True).to_dict()


@router.post("/{run_id}/params", summary="Log params (immutable once logged)")
def log_params(run_id: str, body: Params, services: Services = DataScientist) -> dict[str, Any]:
    services.tracking.log_params(run_id, body.params)
    return {"logged": len(body.params)}


@router.post("/{run_id}/tags", summary="Set tags (overwrites)")
def set_tags(run_id: str, body: Tags, services: Services = DataScientist) -> dict[str, Any]:
    services.tracking.set_tags(run_id, body.tags)
    return {"set": len(body.tags)}


@router.delete("/{run_id}/tags/{key:path}", summary="Delete a tag")
def delete_tag(run_id: str, key: str, services: Services = DataScientist) -> dict[str, Any]:
    services.tracking.delete_tag(run_id, key)
    return {"deleted": key}
