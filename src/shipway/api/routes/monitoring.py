"""/api/v1/feedback, /api/v1/monitoring and /api/v1/alerts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.responses import HTMLResponse

from shipway.api.auth import DataScientist, Viewer
from shipway.contracts.spec import duration
from shipway.errors import InvalidInput
from shipway.monitoring.report import to_html
from shipway.services import Services

router = APIRouter(tags=["monitoring"])


class Feedback(BaseModel):
    model: str
    items: list[dict[str, Any]] = Field(
        description="[{request_id, row (default 0), label}, …]; at most 100,000"
    )


class Ack(BaseModel):
    comment: str = ""


def _window(text: str) -> int:
    seconds = duration(text)
    if seconds is None:
        raise InvalidInput(f"window {text!r} is not a duration; write 30m, 24h or 7d")
    return int(seconds)


@router.post("/feedback", summary="Ground truth for logged predictions")
def feedback(body: Feedback, services: Services = DataScientist) -> Any:
    return services.monitoring.log_feedback(body.model, body.items)


@router.post("/monitoring/{name}/run", summary="Profile new predictions and evaluate the rules")
def run(name: str, services: Services = DataScientist) -> Any:
    return services.monitoring.run(name)


@router.get("/monitoring/{name}/report", summary="The monitoring report of a window (JSON)")
def report(name: str, window: str = "24h", services: Services = Viewer) -> Any:
    return services.monitoring.report(name, _window(window))


@router.get("/monitoring/{name}/report.html", summary="The monitoring report as an HTML page")
def report_html(name: str, window: str = "24h", services: Services = Viewer) -> HTMLResponse:
    return HTMLResponse(to_html(services.monitoring.report(name, _window(window))))


@router.get("/alerts", summary="Alerts, newest first")
def list_alerts(
    model: str | None = None,
    status: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    services: Services = Viewer,
) -> Any:
    return {"alerts": [a.to_dict() for a in services.monitoring.list_alerts(model, status, limit)]}


@router.get("/alerts/{alert_id}", summary="One alert with its evidence and actions")
def get_alert(alert_id: int, services: Services = Viewer) -> Any:
    return services.monitoring.get_alert(alert_id).to_dict()


@router.post("/alerts/{alert_id}/ack", summary="Acknowledge an alert")
def ack(alert_id: int, body: Ack, services: Services = DataScientist) -> Any:
    return services.monitoring.ack(alert_id, body.comment).to_dict()
