"""MLflow's model registry routes over shipway's registry: a registered model is a
registered model, a version a version, an alias an alias (recorded in the alias history).

Moving ``production`` on a model with a contract goes through the contract's promotion
policy, whichever route asks (``registered-models/alias`` or a transition to the
Production stage): a refusal answers ``PERMISSION_DENIED`` with every missing item.
MLflow's stages are kept per version (``Archived`` is shipway's archived status); moving a
version to Staging or Production also moves the alias of that name.
"""

from __future__ import annotations

import contextlib
from typing import Any

from shipway import errors
from shipway.api.mlflow import models
from shipway.api.mlflow.common import (
    INVALID,
    MlflowError,
    Routes,
    key_values,
    mlflow_experiment_id,
    name_filter,
    need,
    not_found,
    number,
    offset_page,
    pairs,
    route,
)
from shipway.records import ModelVersion, RegisteredModel
from shipway.registry.packages import parse_run_uri
from shipway.registry.service import PROTECTED_ALIASES
from shipway.services import Services

STAGE_TAG = "mlflow.stage"
STAGES = {"none": "None", "staging": "Staging", "production": "Production"}
STAGES["archived"] = "Archived"
MOVED_BY = "set through the MLflow API"


def _stage(version: ModelVersion) -> str:
    if version.status == "archived":
        return "Archived"
    return version.tags.get(STAGE_TAG, "None")


def _eid(services: Services, run_id: str) -> str:
    run = services.tracking.get_run(run_id)
    return mlflow_experiment_id(run.experiment, run.experiment_id)


def download_uri(services: Services, version: ModelVersion) -> str:
    eid = _eid(services, version.run_id)
    return f"mlflow-artifacts:/{eid}/{version.run_id}/artifacts/{version.artifact_path}"


def _version(services: Services, version: ModelVersion) -> dict[str, Any]:
    logged = services.logged_models.at_path(version.run_id, version.artifact_path)
    out: dict[str, Any] = {
        "name": version.name,
        "version": str(version.version),
        "creation_timestamp": version.created_at,
        "last_updated_timestamp": version.created_at,
        "user_id": version.created_by,
        "current_stage": _stage(version),
        "description": version.description,
        "source": f"models:/{logged.id}" if logged else download_uri(services, version),
        "run_id": version.run_id,
        "status": "READY",
        "tags": key_values({k: v for k, v in version.tags.items() if k != STAGE_TAG}),
        "aliases": sorted(version.aliases),
    }
    if logged:
        out["model_id"] = logged.id
    return out


def _model(services: Services, model: RegisteredModel, *, latest: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": model.name,
        "creation_timestamp": model.created_at,
        "last_updated_timestamp": model.created_at,
        "user_id": model.created_by,
        "description": model.description,
        "tags": key_values(model.tags),
        "aliases": [{"alias": a, "version": str(v)} for a, v in sorted(model.aliases.items())],
    }
    if latest and model.latest_version:
        out["latest_versions"] = [
            _version(services, v) for v in _latest_per_stage(services, model.name, [])
        ]
    return out


def _find(services: Services, name: str) -> RegisteredModel:
    try:
        return services.registry.get_model(name)
    except errors.NotFound:
        raise not_found(f"Registered Model with name={name} not found") from None


def _find_version(services: Services, fields: dict[str, Any]) -> ModelVersion:
    name, raw = str(need(fields, "name")), str(need(fields, "version"))
    if not raw.isdigit():
        raise MlflowError(INVALID, f"Model version must be an integer, got {raw!r}")
    try:
        return services.registry.get_version(name, int(raw))
    except errors.NotFound:
        raise not_found(f"Model Version (name={name}, version={raw}) not found") from None


# registered models -----------------------------------------------------------------------


@route("data-scientist")
def create_model(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    name = str(need(fields, "name"))
    try:
        services.registry.get_model(name)
    except errors.NotFound:
        pass
    else:
        raise MlflowError(
            "RESOURCE_ALREADY_EXISTS", f"Registered Model (name={name}) already exists."
        )
    tags = pairs(fields.get("tags"), "tags")
    model = services.registry.update_model(
        name, description=str(fields.get("description") or ""), tags=tags
    )
    return {"registered_model": _model(services, model)}


@route("viewer")
def get_model(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    return {"registered_model": _model(services, _find(services, str(need(fields, "name"))))}


@route("viewer")
def search_models(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    keep = name_filter(fields.get("filter"))
    found = [m for m in services.registry.list_models() if keep(m.name, m.tags)]
    limit = number(fields, "max_results", 100, 1000)
    return offset_page(found, fields, "registered_models", limit, lambda m: _model(services, m))


@route("data-scientist")
def update_model(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    model = _find(services, str(need(fields, "name")))
    if "description" in fields:
        model = services.registry.update_model(model.name, description=str(fields["description"]))
    return {"registered_model": _model(services, model)}


@route("data-scientist")
def set_model_tag(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    model = _find(services, str(need(fields, "name")))
    key = str(need(fields, "key"))
    services.registry.update_model(
        model.name, tags={**model.tags, key: str(fields.get("value", ""))}
    )
    return {}


@route("data-scientist")
def delete_model_tag(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    model = _find(services, str(need(fields, "name")))
    key = str(need(fields, "key"))
    if key not in model.tags:
        raise not_found(f"No tag with key {key!r} on registered model {model.name!r}")
    services.registry.update_model(
        model.name, tags={k: v for k, v in model.tags.items() if k != key}
    )
    return {}


def _kept(what: str) -> Any:
    @route("data-scientist")
    def refuse(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
        raise MlflowError(
            "NOT_IMPLEMENTED",
            f"shipway keeps every registered {what}: deployments, gate reports and the "
            "prediction log point at them. Archive a version instead "
            "(transition_model_version_stage(..., 'Archived'))",
            501,
        )

    refuse.__name__ = f"delete_{what.replace(' ', '_')}"
    return refuse


@route("data-scientist")
def rename_model(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    raise MlflowError(
        "NOT_IMPLEMENTED",
        "shipway does not rename registered models: deployments, contracts and the "
        "prediction log name them. Register the versions under the new name instead",
        501,
    )


def _latest_per_stage(services: Services, name: str, stages: list[str]) -> list[ModelVersion]:
    wanted = {STAGES.get(s.lower(), s) for s in stages}
    latest: dict[str, ModelVersion] = {}
    for version in services.registry.list_versions(name):
        stage = _stage(version)
        if (not wanted or stage in wanted) and (
            stage not in latest or version.version > latest[stage].version
        ):
            latest[stage] = version
    return sorted(latest.values(), key=lambda v: v.version)


@route("viewer")
def latest_versions(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    model = _find(services, str(need(fields, "name")))
    stages = fields.get("stages") or []
    stages = [stages] if isinstance(stages, str) else list(stages)
    return {
        "model_versions": [
            _version(services, v) for v in _latest_per_stage(services, model.name, stages)
        ]
    }


# versions --------------------------------------------------------------------------------


def _source(services: Services, fields: dict[str, Any]) -> tuple[str, str]:
    """Where the version's files are: (run id, folder in the run), from MLflow's
    ``model_id``, or a ``models:/m-…``, ``runs:/…`` or ``mlflow-artifacts:/…`` source."""
    from shipway.api.mlflow.artifacts import locate

    source = str(fields.get("source") or "")
    model_id = fields.get("model_id") or (
        source.removeprefix("models:/") if source.startswith("models:/m-") else None
    )
    if model_id:
        logged = services.logged_models.get(str(model_id))
        return logged.run_id, logged.artifact_path
    if source.startswith("runs:/"):
        return parse_run_uri(source)
    if source.startswith("mlflow-artifacts:"):
        path = source.removeprefix("mlflow-artifacts:")
        if path.startswith("//"):  # mlflow-artifacts://host/…: the path after the host
            path = path[2:].partition("/")[2]
        path = path.lstrip("/")
        run_id, folder = locate(services, path)
        if folder:
            return run_id, folder
    raise MlflowError(
        INVALID,
        f"model version source {source!r}: shipway registers a logged model (models:/m-…), "
        "a run's folder (runs:/RUN_ID/PATH) or its mlflow-artifacts:/ URI",
    )


@route("data-scientist")
def create_version(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    name = str(need(fields, "name"))
    _find(services, name)  # MLflow's client creates the registered model first
    run_id, folder = _source(services, fields)
    services.logged_models.ensure_package(run_id, folder)  # an MLflow folder: now a package
    tags = pairs(fields.get("tags"), "tags")
    version, _ = services.registry.register(
        f"runs:/{run_id}/{folder}",
        name,
        description=str(fields.get("description") or ""),
        tags=tags,
    )
    return {"model_version": _version(services, version)}


@route("viewer")
def get_version(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    return {"model_version": _version(services, _find_version(services, fields))}


@route("data-scientist")
def update_version(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    version = _find_version(services, fields)
    if "description" in fields:
        version = services.registry.update_version(
            version.name, version.version, description=str(fields["description"])
        )
    return {"model_version": _version(services, version)}


@route("viewer")
def search_versions(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    wanted = models.equalities(fields.get("filter"), ("name", "run_id", "source_path"))
    names = (
        [wanted["name"]] if "name" in wanted else [m.name for m in services.registry.list_models()]
    )
    found: list[ModelVersion] = []
    for name in names:
        try:
            found += services.registry.list_versions(name)
        except errors.NotFound:
            continue
    if "run_id" in wanted:
        found = [v for v in found if v.run_id == wanted["run_id"]]
    found.sort(key=lambda v: (v.name, -v.version))
    limit = number(fields, "max_results", 10_000, 200_000)
    return offset_page(found, fields, "model_versions", limit, lambda v: _version(services, v))


@route("viewer")
def get_download_uri(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    return {"artifact_uri": download_uri(services, _find_version(services, fields))}


@route("data-scientist")
def set_version_tag(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    version = _find_version(services, fields)
    key = str(need(fields, "key"))
    if key == STAGE_TAG:
        raise MlflowError(INVALID, f"{STAGE_TAG} is the version's stage; use transition-stage")
    tags = {**version.tags, key: str(fields.get("value", ""))}
    services.registry.update_version(version.name, version.version, tags=tags)
    return {}


@route("data-scientist")
def delete_version_tag(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    version = _find_version(services, fields)
    key = str(need(fields, "key"))
    if key not in version.tags or key == STAGE_TAG:
        raise not_found(f"No tag with key {key!r} on {version.name} version {version.version}")
    tags = {k: v for k, v in version.tags.items() if k != key}
    services.registry.update_version(version.name, version.version, tags=tags)
    return {}


def _move(services: Services, name: str, number: int, alias: str) -> None:
    """Point ``alias`` at the version, through the promotion policy when the model has a
    contract and the alias is protected."""
    if alias in PROTECTED_ALIASES:
        try:
            services.contracts.get(name)
        except errors.NotFound:
            pass
        else:
            services.contracts.promote(name, number, alias, reason=MOVED_BY)
            return
    services.registry.set_alias(name, number, alias, reason=MOVED_BY)


@route("data-scientist")
def transition_stage(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    version = _find_version(services, fields)
    raw = str(need(fields, "stage"))
    stage = STAGES.get(raw.lower())
    if stage is None:
        raise MlflowError(
            INVALID, f"Invalid Model Version stage: {raw}. Use {sorted(STAGES.values())}"
        )
    if stage in ("Staging", "Production"):
        alias = stage.lower()
        holder = services.registry.get_model(version.name).aliases.get(alias)
        if holder != version.version:
            _move(services, version.name, version.version, alias)
    archive = str(fields.get("archive_existing_versions", "")).lower() == "true"
    if archive and stage in ("Staging", "Production"):
        for other in services.registry.list_versions(version.name):
            if other.version != version.version and _stage(other) == stage:
                services.registry.update_version(other.name, other.version, status="archived")
    tags = {k: v for k, v in version.tags.items() if k != STAGE_TAG}
    if stage not in ("None", "Archived"):
        tags[STAGE_TAG] = stage
    services.registry.update_version(
        version.name,
        version.version,
        tags=tags,
        status="archived" if stage == "Archived" else "ready",
    )
    return {
        "model_version": _version(
            services, services.registry.get_version(version.name, version.version)
        )
    }


# aliases ---------------------------------------------------------------------------------


@route("data-scientist")
def set_alias(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    name, alias = str(need(fields, "name")), str(need(fields, "alias"))
    raw = str(need(fields, "version"))
    if not raw.isdigit():
        raise MlflowError(INVALID, f"Model version must be an integer, got {raw!r}")
    _find_version(services, {"name": name, "version": raw})
    _move(services, name, int(raw), alias)
    return {}


@route("data-scientist")
def delete_alias(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    name, alias = str(need(fields, "name")), str(need(fields, "alias"))
    _find(services, name)
    with contextlib.suppress(errors.NotFound):  # MLflow answers success for an unset alias
        services.registry.delete_alias(name, alias, reason=MOVED_BY)
    return {}


@route("viewer")
def get_by_alias(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    name, alias = str(need(fields, "name")), str(need(fields, "alias"))
    model = _find(services, name)
    if alias not in model.aliases:
        raise MlflowError(INVALID, f"Registered model alias {alias} not found.")
    version = services.registry.get_version(name, model.aliases[alias])
    return {"model_version": _version(services, version)}


def add(routes: Routes) -> None:
    table: list[tuple[str, str, Any]] = [
        ("POST", "/registered-models/create", create_model),
        ("GET", "/registered-models/get", get_model),
        ("GET", "/registered-models/search", search_models),
        ("PATCH", "/registered-models/update", update_model),
        ("POST", "/registered-models/rename", rename_model),
        ("DELETE", "/registered-models/delete", _kept("model")),
        ("POST", "/registered-models/get-latest-versions", latest_versions),
        ("GET", "/registered-models/get-latest-versions", latest_versions),
        ("POST", "/registered-models/set-tag", set_model_tag),
        ("DELETE", "/registered-models/delete-tag", delete_model_tag),
        ("POST", "/registered-models/alias", set_alias),
        ("DELETE", "/registered-models/alias", delete_alias),
        ("GET", "/registered-models/alias", get_by_alias),
        ("POST", "/model-versions/create", create_version),
        ("GET", "/model-versions/get", get_version),
        ("PATCH", "/model-versions/update", update_version),
        ("DELETE", "/model-versions/delete", _kept("model version")),
        ("GET", "/model-versions/search", search_versions),
        ("GET", "/model-versions/get-download-uri", get_download_uri),
        ("POST", "/model-versions/transition-stage", transition_stage),
        ("POST", "/model-versions/set-tag", set_version_tag),
        ("DELETE", "/model-versions/delete-tag", delete_version_tag),
    ]
    for method, path, handler in table:
        routes.add(method, path, handler)
