"""The native API: ``POST /v1/models/{name}/predict`` (``/versions/{v}/predict`` pins a
version), ``GET /v1/models``, and the OpenAPI document typed by the models' signatures
(``/openapi.json``, shown by ``/docs``).

Body ``{"records": [row, …]}`` or ``{"columns": {name: [values…]}}``, with
``"probabilities": true`` for class probabilities. Errors are the platform's envelope
``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from shipway import apidocs, errors
from shipway.serving.codecs import Rows, parse_json
from shipway.serving.openapi import openapi_document
from shipway.serving.runtime import Endpoint, Slot
from shipway.serving.server import (
    Server,
    dumps,
    envelope,
    json_response,
    parse_version,
    plain,
)

_FIELDS = ("records", "columns", "probabilities")


class Native:
    """The native body in, ``{model, version, request_id, predictions[, probabilities,
    classes]}`` out."""

    name = "native"

    def decode(self, request: Request, slot: Slot, body: bytes) -> tuple[Rows, bool]:
        """The rows, and whether the caller asked for probabilities."""
        data = parse_json(body)
        if not isinstance(data, dict):
            raise errors.InvalidInput(
                "the body must be a JSON object with 'records' (a list of rows) or "
                "'columns' (name -> list of values)",
                details={"field": "body"},
            )
        _check_fields(data)
        if "records" in data:
            return slot.codec.from_records(data["records"]), data.get("probabilities", False)
        return slot.codec.from_columns(data["columns"]), data.get("probabilities", False)

    def wants_proba(self, parsed: bool) -> bool:
        return parsed

    def encode(
        self, slot: Slot, request_id: str, parsed: bool, predictions: Any, proba: Any
    ) -> Response:
        out: dict[str, Any] = {
            "model": slot.name,
            "version": slot.number,
            "request_id": request_id,
            "predictions": plain(predictions),
        }
        if proba is not None:
            out["probabilities"] = plain(proba)
            out["classes"] = slot.codec.classes
        return Response(dumps(out), 200, media_type="application/json")

    def error(self, status: int, code: str, message: str, details: Any) -> Response:
        return envelope(status, code, message, details)


def _check_fields(data: dict[str, Any]) -> None:
    unknown = [k for k in data if k not in _FIELDS]
    if unknown:
        raise errors.InvalidInput(
            f"unknown field{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(map(repr, unknown))}; "
            "the body takes 'records' or 'columns', and 'probabilities' (true/false)",
            details={"field": unknown[0]},
        )
    if not isinstance(data.get("probabilities", False), bool):
        raise errors.InvalidInput(
            "'probabilities' must be true or false", details={"field": "probabilities"}
        )
    if ("records" in data) == ("columns" in data):
        raise errors.InvalidInput(
            "give exactly one of 'records' (a list of rows) or 'columns' (name -> list of values)",
            details={"field": "records"},
        )


class _Handlers:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.runtime = server.runtime
        self.adapter = Native()

    async def predict(self, request: Request) -> Response:
        name = request.path_params["name"]
        version = parse_version(request.path_params.get("version"))
        return await self.server.predict(request, self.adapter, name, version)

    async def models(self, request: Request) -> Response:
        out = []
        for name in sorted(self.runtime.expected):
            endpoint = self.runtime.endpoints.get(name)
            out.append(
                {"name": name, "ready": False} if endpoint is None else _listing(name, endpoint)
            )
        return json_response({"models": out})

    async def openapi(self, request: Request) -> Response:
        return json_response(openapi_document(self.runtime))


def _listing(name: str, endpoint: Endpoint) -> dict[str, Any]:
    primary, candidate = endpoint.primary, endpoint.candidate
    signature = primary.model.signature
    return {
        "name": name,
        "ready": True,
        "model": primary.name,
        "version": primary.number,
        "mode": endpoint.target.mode,
        "candidate": None
        if candidate is None
        else {
            "model": candidate.name,
            "version": candidate.number,
            "percent": endpoint.target.percent,
        },
        "signature": None if signature is None else signature.to_dict(),
    }


def routes(server: Server) -> list[BaseRoute]:
    """The native routes; their errors take the app's handlers (the platform's envelope)."""
    handlers = _Handlers(server)
    return [
        Route("/v1/models", handlers.models, methods=["GET"]),
        Route("/v1/models/{name}/predict", handlers.predict, methods=["POST"]),
        Route("/v1/models/{name}/versions/{version}/predict", handlers.predict, methods=["POST"]),
        Route("/openapi.json", handlers.openapi, methods=["GET"]),
        *apidocs.routes("/openapi.json", "shipway inference server"),
    ]
