"""MLflow's scoring protocol: ``POST /invocations`` (``dataframe_split``,
``dataframe_records``, ``instances``, ``inputs`` as JSON, or ``text/csv``) answering
``{"predictions": [...]}``, and ``/ping`` and ``/health`` for readiness.

With several models served, ``?model=NAME`` chooses one. Errors are the platform's
envelope, as for the native API.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from shipway import errors
from shipway.serving.codecs import Rows
from shipway.serving.runtime import Slot
from shipway.serving.server import Server, dumps, envelope, plain


class Invocations:
    """An MLflow scoring body in, ``{"predictions": [...]}`` out; never probabilities."""

    name = "mlflow"

    def decode(self, request: Request, slot: Slot, body: bytes) -> tuple[Rows, None]:
        content_type = request.headers.get("content-type", "application/json")
        return slot.codec.from_invocations(body, content_type), None

    def wants_proba(self, parsed: None) -> bool:
        return False

    def encode(
        self, slot: Slot, request_id: str, parsed: None, predictions: Any, proba: Any
    ) -> Response:
        return Response(
            dumps({"predictions": plain(predictions)}), 200, media_type="application/json"
        )

    def error(self, status: int, code: str, message: str, details: Any) -> Response:
        return envelope(status, code, message, details)


def routes(server: Server) -> list[BaseRoute]:
    """The MLflow routes; their errors take the app's handlers (the platform's envelope)."""
    adapter = Invocations()

    async def invocations(request: Request) -> Response:
        name = request.query_params.get("model")
        if name is None:
            name = _only_model(server)
        return await server.predict(request, adapter, name, None)

    return [
        Route("/invocations", invocations, methods=["POST"]),
        Route("/ping", server.ready, methods=["GET"]),
        Route("/health", server.ready, methods=["GET"]),
    ]


def _only_model(server: Server) -> str:
    served = sorted(server.runtime.expected)
    if len(served) != 1:
        raise errors.InvalidInput(
            f"this server serves several models ({', '.join(served)}); choose one with ?model=NAME",
            details={"field": "model", "served": served},
        )
    return served[0]
