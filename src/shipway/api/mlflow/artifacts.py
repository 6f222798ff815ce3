"""MLflow's artifact proxy (``mlflow-artifacts:/…`` URIs) over shipway's run artifacts.

MLflow names a run's files ``<experiment>/<run>/artifacts/<path>`` and a logged model's
``<experiment>/models/<model>/artifacts/<path>``. Both are a run's artifacts here (a
logged model's files are under its folder in its run), stored content-addressed, streamed
in and out and never held whole in memory.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from shipway import errors
from shipway.api.mlflow import models
from shipway.api.mlflow.common import (
    INVALID,
    MlflowError,
    Routes,
    answer,
    caller,
    error,
    mlflow_experiment_id,
    need,
    read_fields,
    route,
)
from shipway.api.routes.artifacts import store_upload
from shipway.records import Artifact
from shipway.services import Services
from shipway.tracking.validation import artifact_path

PREFIXES = ("/api/2.0/mlflow-artifacts", "/ajax-api/2.0/mlflow-artifacts")


def locate(services: Services, uri_path: str) -> tuple[str, str]:
    """``<eid>/<run>/artifacts/<path>`` or ``<eid>/models/<id>/artifacts/<path>`` ->
    (run id, path inside the run; "" for its root)."""
    parts = [p for p in uri_path.strip("/").split("/") if p]
    if len(parts) >= 4 and parts[1] == "models" and parts[3] == "artifacts":
        model = services.logged_models.get(parts[2])
        rest = "/".join(parts[4:])
        return model.run_id, f"{model.artifact_path}/{rest}" if rest else model.artifact_path
    if len(parts) >= 3 and parts[2] == "artifacts":
        rest = "/".join(parts[3:])
        return parts[1], artifact_path(rest) if rest else ""
    raise MlflowError(
        INVALID,
        f"artifact path {uri_path!r} is not under a run or a logged model; shipway keeps "
        "artifacts as <experiment>/<run>/artifacts/<path> (a run's artifact_uri) or "
        "<experiment>/models/<model>/artifacts/<path>",
    )


def children(artifacts: list[Artifact], folder: str) -> list[dict[str, Any]]:
    """The files and folders directly inside ``folder`` (MLflow's listing: names relative
    to it, sizes of files)."""
    seen: dict[str, dict[str, Any]] = {}
    base = f"{folder}/" if folder else ""
    for item in artifacts:
        if not item.path.startswith(base) or item.path == folder:
            continue
        head, sep, _ = item.path[len(base) :].partition("/")
        if sep:
            seen.setdefault(head, {"path": head, "is_dir": True})
        else:
            seen[head] = {"path": head, "is_dir": False, "file_size": item.size}
    return [seen[name] for name in sorted(seen)]


@route("viewer")
def list_proxy(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    run_id, folder = locate(services, str(fields.get("path") or ""))
    return {"files": children(services.artifacts.list(run_id, folder or None), folder)}


@route("viewer")
def list_run(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    """GET /api/2.0/mlflow/artifacts/list: a run's files, with paths from its root."""
    run_id = str(fields.get("run_id") or fields.get("run_uuid") or need(fields, "run_id"))
    folder = artifact_path(str(fields["path"])) if fields.get("path") else ""
    run = services.tracking.get_run(run_id)
    found = children(services.artifacts.list(run_id, folder or None), folder)
    for item in found:
        item["path"] = f"{folder}/{item['path']}" if folder else item["path"]
    eid = mlflow_experiment_id(run.experiment, run.experiment_id)
    return {"root_uri": f"mlflow-artifacts:/{eid}/{run_id}/artifacts", "files": found}


@route("viewer")
def list_model(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    model = services.logged_models.get(str(fields["model_id"]))
    sub = str(fields.get("artifact_directory_path") or "")
    folder = f"{model.artifact_path}/{artifact_path(sub)}" if sub else model.artifact_path
    found = children(services.artifacts.list(model.run_id, folder), folder)
    for item in found:
        item["path"] = f"{sub}/{item['path']}" if sub else item["path"]
    return {"root_uri": models.artifact_uri(services, model), "files": found}


async def download(request: Request) -> Response:
    try:
        fields = await read_fields(request)
        services = caller(request, fields, "viewer")
        run_id, path = locate(services, str(fields["artifact_path"]))
        artifact, chunks = await run_in_threadpool(services.artifacts.open, run_id, path)
    except (MlflowError, errors.ShipwayError) as exc:
        return error(exc)
    return StreamingResponse(
        chunks,
        media_type="application/octet-stream",
        headers={"Content-Length": str(artifact.size), "X-Shipway-Digest": artifact.digest},
    )


async def upload(request: Request) -> Response:
    try:
        services = caller(request, {}, "data-scientist")
        run_id, path = locate(services, str(request.path_params["artifact_path"]))
        if not path:
            raise MlflowError(INVALID, "name the file to upload under the run's artifacts")
        await store_upload(services, request, run_id, path)
    except (MlflowError, errors.ShipwayError) as exc:
        return error(exc)
    return answer({})


async def delete(request: Request) -> Response:
    return error(
        MlflowError(
            "NOT_IMPLEMENTED",
            "shipway keeps every artifact a run logged (models are registered from them); "
            "delete the run instead (mlflow.delete_run)",
            501,
        )
    )


def install(app: FastAPI) -> None:
    for prefix in PREFIXES:
        routes = Routes(app, prefix)
        routes.add("GET", "/artifacts", list_proxy)
        routes.add("GET", "/artifacts/{artifact_path:path}", download)
        routes.add("PUT", "/artifacts/{artifact_path:path}", upload)
        routes.add("DELETE", "/artifacts/{artifact_path:path}", delete)


def add(routes: Routes) -> None:
    """The run and logged-model listings under /api/2.0/mlflow."""
    routes.add("GET", "/artifacts/list", list_run)
    routes.add("GET", "/logged-models/{model_id}/artifacts/directories", list_model)
