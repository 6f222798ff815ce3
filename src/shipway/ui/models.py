"""The model pages and the forms that decide on models: the models list, a model (its
versions and the alias timeline, with rollback and alias moves), a version (its card,
gate reports, sign-offs, reviews and promotion), each form one declared operation."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from shipway import errors
from shipway.records import ContractVersion
from shipway.registry.service import PROTECTED_ALIASES
from shipway.services import Services
from shipway.ui import timeline
from shipway.ui.web import Form, action, field, number, page, render

router = APIRouter(include_in_schema=False)


def _model_path(name: str, version: int | None = None) -> str:
    from urllib.parse import quote

    path = f"/models/{quote(name, safe='')}"
    return path if version is None else f"{path}/versions/{version}"


def _contract(services: Services, name: str) -> ContractVersion | None:
    try:
        return services.contracts.get(name)
    except errors.NotFound:
        return None


@router.get("/models", response_class=HTMLResponse)
@page("viewer")
def models_page(request: Request, services: Services) -> HTMLResponse:
    """Every registered model with its latest version and aliases."""
    return render("models.html", request=request, models=services.registry.list_models())


@router.get("/models/{name}", response_class=HTMLResponse)
@page("viewer")
def model_page(request: Request, services: Services, name: str) -> HTMLResponse:
    """One model: its versions (newest first) with their aliases and latest gate result,
    the alias timeline (a lane per alias) and every alias move with who, when and why."""
    model = services.registry.get_model(name)  # a 404 page when unknown
    versions = sorted(services.registry.list_versions(name), key=lambda v: -v.version)
    events = services.registry.history(name)
    contract = _contract(services, name)
    promotions = services.contracts.promotions(name) if contract else []
    gates: dict[int, str] = {}
    if contract:
        for report in services.contracts.reports(name):  # oldest first: the last one wins
            gates[report.version] = report.status
    lanes, start, end = timeline.lanes(events, promotions, int(time.time() * 1000))
    return render(
        "model.html",
        request=request,
        model=model,
        versions=versions,
        moves=sorted(events, key=lambda e: -e.time),
        lanes=lanes,
        span=(start, end),
        width=timeline.WIDTH,
        contract=contract,
        gates=gates,
        may_move=services.registry.may_move,
        path=_model_path(name),
        version_path=lambda v: _model_path(name, v),
    )


@router.get("/models/{name}/versions/{version}", response_class=HTMLResponse)
@page("viewer")
def version_page(request: Request, services: Services, name: str, version: int) -> HTMLResponse:
    """One version: its card (description, owners, signature, training metrics, lineage,
    environment), gate reports check by check, sign-offs, reviews, and whether it may
    take ``production``, with the forms the visitor's role and the contract allow."""
    found = services.registry.get_version(name, version)  # a 404 page when unknown
    card = services.contracts.card(name, version)
    contract = _contract(services, name)
    owners: dict[str, list[str]] = dict(contract.spec.get("owners") or {}) if contract else {}
    mine = [role for role, people in owners.items() if services.actor in people]
    reports = sorted(services.contracts.reports(name, version), key=lambda r: -r.id)
    return render(
        "version.html",
        request=request,
        version=found,
        card=card,
        governance=card["governance"],
        contract=contract,
        owners=owners,
        my_roles=mine,
        reports=reports,
        approvals=services.contracts.approvals(name, version) if contract else [],
        model_path=_model_path(name),
        path=_model_path(name, version),
        may_move=services.registry.may_move,
    )


# the forms ------------------------------------------------------------------------------


@router.post("/models/{name}/versions/{version}/promote")
@action("contracts.promote")
def promote(request: Request, services: Services, form: Form, name: str, version: int) -> str:
    """Promote a version (production by default) if the contract allows it; a refusal is
    an error page listing every missing item."""
    alias = field(form, "alias", required=False) or "production"
    services.contracts.promote(name, version, alias, reason=field(form, "reason", required=False))
    return _model_path(name, version)


@router.post("/models/{name}/versions/{version}/decide")
@action("contracts.decide")
def decide(request: Request, services: Services, form: Form, name: str, version: int) -> str:
    """Sign off on or reject a version under a contract role (its named owners only)."""
    services.contracts.decide(
        name,
        version,
        field(form, "role"),
        field(form, "decision"),
        field(form, "comment", required=False),
    )
    return _model_path(name, version) + "#signoffs"


@router.post("/models/{name}/versions/{version}/review")
@action("contracts.review")
def review(request: Request, services: Services, form: Form, name: str, version: int) -> str:
    """Leave a rating and/or a comment on a version."""
    rating = field(form, "rating", required=False)
    services.contracts.review(
        name,
        version,
        int(rating) if rating.isdigit() else None,
        field(form, "comment", required=False),
    )
    return _model_path(name, version) + "#reviews"


@router.post("/models/{name}/aliases/{alias}/rollback")
@action("registry.rollback")
def rollback(request: Request, services: Services, form: Form, name: str, alias: str) -> str:
    """Move an alias back to the version it held before its last move."""
    services.registry.rollback(name, alias, field(form, "reason", required=False))
    return _model_path(name) + "#timeline"


@router.post("/models/{name}/aliases")
@action("registry.set_alias")
def move_alias(request: Request, services: Services, form: Form, name: str) -> str:
    """Point an alias at a version. Once a model has a contract, ``production`` moves
    only by promotion (the policy decides)."""
    alias = field(form, "alias")
    version = number(form, "version")
    reason = field(form, "reason", required=False)
    if alias in PROTECTED_ALIASES and _contract(services, name) is not None:
        services.contracts.promote(name, version, alias, reason=reason)
    else:
        services.registry.set_alias(name, version, alias, reason)
    return _model_path(name) + "#timeline"
