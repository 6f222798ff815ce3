"""The model pages and the forms that decide on models: the models list, a model (its
versions and the alias timeline, with rollback and alias moves), a version (its card,
gate reports, sign-offs, reviews and promotion), each form one declared operation."""

from __future__ import annotations

import time
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from shipway import errors
from shipway.records import ContractVersion
from shipway.registry.service import PROTECTED_ALIASES
from shipway.services import Services
from shipway.ui import graph, timeline
from shipway.ui.web import Form, action, field, keyset_page, number, page, render

router = APIRouter(include_in_schema=False)


def _model_path(name: str, version: int | None = None) -> str:
    path = f"/models/{quote(name, safe='')}"
    return path if version is None else f"{path}/versions/{version}"


def _contract(services: Services, name: str) -> ContractVersion | None:
    try:
        return services.contracts.get(name)
    except errors.NotFound:
        return None


@router.get("/models", response_class=HTMLResponse)
@page("viewer")
def models_page(request: Request, services: Services, after: str | None = None) -> HTMLResponse:
    """The registered models by name, 100 a page (``after``: the last name of the page
    before), each with its latest version and aliases."""
    shown, last = keyset_page(services.registry.list_models(), lambda m: m.name, after)
    return render("models.html", request=request, models=shown, next_after=last)


@router.get("/models/{name}", response_class=HTMLResponse)
@page("viewer")
def model_page(
    request: Request,
    services: Services,
    name: str,
    before: int | None = None,
    moves_before: int | None = None,
) -> HTMLResponse:
    """One model: its versions (newest first, 100 a page: ``before`` a version number)
    with their aliases and latest gate result, the alias timeline (a lane per alias) and
    its alias moves with who, when and why (newest first, 100 a page: ``moves_before`` a
    move's sequence number)."""
    model = services.registry.get_model(name)  # a 404 page when unknown
    versions = sorted(services.registry.list_versions(name), key=lambda v: -v.version)
    shown, next_before = keyset_page(
        versions, lambda v: -v.version, None if before is None else -before
    )
    events = services.registry.history(name)  # oldest first: a move's index is its number
    numbered = list(enumerate(events, start=1))
    moves, next_moves = keyset_page(
        numbered, lambda pair: -pair[0], None if moves_before is None else -moves_before
    )
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
        shown_versions=shown,
        older_versions=None if next_before is None else -next_before,
        moves=[e for _, e in moves],
        older_moves=None if next_moves is None else -next_moves,
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


@router.get("/models/{name}/contract", response_class=HTMLResponse)
@page("viewer")
def contract_page(
    request: Request,
    services: Services,
    name: str,
    version: int | None = None,
    a: int | None = None,
    b: int | None = None,
) -> HTMLResponse:
    """A model's contract (the current one unless ``version`` is given): what it asks for,
    its text, every version with who wrote it and why, and a diff between two versions
    (``a`` → ``b``; by default the one before and the one shown)."""
    services.registry.get_model(name)  # a 404 page for an unknown model
    shown = services.contracts.get(name, version)  # a 404 page when it has none
    history = sorted(services.contracts.history(name), key=lambda c: -c.version)
    diff = None
    if len(history) > 1:
        new = b if b is not None else shown.version
        old = a if a is not None else (new - 1 if new > 1 else None)
        if old is not None:
            diff = services.contracts.diff(name, old, new)
    return render(
        "contract.html",
        request=request,
        name=name,
        contract=shown,
        spec=shown.spec,
        history=history,
        diff=diff,
        model_path=_model_path(name),
    )


MAX_LINEAGE = 30  # newest versions drawn in a lineage graph


@router.get("/models/{name}/lineage", response_class=HTMLResponse)
@page("viewer")
def lineage_page(request: Request, services: Services, name: str) -> HTMLResponse:
    """Where a model's versions come from and where they went: the dataset versions each
    training run read, the runs, the versions, the deployments serving them and the
    alerts they raised, as a layered graph laid out on the server."""
    services.registry.get_model(name)  # a 404 page when unknown
    versions = sorted(services.registry.list_versions(name), key=lambda v: -v.version)
    nodes: list[graph.Node] = []
    edges: list[tuple[str, str, str]] = []
    for v in versions[:MAX_LINEAGE]:
        vid = f"version:{v.version}"
        aliases = f" ({', '.join(sorted(v.aliases))})" if v.aliases else ""
        nodes.append(
            graph.Node(vid, 2, f"v{v.version}{aliases}", _model_path(name, v.version), "version")
        )
        found = services.registry.lineage(name, v.version)
        run = found["run"]
        rid = f"run:{run['id']}"
        nodes.append(graph.Node(rid, 1, run["name"] or run["id"][:8], f"/runs/{run['id']}", "run"))
        edges.append((rid, vid, "registered"))
        for item in found["inputs"]:
            ref = item["dataset"]
            dataset, _, number = ref.partition("@")
            did = f"dataset:{ref}"
            href = f"/datasets/{quote(dataset, safe='')}?version={number}"
            nodes.append(graph.Node(did, 0, ref, href, "dataset", item["context"]))
            edges.append((did, rid, item["context"]))
    for d in services.deployments.list():
        for role, uri in (("serves", d.model), ("candidate", d.candidate)):
            if not uri:
                continue
            try:
                served = services.registry.resolve(uri)
            except errors.ShipwayError:
                continue  # another model's, or an alias that no longer exists
            if served.name == name:
                did = f"deployment:{d.name}"
                mode = d.mode if d.mode == "single" else f"{d.mode} {d.percent:g}%"
                nodes.append(graph.Node(did, 3, f"{d.name} ({mode})", None, "deployment"))
                edges.append((f"version:{served.version}", did, role))
    for alert in services.monitoring.list_alerts(model=name, limit=50):
        if alert.version is None:
            continue
        aid = f"alert:{alert.id}"
        label = f"{alert.rule} ({alert.status})"
        nodes.append(graph.Node(aid, 4, label, None, f"alert {alert.severity}", alert.message))
        edges.append((f"version:{alert.version}", aid, alert.severity))
    drawn = graph.layout(nodes, edges)
    return render(
        "lineage.html",
        request=request,
        name=name,
        graph=drawn,
        node_w=graph.NODE_W,
        node_h=graph.NODE_H,
        model_path=_model_path(name),
        more=max(0, len(versions) - MAX_LINEAGE),
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
    services.contracts.review(
        name,
        version,
        number(form, "rating", required=False),  # a bad one: a 400 page, never dropped
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
    assert version is not None  # required
    reason = field(form, "reason", required=False)
    if alias in PROTECTED_ALIASES and _contract(services, name) is not None:
        services.contracts.promote(name, version, alias, reason=reason)
    else:
        services.registry.set_alias(name, version, alias, reason)
    return _model_path(name) + "#timeline"
