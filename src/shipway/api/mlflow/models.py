"""MLflow 3's logged models (``mlflow.<flavor>.log_model``), over shipway's logged-model
service: created PENDING, files uploaded under the model's artifact URI, finalized READY,
at which point the folder becomes a shipway model package (see
:mod:`shipway.registry.logged`)."""

from __future__ import annotations

import re
from typing import Any

from shipway import errors
from shipway.api.mlflow.common import (
    INVALID,
    MlflowError,
    Routes,
    as_list,
    experiment_ref,
    key_values,
    mlflow_experiment_id,
    need,
    not_found,
    number,
    pairs,
    route,
)
from shipway.records import MlflowLoggedModel
from shipway.services import Services

STATUS = {"pending": "LOGGED_MODEL_PENDING", "ready": "LOGGED_MODEL_READY"}
STATUS["failed"] = "LOGGED_MODEL_UPLOAD_FAILED"
FROM_STATUS = {v: k for k, v in STATUS.items()}
CLAUSE = re.compile(r"""^\s*(\w+)\s*=\s*(['"])(.*?)\2\s*$""")
FILTERABLE = ("name", "source_run_id", "model_id", "status")


def experiment_id(services: Services, model: MlflowLoggedModel) -> str:
    experiment = services.tracking.get_experiment(model.experiment_id)
    return mlflow_experiment_id(experiment.name, experiment.id)


def artifact_uri(services: Services, model: MlflowLoggedModel) -> str:
    return f"mlflow-artifacts:/{experiment_id(services, model)}/models/{model.id}/artifacts"


def describe(services: Services, model: MlflowLoggedModel) -> dict[str, Any]:
    info: dict[str, Any] = {
        "model_id": model.id,
        "experiment_id": experiment_id(services, model),
        "name": model.name,
        "creation_timestamp_ms": model.created_at,
        "last_updated_timestamp_ms": model.updated_at,
        "artifact_uri": artifact_uri(services, model),
        "status": STATUS[model.status],
        "model_type": model.model_type,
        "tags": key_values(model.tags),
    }
    if model.source_run:
        info["source_run_id"] = model.run_id
    return {"info": info, "data": {"params": key_values(model.params), "metrics": []}}


def _model(services: Services, fields: dict[str, Any]) -> MlflowLoggedModel:
    model_id = str(need(fields, "model_id"))
    allow = str(fields.get("allow_deleted", "")).lower() == "true"
    try:
        return services.logged_models.get(model_id, allow_deleted=allow)
    except errors.NotFound:
        raise not_found(f"Logged model with ID '{model_id}' not found.") from None


@route("data-scientist")
def create(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    experiment = experiment_ref(services, need(fields, "experiment_id"))
    model = services.logged_models.create(
        experiment.id,
        fields.get("name") or None,
        run_id=fields.get("source_run_id") or None,
        model_type=str(fields.get("model_type") or ""),
        tags=pairs(fields.get("tags"), "tags"),
        params=pairs(fields.get("params"), "params"),
    )
    return {"model": describe(services, model)}


@route("viewer")
def get(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    return {"model": describe(services, _model(services, fields))}


@route("data-scientist")
def finalize(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    model = _model(services, fields)
    status = str(need(fields, "status"))
    if status not in ("LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED"):
        raise MlflowError(
            INVALID, f"status {status!r}: use LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED"
        )
    return {
        "model": describe(services, services.logged_models.finalize(model.id, FROM_STATUS[status]))
    }


@route("data-scientist")
def delete(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    services.logged_models.delete(_model(services, fields).id)
    return {}


@route("data-scientist")
def set_tags(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    model = _model(services, fields)
    services.logged_models.set_tags(model.id, pairs(fields.get("tags"), "tags"))
    return {}


@route("data-scientist")
def delete_tag(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    model = _model(services, fields)
    services.logged_models.delete_tag(model.id, str(need(fields, "tag_key")))
    return {}


@route("data-scientist")
def log_params(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    model = _model(services, fields)
    services.logged_models.log_params(model.id, pairs(fields.get("params"), "params"))
    return {}


@route("viewer")
def search(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    ids = [experiment_ref(services, i).id for i in as_list(fields.get("experiment_ids"))]
    wanted = equalities(fields.get("filter"), FILTERABLE)
    limit = number(fields, "max_results", 100, 1000)
    page = services.logged_models.search(
        list(ids),
        name=wanted.get("name"),
        run_id=wanted.get("source_run_id"),
        limit=limit,
        cursor=fields.get("page_token") or None,
    )
    models = [
        m
        for m in page
        if wanted.get("model_id", m.id) == m.id
        and wanted.get("status", STATUS[m.status]) == STATUS[m.status]
    ]
    answer: dict[str, Any] = {"models": [describe(services, m) for m in models]}
    if page.next_cursor:
        answer["next_page_token"] = page.next_cursor
    return answer


def equalities(text: Any, allowed: tuple[str, ...]) -> dict[str, str]:
    """``name = 'x' AND source_run_id = 'y'``: the equalities shipway filters logged
    models and model versions by (on the fields ``allowed``)."""
    wanted: dict[str, str] = {}
    if not text:
        return wanted
    for clause in re.split(r"\s+AND\s+", str(text), flags=re.IGNORECASE):
        match = CLAUSE.match(clause)
        if not match or match.group(1) not in allowed:
            raise MlflowError(
                INVALID,
                f"filter {clause.strip()!r}: shipway filters these by equality on "
                f"{', '.join(allowed)}, joined by AND (name = 'churn')",
            )
        wanted[match.group(1)] = match.group(3)
    return wanted


def add(routes: Routes) -> None:
    table: list[tuple[str, str, Any]] = [
        ("POST", "/logged-models", create),
        ("POST", "/logged-models/search", search),
        ("GET", "/logged-models/{model_id}", get),
        ("PATCH", "/logged-models/{model_id}", finalize),
        ("DELETE", "/logged-models/{model_id}", delete),
        ("PATCH", "/logged-models/{model_id}/tags", set_tags),
        ("DELETE", "/logged-models/{model_id}/tags/{tag_key}", delete_tag),
        ("POST", "/logged-models/{model_id}/params", log_params),
    ]
    for method, path, handler in table:
        routes.add(method, path, handler)
