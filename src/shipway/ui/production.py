"""Production: the deployments (what each serves, its traffic policy and who changed it)
and, per deployment, its model's monitoring over a window (volume, latency and the live
metric per bucket, drift per feature, alerts to acknowledge, the production alias's
history), with the forms that change traffic and acknowledge alerts."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from shipway import errors
from shipway.records import ModelVersion
from shipway.services import Services
from shipway.ui.web import Form, action, field, keyset_page, local_path, page, render

router = APIRouter(include_in_schema=False)
WINDOWS = ("1h", "24h", "7d", "30d")


def _path(name: str) -> str:
    return f"/deployments/{quote(name, safe='')}"


def _resolve(services: Services, uri: str | None) -> ModelVersion | None:
    if not uri:
        return None
    try:
        return services.registry.resolve(uri)
    except errors.ShipwayError:
        return None  # an alias that no longer exists: shown as the URI alone


@router.get("/deployments", response_class=HTMLResponse)
@page("viewer")
def deployments_page(
    request: Request, services: Services, after: str | None = None
) -> HTMLResponse:
    """The deployments by name, 100 a page (``after``: the last name of the page before):
    what each serves (the version its URI names now) and its policy."""
    found, next_after = keyset_page(services.deployments.list(), lambda d: d.name, after)
    serving = {d.name: _resolve(services, d.model) for d in found}
    candidates = {d.name: _resolve(services, d.candidate) for d in found}
    return render(
        "deployments.html",
        request=request,
        deployments=found,
        serving=serving,
        candidates=candidates,
        path=_path,
        next_after=next_after,
    )


@router.get("/deployments/{name}", response_class=HTMLResponse)
@page("viewer")
def deployment_page(
    request: Request, services: Services, name: str, window: str = "24h"
) -> HTMLResponse:
    """One deployment: its traffic policy and every change to it; its model's monitoring
    over ``window`` (1h, 24h, 7d, 30d) when the model has a contract; open alerts with
    acknowledge; the production alias's recent moves."""
    deployment = services.deployments.get(name)  # a 404 page when unknown
    served = _resolve(services, deployment.model)
    model = served.name if served else deployment.model.removeprefix("models:/").split("@")[0]
    report, problem = None, None
    if window not in WINDOWS:
        window = "24h"
    try:
        report = services.monitoring.report(model, window)
    except (errors.NotFound, errors.InvalidInput) as exc:
        problem = exc.message  # no contract (nothing to monitor against), no such model
    chart = _chart(report) if report else None
    return render(
        "deployment.html",
        request=request,
        deployment=deployment,
        served=served,
        candidate=_resolve(services, deployment.candidate),
        trail=sorted(services.deployments.history(name), key=lambda e: -e.id),
        model=model,
        report=report,
        problem=problem,
        chart=chart,
        window=window,
        windows=WINDOWS,
        path=_path(name),
        now=int(time.time() * 1000),
    )


def _chart(report: dict[str, Any]) -> dict[str, Any]:
    """The report's per-bucket series as chart data: x in seconds, one series per figure."""
    points = report.get("series") or []
    x = [p["time"] / 1000 for p in points]
    keys = [k for k in (points[0] if points else {}) if k != "time"]
    return {"x": x, "series": [{"label": k, "y": [p.get(k) for p in points]} for k in keys]}


@router.post("/deployments/{name}/traffic")
@action("deployments.set_traffic")
def set_traffic(request: Request, services: Services, form: Form, name: str) -> str:
    """Change a deployment's traffic policy: single, canary (a share to a candidate) or
    shadow (a share mirrored to a candidate)."""
    mode = field(form, "mode")
    candidate = field(form, "candidate", required=False) or None
    share = field(form, "percent", required=False)
    try:
        percent = float(share) if share else None
    except ValueError:
        raise errors.InvalidInput(
            f"'percent' must be a number from 0 to 100, got {share!r}"
        ) from None
    if mode == "single":
        candidate, percent = None, None
    services.deployments.set_traffic(name, mode=mode, candidate=candidate, percent=percent)
    return _path(name)


@router.post("/alerts/{alert_id}/ack")
@action("monitoring.ack")
def ack(request: Request, services: Services, form: Form, alert_id: int) -> str:
    """Acknowledge an alert, with a comment."""
    services.monitoring.ack(alert_id, field(form, "comment", required=False))
    return local_path(field(form, "back", required=False))
