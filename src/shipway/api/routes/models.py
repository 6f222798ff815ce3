"""/api/v1/models/{name}/versions/{version}/card.md: the model card as Markdown (the
card as data is a declared operation, shipway.operations.contracts)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import PlainTextResponse

from shipway.api.auth import Viewer
from shipway.registry import card as card_builder
from shipway.services import Services

router = APIRouter(tags=["models"])


@router.get("/models/{name}/versions/{version}/card.md", summary="The model card as Markdown")
def card_markdown(name: str, version: int, services: Services = Viewer) -> PlainTextResponse:
    data = services.contracts.card(name, version)
    return PlainTextResponse(card_builder.markdown(data), media_type="text/markdown")
