"""MLflow's experiment and run routes, over shipway's tracking service."""

from __future__ import annotations

import time
from array import array
from collections.abc import Callable
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from shipway import errors
from shipway.records import Experiment, Run, Series
from shipway.services import Services
from shipway.tracking.service import DEFAULT_EXPERIMENT

DEFAULT_ID = "0"  # MLflow's Default experiment
STATUS = {"running": "RUNNING", "finished": "FINISHED", "failed": "FAILED", "killed": "KILLED"}
FROM_STATUS = {v: k for k, v in STATUS.items()} | {"SCHEDULED": "running"}
CODES = {  # shipway's error -> MLflow's error_code and HTTP status
    errors.NotFound: ("RESOURCE_DOES_NOT_EXIST", 404),
    errors.Conflict: ("RESOURCE_ALREADY_EXISTS", 400),
    errors.Unauthenticated: ("UNAUTHENTICATED", 401),
    errors.PermissionDenied: ("PERMISSION_DENIED", 403),
}
MAX_RESULTS = 50_000
INVALID = "INVALID_PARAMETER_VALUE"


class MlflowError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def _answer(body: dict[str, Any], status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _error(exc: Exception) -> Response:
    if isinstance(exc, MlflowError):
        return _answer({"error_code": exc.code, "message": exc.message}, exc.status)
    assert isinstance(exc, errors.ShipwayError)
    code, status = "INVALID_PARAMETER_VALUE", 400
    for kind, (name, number) in CODES.items():
        if isinstance(exc, kind):
            code, status = name, number
            break
    return _answer({"error_code": code, "message": exc.message}, status)


def route(role: str) -> Callable[..., Callable[[Request], Any]]:
    """A handler getting the services as the caller and the request's fields (the JSON
    body of a POST, the query of a GET); errors answer in MLflow's shape."""

    def decorate(handler: Callable[[Services, dict[str, Any]], dict[str, Any]]) -> Any:
        async def run(request: Request) -> Response:  # FastAPI reads this signature
            try:
                if request.method == "GET":
                    fields: dict[str, Any] = dict(request.query_params)
                else:
                    raw = await request.body()
                    fields = orjson.loads(raw) if raw.strip() else {}
                    if not isinstance(fields, dict):
                        raise MlflowError("MALFORMED_REQUEST", "the body must be a JSON object")
                base: Services = request.app.state.services
                user = fields.get("user_id") if isinstance(fields.get("user_id"), str) else None
                services = base.as_caller(request.headers.get("authorization"), user, role)
                return _answer(await run_in_threadpool(handler, services, fields))
            except orjson.JSONDecodeError:
                return _error(MlflowError("MALFORMED_REQUEST", "the body is not valid JSON"))
            except (MlflowError, errors.ShipwayError) as exc:
                return _error(exc)

        run.__name__ = handler.__name__
        run.__doc__ = handler.__doc__
        return run

    return decorate


def _need(fields: dict[str, Any], name: str) -> Any:
    value = fields.get(name)
    if value in (None, ""):
        raise MlflowError(INVALID, f"Missing value for required parameter '{name}'")
    return value


# experiments ----------------------------------------------------------------------------


def _experiment_id(experiment: Experiment) -> str:
    return DEFAULT_ID if experiment.name == DEFAULT_EXPERIMENT else str(experiment.id)


def _experiment_ref(services: Services, experiment_id: Any) -> Experiment:
    text = str(experiment_id)
    if text == DEFAULT_ID:
        return services.tracking.get_or_create_experiment(DEFAULT_EXPERIMENT)
    if not text.isdigit():
        raise MlflowError("INVALID_PARAMETER_VALUE", f"experiment id {text!r} is not a number")
    return services.tracking.get_experiment(int(text))


def _experiment(experiment: Experiment) -> dict[str, Any]:
    eid = _experiment_id(experiment)
    return {
        "experiment_id": eid,
        "name": experiment.name,
        "artifact_location": f"mlflow-artifacts:/{eid}",
        "lifecycle_stage": "active",
        "creation_time": experiment.created_at,
        "last_update_time": experiment.created_at,
        "tags": [{"key": "mlflow.note.content", "value": experiment.description}]
        if experiment.description
        else [],
    }


@route("viewer")
def get_experiment_by_name(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    name = _need(fields, "experiment_name")
    if name == DEFAULT_EXPERIMENT:
        return {"experiment": _experiment(services.tracking.get_or_create_experiment(name))}
    try:
        return {"experiment": _experiment(services.tracking.get_experiment(name))}
    except errors.NotFound:
        raise MlflowError(
            "RESOURCE_DOES_NOT_EXIST", f"Could not find experiment with name '{name}'", 404
        ) from None


@route("viewer")
def get_experiment(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    return {"experiment": _experiment(_experiment_ref(services, _need(fields, "experiment_id")))}


@route("data-scientist")
def create_experiment(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    created = services.tracking.create_experiment(str(_need(fields, "name")))
    return {"experiment_id": _experiment_id(created)}


@route("viewer")
def search_experiments(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    services.tracking.get_or_create_experiment(DEFAULT_EXPERIMENT)  # MLflow always has it
    found, cursor = [], None
    while True:  # every experiment, a page at a time
        page = services.tracking.list_experiments(limit=1000, cursor=cursor)
        found += list(page)
        if not (cursor := page.next_cursor):
            break
    return {"experiments": [_experiment(e) for e in found]}


# runs ------------------------------------------------------------------------------------


def _run_info(run: Run) -> dict[str, Any]:
    eid = DEFAULT_ID if run.experiment == DEFAULT_EXPERIMENT else str(run.experiment_id)
    info: dict[str, Any] = {
        "run_id": run.id,
        "run_uuid": run.id,
        "run_name": run.name,
        "experiment_id": eid,
        "user_id": run.user,
        "status": STATUS.get(run.status, "RUNNING"),
        "start_time": run.start_time,
        "artifact_uri": f"mlflow-artifacts:/{eid}/{run.id}/artifacts",
        "lifecycle_stage": "deleted" if run.deleted else "active",
    }
    if run.end_time is not None:
        info["end_time"] = run.end_time
    return info


def _run(run: Run) -> dict[str, Any]:
    metrics = [
        {"key": k, "value": v, "timestamp": run.start_time, "step": 0}
        for k, v in sorted(run.metrics.items())
    ]
    tags = dict(run.tags)
    if run.name:
        tags.setdefault("mlflow.runName", run.name)
    return {
        "info": _run_info(run),
        "data": {
            "metrics": metrics,
            "params": [{"key": k, "value": v} for k, v in sorted(run.params.items())],
            "tags": [{"key": k, "value": v} for k, v in sorted(tags.items())],
        },
        "inputs": {},
    }


def _run_id(fields: dict[str, Any]) -> str:
    value = fields.get("run_id") or fields.get("run_uuid")
    if not value:
        raise MlflowError(INVALID, "Missing value for required parameter 'run_id'")
    return str(value)


def _pairs(items: Any, name: str) -> dict[str, str]:
    if items in (None, ""):
        return {}
    if not isinstance(items, list) or not all(isinstance(i, dict) and "key" in i for i in items):
        raise MlflowError("INVALID_PARAMETER_VALUE", f"'{name}' must be a list of {{key, value}}")
    return {str(i["key"]): str(i.get("value", "")) for i in items}


@route("data-scientist")
def create_run(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    experiment = _experiment_ref(services, fields.get("experiment_id") or DEFAULT_ID)
    tags = _pairs(fields.get("tags"), "tags")
    name = fields.get("run_name") or tags.get("mlflow.runName") or None
    parent = tags.get("mlflow.parentRunId") or None
    run = services.tracking.create_run(
        experiment.name,
        name=name,
        tags=tags,
        parent_id=parent,
        source=tags.get("mlflow.source.name"),
    )
    return {"run": _run(run)}


@route("viewer")
def get_run(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    return {"run": _run(services.tracking.get_run(_run_id(fields)))}


@route("data-scientist")
def update_run(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    status = fields.get("status")
    if status is not None and status not in FROM_STATUS:
        raise MlflowError("INVALID_PARAMETER_VALUE", f"unknown run status {status!r}")
    run = services.tracking.update_run(
        _run_id(fields),
        status=FROM_STATUS.get(status) if status else None,
        end_time=int(fields["end_time"]) if fields.get("end_time") else None,
        name=fields.get("run_name") or None,
    )
    return {"run_info": _run_info(run)}


@route("data-scientist")
def delete_run(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    services.tracking.delete_run(_run_id(fields))
    return {}


@route("data-scientist")
def restore_run(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    services.tracking.restore_run(_run_id(fields))
    return {}


def _metric_batch(items: Any) -> dict[str, Series]:
    if not isinstance(items, list):
        raise MlflowError("INVALID_PARAMETER_VALUE", "'metrics' must be a list")
    batch: dict[str, Series] = {}
    now = int(time.time() * 1000)
    for item in items:
        if not isinstance(item, dict) or "key" not in item or "value" not in item:
            raise MlflowError("INVALID_PARAMETER_VALUE", "each metric needs a key and a value")
        series = batch.setdefault(str(item["key"]), Series(array("d"), array("q"), array("q")))
        try:
            series.values.append(float(item["value"]))
            series.steps.append(int(item.get("step") or 0))
            series.timestamps.append(int(item.get("timestamp") or now))
        except (TypeError, ValueError):
            raise MlflowError(
                INVALID, f"metric {item['key']!r}: value, step and timestamp must be numbers"
            ) from None
    return batch


@route("data-scientist")
def log_metric(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    item = {k: fields.get(k) for k in ("key", "value", "step", "timestamp")}
    services.tracking.log_metric_series(_run_id(fields), _metric_batch([item]))
    return {}


@route("data-scientist")
def log_param(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    key = str(_need(fields, "key"))
    services.tracking.log_params(_run_id(fields), {key: fields.get("value", "")})
    return {}


@route("data-scientist")
def set_tag(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    key = str(_need(fields, "key"))
    services.tracking.set_tags(_run_id(fields), {key: fields.get("value", "")})
    return {}


@route("data-scientist")
def delete_tag(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    services.tracking.delete_tag(_run_id(fields), str(_need(fields, "key")))
    return {}


@route("data-scientist")
def log_batch(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    run_id = _run_id(fields)
    metrics, params = fields.get("metrics") or [], _pairs(fields.get("params"), "params")
    tags = _pairs(fields.get("tags"), "tags")
    if len(metrics) > 1000 or len(params) + len(tags) > 100:
        raise MlflowError(
            "INVALID_PARAMETER_VALUE",
            "A batch logging request can contain at most 1000 metrics and 100 params and tags",
        )
    if params:
        services.tracking.log_params(run_id, params)
    if tags:
        services.tracking.set_tags(run_id, tags)
    if metrics:
        services.tracking.log_metric_series(run_id, _metric_batch(metrics))
    return {}


@route("viewer")
def metric_history(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    run_id, key = _run_id(fields), str(_need(fields, "metric_key"))
    points = services.tracking.get_metric_history(run_id, key).items
    return {
        "metrics": [
            {"key": p.key, "value": p.value, "timestamp": p.timestamp, "step": p.step}
            for p in points
        ]
    }


@route("viewer")
def search_runs(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    ids = fields.get("experiment_ids") or []
    if isinstance(ids, str):
        ids = [ids]
    experiments = [_experiment_ref(services, i).name for i in ids] or None
    limit = int(fields.get("max_results") or 1000)
    if not 1 <= limit <= MAX_RESULTS:
        raise MlflowError("INVALID_PARAMETER_VALUE", f"max_results must be 1 to {MAX_RESULTS}")
    order = [str(o) for o in fields.get("order_by") or []]
    page = services.tracking.search_runs(
        experiments,
        filter=fields.get("filter") or None,
        order_by=order,
        limit=min(limit, 1000),
        cursor=fields.get("page_token") or None,
    )
    answer: dict[str, Any] = {"runs": [_run(r) for r in page]}
    if page.next_cursor:
        answer["next_page_token"] = page.next_cursor
    return answer


def add(router: APIRouter) -> None:
    """The routes, by MLflow's paths and methods."""
    table: list[tuple[str, str, Any]] = [
        ("GET", "/experiments/get-by-name", get_experiment_by_name),
        ("GET", "/experiments/get", get_experiment),
        ("POST", "/experiments/create", create_experiment),
        ("POST", "/experiments/search", search_experiments),
        ("GET", "/experiments/search", search_experiments),
        ("POST", "/runs/create", create_run),
        ("GET", "/runs/get", get_run),
        ("POST", "/runs/update", update_run),
        ("POST", "/runs/delete", delete_run),
        ("POST", "/runs/restore", restore_run),
        ("POST", "/runs/log-metric", log_metric),
        ("POST", "/runs/log-parameter", log_param),
        ("POST", "/runs/set-tag", set_tag),
        ("POST", "/runs/delete-tag", delete_tag),
        ("POST", "/runs/log-batch", log_batch),
        ("POST", "/runs/search", search_runs),
        ("GET", "/metrics/get-history", metric_history),
    ]
    for method, path, handler in table:
        router.add_api_route(path, handler, methods=[method])
