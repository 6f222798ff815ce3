"""/api/v1/me: who the caller is (every other accounts route comes from
shipway.operations.accounts)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from shipway.api.auth import Viewer
from shipway.services import Services

router = APIRouter(tags=["accounts"])


@router.get("/me", summary="The calling user and role")
def me(request: Request, services: Services = Viewer) -> dict[str, Any]:
    return {"name": request.state.user, "role": request.state.role, "auth": services.settings.auth}
