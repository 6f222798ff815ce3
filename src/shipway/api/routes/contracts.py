"""/api/v1/models/{name}/contract, gate reports, approvals, reviews and promotion."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from shipway.api.auth import DataScientist, Viewer
from shipway.contracts.service import UNSET
from shipway.errors import PermissionDenied
from shipway.services import Services

router = APIRouter(tags=["contracts"])
VersionNumber = Field(ge=1, le=2**63 - 1)


class ContractText(BaseModel):
    text: str = Field(description="the contract as YAML (the content of contract.yaml)")
    message: str = ""


class GateRun(BaseModel):
    contract_version: int | None = Field(None, ge=1, description="default: the current one")


class Decision(BaseModel):
    role: str = Field(description="a role of the contract's owners, e.g. engineering")
    decision: str = Field("approve", description="approve or reject")
    comment: str = ""


class NewReview(BaseModel):
    rating: int | None = Field(None, description="1 to 5")
    comment: str = ""


class Promote(BaseModel):
    alias: str = "production"
    force: bool = Field(False, description="admins only; needs a reason")
    reason: str = ""
    check_current: bool = Field(
        False, description="refuse unless the alias still holds expect_current"
    )
    expect_current: int | None = None


def may_move(request: Request, services: Services, alias: str) -> None:
    if not services.registry.may_move(alias):
        raise PermissionDenied(
            f"moving the {alias!r} alias needs the developer or admin role; "
            f"user {request.state.user!r} is {request.state.role!r}"
        )


@router.put("/models/{name}/contract", summary="Store a new contract version")
def set_contract(name: str, body: ContractText, services: Services = DataScientist) -> Any:
    contract, created = services.contracts.set(name, body.text, message=body.message)
    return {**contract.to_dict(), "created": created}


@router.get("/models/{name}/contract", summary="The current (or a given) contract version")
def get_contract(name: str, version: int | None = None, services: Services = Viewer) -> Any:
    return services.contracts.get(name, version).to_dict()


@router.get("/models/{name}/contract/versions", summary="Every contract version")
def contract_versions(name: str, services: Services = Viewer) -> Any:
    return {"versions": [c.to_dict() for c in services.contracts.history(name)]}


@router.get("/models/{name}/contract/diff", summary="What changed between two contract versions")
def contract_diff(
    name: str,
    a: int | None = Query(None, alias="from", ge=1, le=2**63 - 1),
    b: int | None = Query(None, alias="to", ge=1, le=2**63 - 1),
    services: Services = Viewer,
) -> Any:
    return services.contracts.diff(name, a, b)


@router.post(
    "/models/{name}/versions/{version}/gate-reports",
    summary="Run the gates on a version and store the report",
)
def run_gates(name: str, version: int, body: GateRun, services: Services = DataScientist) -> Any:
    return services.contracts.run_gates(name, version, body.contract_version).to_dict()


@router.get("/models/{name}/gate-reports", summary="Gate reports of a model (or one version)")
def gate_reports(name: str, version: int | None = None, services: Services = Viewer) -> Any:
    return {"reports": [r.to_dict() for r in services.contracts.reports(name, version)]}


@router.get("/gate-reports/{report_id}", summary="One gate report")
def gate_report(report_id: int, services: Services = Viewer) -> Any:
    return services.contracts.report(report_id).to_dict()


@router.post("/models/{name}/versions/{version}/approvals", summary="Sign off or reject")
def decide(name: str, version: int, body: Decision, services: Services = Viewer) -> Any:
    approval = services.contracts.decide(name, version, body.role, body.decision, body.comment)
    return approval.to_dict()


@router.get("/models/{name}/versions/{version}/approvals", summary="Sign-offs and rejections")
def approvals(name: str, version: int, services: Services = Viewer) -> Any:
    return {"approvals": [a.to_dict() for a in services.contracts.approvals(name, version)]}


@router.post("/models/{name}/versions/{version}/reviews", summary="Leave review feedback")
def review(name: str, version: int, body: NewReview, services: Services = Viewer) -> Any:
    return services.contracts.review(name, version, body.rating, body.comment).to_dict()


@router.get("/models/{name}/versions/{version}/reviews", summary="Review feedback on a version")
def reviews(name: str, version: int, services: Services = Viewer) -> Any:
    return {"reviews": [r.to_dict() for r in services.contracts.reviews(name, version)]}


@router.get(
    "/models/{name}/versions/{version}/promotion",
    summary="Whether a version may take an alias, and what is missing",
)
def promotion_status(
    name: str, version: int, alias: str = "production", services: Services = Viewer
) -> Any:
    return services.contracts.promotion_status(name, version, alias)


@router.post("/models/{name}/versions/{version}/promotion", summary="Promote a version")
def promote(
    name: str, version: int, body: Promote, request: Request, services: Services = DataScientist
) -> Any:
    may_move(request, services, body.alias)
    promotion = services.contracts.promote(
        name,
        version,
        body.alias,
        force=body.force,
        reason=body.reason,
        expect_current=body.expect_current if body.check_current else UNSET,
    )
    return promotion.to_dict()


@router.get("/models/{name}/promotions", summary="Every promotion attempt of a model")
def promotions(name: str, services: Services = Viewer) -> Any:
    return {"promotions": [p.to_dict() for p in services.contracts.promotions(name)]}
