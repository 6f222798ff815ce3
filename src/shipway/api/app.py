"""The platform HTTP API: ``create_app(services)`` builds the FastAPI application."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI

from shipway import apidocs
from shipway._version import __version__
from shipway.api import errors
from shipway.api import mlflow as mlflow_face
from shipway.api.limits import BodyLimit
from shipway.api.operations import add_routes, document_hand_written, without_framework_422
from shipway.api.routes import (
    accounts,
    artifacts,
    blobs,
    datasets,
    metrics,
    models,
    monitoring,
)
from shipway.config import Settings
from shipway.operations import all_operations
from shipway.services import Services
from shipway.ui import pages

API_PREFIX = "/api/v1"


def create_app(services: Services | None = None, settings: Settings | None = None) -> FastAPI:
    services = services or Services.open(settings)
    app = FastAPI(
        docs_url=None,  # apidocs serves /docs from the package, not a CDN
        redoc_url=None,
        title="shipway platform API",
        version=__version__,
        description="Experiments, runs, metrics, artifacts, users and the audit trail. "
        'Errors are always `{"error": {"code", "message", "details"}}`.',
    )
    app.state.services = services
    app.router.routes.extend(apidocs.routes(app.openapi_url or "/openapi.json", app.title))
    errors.install(app)

    api = APIRouter(prefix=API_PREFIX)

    @api.get("/health", tags=["health"], summary="Liveness and version")
    def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "auth": services.settings.auth}

    routers = (
        metrics,
        artifacts,
        datasets,
        blobs,
        models,
        monitoring,
        accounts,
    )
    for module in routers:
        document_hand_written(module.router)
        api.include_router(module.router)
    document_hand_written(api)  # /health
    add_routes(api, all_operations())
    app.include_router(api)
    mlflow_face.install(app)  # the unmodified mlflow client's routes
    pages.install(app)  # the web workspace at /
    without_framework_422(app)
    mb = 1024 * 1024
    app.add_middleware(
        BodyLimit,
        json_limit=services.settings.max_request_mb * mb,
        artifact_limit=services.settings.max_artifact_mb * mb,
    )
    return app
