"""/api/v1/models: registered models, versions, aliases, history, lineage and cards."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.responses import PlainTextResponse

from shipway.accounts import role_allows
from shipway.api.auth import DataScientist, Viewer
from shipway.errors import InvalidInput, PermissionDenied
from shipway.registry import card as card_builder
from shipway.registry.service import PROTECTED_ALIASES
from shipway.services import Services

router = APIRouter(tags=["models"])


class ModelUpdate(BaseModel):
    description: str | None = None
    owners: list[str] | None = None
    tags: dict[str, str] | None = None


class NewVersion(BaseModel):
    source: str = Field(description="the package: runs:/RUN_ID/PATH")
    description: str = ""
    tags: dict[str, str] = {}


class VersionUpdate(BaseModel):
    description: str | None = None
    tags: dict[str, str] | None = None
    status: str | None = None


class AliasMove(BaseModel):
    version: int = Field(ge=1, le=2**63 - 1)
    reason: str = ""


class Reason(BaseModel):
    reason: str = ""


class Section(BaseModel):
    text: str


def may_move(request: Request, alias: str) -> None:
    """Moving `production` is a deployment decision: developers and admins only. Once the
    model has a contract, the registry moves it only through promotion."""
    if alias in PROTECTED_ALIASES and not role_allows(request.state.role, "developer"):
        raise PermissionDenied(
            f"moving the {alias!r} alias needs the developer or admin role; "
            f"user {request.state.user!r} is {request.state.role!r}"
        )


@router.get("/models", summary="List registered models")
def list_(services: Services = Viewer) -> dict[str, Any]:
    return {"models": [m.to_dict() for m in services.registry.list_models()], "next_cursor": None}


@router.get("/models/{name}", summary="A registered model with its aliases")
def get(name: str, services: Services = Viewer) -> dict[str, Any]:
    return services.registry.get_model(name).to_dict()


@router.patch("/models/{name}", summary="Create or update a registered model")
def update(name: str, body: ModelUpdate, services: Services = DataScientist) -> dict[str, Any]:
    model = services.registry.update_model(
        name, description=body.description, owners=body.owners, tags=body.tags
    )
    return model.to_dict()


@router.get("/models/{name}/versions", summary="Every version of a model")
def versions(name: str, services: Services = Viewer) -> dict[str, Any]:
    found = services.registry.list_versions(name)
    return {"versions": [v.to_dict() for v in found], "next_cursor": None}


@router.post("/models/{name}/versions", status_code=201, summary="Register a model package")
def register(name: str, body: NewVersion, services: Services = DataScientist) -> dict[str, Any]:
    version, created = services.registry.register_uri(
        name, body.source, description=body.description, tags=body.tags
    )
    return {**version.to_dict(), "created": created}


@router.get("/models/{name}/versions/{version}", summary="One version")
def get_version(name: str, version: int, services: Services = Viewer) -> dict[str, Any]:
    return services.registry.get_version(name, version).to_dict()


@router.patch("/models/{name}/versions/{version}", summary="Change a version's description")
def update_version(
    name: str, version: int, body: VersionUpdate, services: Services = DataScientist
) -> dict[str, Any]:
    found = services.registry.update_version(
        name, version, description=body.description, tags=body.tags, status=body.status
    )
    return found.to_dict()


@router.get("/models/{name}/versions/{version}/lineage", summary="Run, commit, data, parents")
def lineage(name: str, version: int, services: Services = Viewer) -> dict[str, Any]:
    return services.registry.lineage(name, version)


@router.get(
    "/models/{name}/versions/{version}/requirements",
    summary="The version's environment as requirements.txt",
    response_class=PlainTextResponse,
)
def requirements(name: str, version: int, services: Services = Viewer) -> str:
    return services.registry.requirements(name, version)


@router.get("/models/{name}/versions/{version}/card", summary="The model card (json or md)")
def card(name: str, version: int, format: str = "json", services: Services = Viewer) -> Any:
    data = services.contracts.card(name, version)
    if format == "md":
        return PlainTextResponse(card_builder.markdown(data), media_type="text/markdown")
    if format != "json":
        raise InvalidInput(f"format {format!r} is not 'json' or 'md'")
    return data


@router.put(
    "/models/{name}/versions/{version}/card/sections/{title}",
    summary="Write a user section of the model card (kept when the card is regenerated)",
)
def put_section(
    name: str, version: int, title: str, body: Section, services: Services = DataScientist
) -> dict[str, Any]:
    services.registry.set_card_section(name, version, title, body.text)
    return {"sections": services.registry.card_sections(name, version)}


@router.delete("/models/{name}/versions/{version}/card/sections/{title}", summary="Drop one")
def delete_section(
    name: str, version: int, title: str, services: Services = DataScientist
) -> dict[str, Any]:
    services.registry.set_card_section(name, version, title, None)
    return {"sections": services.registry.card_sections(name, version)}


@router.put("/models/{name}/aliases/{alias}", summary="Point an alias at a version")
def set_alias(
    name: str, alias: str, body: AliasMove, request: Request, services: Services = DataScientist
) -> dict[str, Any]:
    may_move(request, alias)
    return services.registry.set_alias(name, alias, body.version, body.reason).to_dict()


@router.delete("/models/{name}/aliases/{alias}", summary="Remove an alias")
def delete_alias(
    name: str, alias: str, request: Request, reason: str = "", services: Services = DataScientist
) -> dict[str, Any]:
    may_move(request, alias)
    return services.registry.delete_alias(name, alias, reason).to_dict()


@router.post("/models/{name}/aliases/{alias}/rollback", summary="Move an alias back")
def rollback(
    name: str, alias: str, body: Reason, request: Request, services: Services = DataScientist
) -> dict[str, Any]:
    may_move(request, alias)
    return services.registry.rollback(name, alias, body.reason).to_dict()


@router.get("/models/{name}/history", summary="Every alias move, oldest first")
def history(name: str, alias: str | None = None, services: Services = Viewer) -> dict[str, Any]:
    found = services.registry.history(name, alias)
    return {"events": [e.to_dict() for e in found], "next_cursor": None}


@router.get("/models-resolve", summary="The version a models:/ URI names")
def resolve(uri: str, services: Services = Viewer) -> dict[str, Any]:
    return services.registry.resolve(uri).to_dict()


@router.get("/models-lineage", summary="Versions trained on a dataset, or built from a commit")
def reverse_lineage(
    dataset: str | None = None, commit: str | None = None, services: Services = Viewer
) -> dict[str, Any]:
    if (dataset is None) == (commit is None):
        raise InvalidInput("give exactly one of dataset=NAME@VERSION or commit=SHA")
    registry = services.registry
    found = (
        registry.versions_trained_on(dataset)
        if dataset
        else registry.versions_from_commit(commit or "")
    )
    return {"versions": [v.to_dict() for v in found], "next_cursor": None}
