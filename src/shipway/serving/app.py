"""The inference server's ASGI app: three protocols on one port.

- native: ``POST /v1/models/{name}/predict``, ``GET /v1/models``, ``/openapi.json``,
  ``/docs`` (:mod:`shipway.serving.protocols.native`);
- the Open Inference Protocol v2 under ``/v2`` (:mod:`shipway.serving.protocols.oip`);
- MLflow-style ``POST /invocations`` with ``/ping`` and ``/health``
  (:mod:`shipway.serving.protocols.mlflow`).

Plus what they share: ``/health/live``, ``/health/ready`` and ``/metrics`` (Prometheus);
the prediction path, request ids and the access log live in :mod:`shipway.serving.server`.

Errors use the platform's envelope ``{"error": {"code", "message", "details"}}``; the v2
routes are a sub-app with their own handlers, answering the protocol's
``{"error": "message"}``. Plain Starlette, not FastAPI: the request path is a handful of
function calls, and the OpenAPI document is generated from the models' signatures.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from shipway import errors
from shipway.http_status import status_for
from shipway.serving.protocols import mlflow, native, oip
from shipway.serving.runtime import Runtime
from shipway.serving.server import INTERNAL, Server, envelope, http_error, log


def create_app(runtime: Runtime) -> Starlette:
    """The ASGI app; models load (and warm up) during the lifespan start-up."""
    server = Server(runtime)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = Starlette(
        routes=_routes(server),
        lifespan=lifespan,
        exception_handlers={
            errors.ShipwayError: _shipway_error,
            HTTPException: _http_error,
            Exception: _server_error,
        },
    )
    app.state.runtime = runtime
    return app


def _routes(server: Server) -> list[BaseRoute]:
    async def metrics(request: Request) -> Response:
        body, content_type = server.metrics.exposition()
        return Response(body, 200, media_type=content_type)

    return [
        *native.routes(server),
        *oip.routes(server),
        *mlflow.routes(server),
        Route("/health/live", server.live, methods=["GET"]),
        Route("/health/ready", server.ready, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]


# errors outside the prediction path (which answers its own), in the platform's envelope


async def _shipway_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.ShipwayError)
    return envelope(status_for(exc), exc.code, exc.message, exc.details)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return envelope(*http_error(request, exc))


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)
    return envelope(500, "internal_error", INTERNAL)
