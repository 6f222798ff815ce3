"""/api/v1/models/{name}/versions/{version}/card: the model card (until the contracts'
operations are declared; every other registry route comes from shipway.operations)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import PlainTextResponse

from shipway.api.auth import Viewer
from shipway.errors import InvalidInput
from shipway.registry import card as card_builder
from shipway.services import Services

router = APIRouter(tags=["models"])


@router.get("/models/{name}/versions/{version}/card", summary="The model card (json or md)")
def card(name: str, version: int, format: str = "json", services: Services = Viewer) -> Any:
    data = services.contracts.card(name, version)
    if format == "md":
        return PlainTextResponse(card_builder.markdown(data), media_type="text/markdown")
    if format != "json":
        raise InvalidInput(f"format {format!r} is not 'json' or 'md'")
    return data
