"""/api/v1/monitoring/{name}/report.html: the monitoring report as a page (every other
monitoring route comes from shipway.operations.monitoring)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import HTMLResponse

from shipway.api.auth import Viewer
from shipway.monitoring.report import to_html
from shipway.services import Services

router = APIRouter(tags=["monitoring"])


@router.get("/monitoring/{name}/report.html", summary="The monitoring report as an HTML page")
def report_html(name: str, window: str = "24h", services: Services = Viewer) -> HTMLResponse:
    return HTMLResponse(to_html(services.monitoring.report(name, window)))
