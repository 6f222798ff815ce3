"""The MLflow REST face: the unmodified ``mlflow`` client pointed at ``shipway server``
(``MLFLOW_TRACKING_URI=http://host:5050``) logs into shipway's own store.

MLflow's names map onto shipway's records one to one: an MLflow experiment is a shipway
experiment (the Default experiment answers to MLflow's id ``"0"``), a run a run, a logged
model a model package in its run's artifacts, a registered model a registered model, an
alias an alias. Every route calls the same services the platform API does, as the caller
(with auth on, the token the client sends as ``MLFLOW_TRACKING_TOKEN``, or as the
password of ``MLFLOW_TRACKING_USERNAME``; with auth off, the ``user_id`` it names).

Errors answer in MLflow's shape, ``{"error_code": "RESOURCE_DOES_NOT_EXIST", "message"}``,
because the client decides on the code (a missing experiment is created, for one).

- :mod:`.tracking`: experiments and runs, dataset inputs, model outputs;
- :mod:`.models`: MLflow 3's logged models;
- :mod:`.registry`: registered models, versions, stages and aliases;
- :mod:`.artifacts`: the ``mlflow-artifacts`` proxy and artifact listings.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response

from shipway._version import __version__
from shipway.api.mlflow import artifacts, models, registry, tracking
from shipway.api.mlflow.common import MlflowError, Routes, answer, error

PREFIXES = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow")
ANY = ["GET", "POST", "PUT", "PATCH", "DELETE"]


async def server_info(request: Request) -> Response:
    """What MLflow's client asks a server before it uploads artifacts."""
    return answer(
        {
            "store_type": "SqlStore",
            "artifact_serving_enabled": True,
            "workspaces_enabled": False,
            "trace_archival_enabled": False,
            "multipart_uploads_enabled": False,
            "multipart_downloads_enabled": False,
            "artifacts_presigned_only": False,
        }
    )


async def health(request: Request) -> Response:
    return PlainTextResponse("OK")


async def version(request: Request) -> Response:
    return PlainTextResponse(__version__)


async def unknown(request: Request) -> Response:
    """A route MLflow has and shipway does not: traces and the GenAI features answer 501,
    anything else 404 ENDPOINT_NOT_FOUND, both in MLflow's shape."""
    path = request.url.path
    if any(f"/mlflow/{part}" in path for part in ("traces", "scorers", "prompts", "gateway")):
        return error(
            MlflowError(
                "NOT_IMPLEMENTED",
                f"{request.method} {path}: shipway does not offer MLflow's tracing and GenAI "
                "features; see docs/mlflow.md for what it serves",
                501,
            )
        )
    return error(
        MlflowError(
            "ENDPOINT_NOT_FOUND", f"{request.method} {path} is not an MLflow route shipway has", 404
        )
    )


def install(app: FastAPI) -> None:
    """Serve the MLflow routes under /api/2.0/mlflow (and /ajax-api/2.0/mlflow, which
    MLflow's own UI uses), the artifact proxy, /health, /version and server-info."""
    for prefix in PREFIXES:
        routes = Routes(app, prefix)
        tracking.add(routes)
        models.add(routes)
        registry.add(routes)
        artifacts.add(routes)
    artifacts.install(app)
    app.add_api_route("/api/3.0/mlflow/server-info", server_info, include_in_schema=False)
    app.add_api_route("/health", health, include_in_schema=False)
    app.add_api_route("/version", version, include_in_schema=False)
    for prefix in (*PREFIXES, "/api/3.0/mlflow", "/ajax-api/3.0/mlflow"):
        app.add_api_route(f"{prefix}/{{rest:path}}", unknown, methods=ANY, include_in_schema=False)


__all__ = ["install"]
