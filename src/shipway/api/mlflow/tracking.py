"""MLflow's experiment and run routes, over shipway's tracking and dataset services."""

from __future__ import annotations

import time
from array import array
from typing import Any

import orjson

from shipway import errors
from shipway.api.mlflow.common import (
    DEFAULT_ID,
    INVALID,
    MAX_RESULTS,
    MlflowError,
    Routes,
    as_list,
    experiment_ref,
    key_values,
    mlflow_experiment_id,
    name_filter,
    need,
    not_found,
    number,
    offset_page,
    pairs,
    proto_float,
    route,
)
from shipway.datasets.external import described, log_described_input
from shipway.records import Experiment, Page, Run, Series
from shipway.services import Services
from shipway.tracking.service import DEFAULT_EXPERIMENT

STATUS = {"running": "RUNNING", "finished": "FINISHED", "failed": "FAILED", "killed": "KILLED"}
FROM_STATUS = {v: k for k, v in STATUS.items()} | {"SCHEDULED": "running"}
VIEWS = {"ACTIVE_ONLY": "ACTIVE_ONLY", "DELETED_ONLY": "DELETED_ONLY", "ALL": "ALL"}
VIEWS |= {"1": "ACTIVE_ONLY", "2": "DELETED_ONLY", "3": "ALL"}  # the enum's numbers
NOTE = "mlflow.note.content"  # MLflow keeps an experiment's description as this tag

# experiments ----------------------------------------------------------------------------


def _experiment_id(experiment: Experiment) -> str:
    return mlflow_experiment_id(experiment.name, experiment.id)


def _experiment(experiment: Experiment) -> dict[str, Any]:
    eid = _experiment_id(experiment)
    tags = dict(experiment.tags)
    if experiment.description:
        tags[NOTE] = experiment.description
    return {
        "experiment_id": eid,
        "name": experiment.name,
        "artifact_location": f"mlflow-artifacts:/{eid}",
        "lifecycle_stage": "deleted" if experiment.deleted else "active",
        "creation_time": experiment.created_at,
        "last_update_time": experiment.created_at,
        "tags": key_values(tags),
    }


@route("viewer")
def get_experiment_by_name(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    name = need(fields, "experiment_name")
    if name == DEFAULT_EXPERIMENT:
        return {"experiment": _experiment(services.tracking.get_or_create_experiment(name))}
    try:
        return {"experiment": _experiment(services.tracking.get_experiment(name))}
    except errors.NotFound:
        raise not_found(f"Could not find experiment with name '{name}'") from None


@route("viewer")
def get_experiment(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    return {"experiment": _experiment(experiment_ref(services, need(fields, "experiment_id")))}


@route("data-scientist")
def create_experiment(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    name = str(need(fields, "name"))
    tags = pairs(fields.get("tags"), "tags")
    note = tags.pop(NOTE, "")
    created = services.tracking.create_experiment(name, description=note)
    if tags:
        services.tracking.update_experiment(created.id, set_tags=tags)
    return {"experiment_id": _experiment_id(created)}


@route("viewer")
def search_experiments(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    services.tracking.get_or_create_experiment(DEFAULT_EXPERIMENT)  # MLflow always has it
    view = str(fields.get("view_type") or "ACTIVE_ONLY")
    if view not in ("ACTIVE_ONLY", "DELETED_ONLY", "ALL"):
        raise MlflowError(INVALID, f"view_type {view!r}: use ACTIVE_ONLY, DELETED_ONLY or ALL")
    keep = name_filter(fields.get("filter"))
    found, cursor = [], None
    while True:  # every experiment, a page at a time
        page = services.tracking.list_experiments(limit=1000, cursor=cursor)
        found += [
            e
            for e in page
            if (view == "ALL" or e.deleted == (view == "DELETED_ONLY")) and keep(e.name, e.tags)
        ]
        if not (cursor := page.next_cursor):
            break
    limit = number(fields, "max_results", 1000, MAX_RESULTS)
    return offset_page(found, fields, "experiments", limit, _experiment)


@route("data-scientist")
def update_experiment(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    experiment = experiment_ref(services, need(fields, "experiment_id"))
    services.tracking.update_experiment(experiment.id, name=fields.get("new_name") or None)
    return {}


def _lifecycle(deleted: bool) -> Any:
    @route("data-scientist")
    def change(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
        experiment = experiment_ref(services, need(fields, "experiment_id"))
        if experiment.name == DEFAULT_EXPERIMENT and deleted:
            raise MlflowError(INVALID, "Cannot delete the default experiment '0'.")
        services.tracking.update_experiment(experiment.id, deleted=deleted)
        return {}

    change.__name__ = "delete_experiment" if deleted else "restore_experiment"
    return change


@route("data-scientist")
def set_experiment_tag(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    experiment = experiment_ref(services, need(fields, "experiment_id"))
    key, value = str(need(fields, "key")), str(fields.get("value", ""))
    if key == NOTE:
        services.tracking.update_experiment(experiment.id, description=value)
    else:
        services.tracking.update_experiment(experiment.id, set_tags={key: value})
    return {}


@route("data-scientist")
def delete_experiment_tag(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    experiment = experiment_ref(services, need(fields, "experiment_id"))
    key = str(need(fields, "key"))
    if key == NOTE:
        services.tracking.update_experiment(experiment.id, description="")
    elif key not in experiment.tags:
        raise not_found(f"No tag with name: {key} in experiment {_experiment_id(experiment)}")
    else:
        services.tracking.update_experiment(experiment.id, delete_tags=[key])
    return {}


# runs ------------------------------------------------------------------------------------


def run_info(run: Run) -> dict[str, Any]:
    eid = mlflow_experiment_id(run.experiment, run.experiment_id)
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


def _run(
    services: Services,
    run: Run,
    steps: dict[str, tuple[int, int]] | None = None,
    inputs: list[dict[str, Any]] | None = None,
    *,
    detail: bool = True,
) -> dict[str, Any]:
    """MLflow's Run: ``steps`` are the (step, timestamp) of its latest metric points,
    ``inputs`` its dataset inputs (both looked up when not given)."""
    if steps is None:
        steps = services.tracking.latest_steps([run.id]).get(run.id, {})
    if inputs is None:
        inputs = _dataset_inputs(services, [run.id]).get(run.id, [])
    metrics = [
        {
            "key": k,
            "value": proto_float(v),
            "step": steps.get(k, (0, run.start_time))[0],
            "timestamp": steps.get(k, (0, run.start_time))[1],
        }
        for k, v in sorted(run.metrics.items())
    ]
    tags = dict(run.tags)
    if run.name:
        tags.setdefault("mlflow.runName", run.name)
    out: dict[str, Any] = {
        "info": run_info(run),
        "data": {
            "metrics": metrics,
            "params": key_values(run.params),
            "tags": key_values(tags),
        },
        "inputs": {"dataset_inputs": inputs} if inputs else {},
        "outputs": {},
    }
    if detail:
        logged = services.logged_models.of_run(run.id)
        if logged:
            out["outputs"] = {
                "model_outputs": [{"model_id": m.id, "step": 0} for m in logged if not m.deleted]
            }
    return out


def _run_id(fields: dict[str, Any]) -> str:
    value = fields.get("run_id") or fields.get("run_uuid")
    if not value:
        raise MlflowError(INVALID, "Missing value for required parameter 'run_id'")
    return str(value)


@route("data-scientist")
def create_run(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    experiment = experiment_ref(services, fields.get("experiment_id") or DEFAULT_ID)
    tags = pairs(fields.get("tags"), "tags")
    name = fields.get("run_name") or tags.get("mlflow.runName") or None
    parent = tags.get("mlflow.parentRunId") or None
    run = services.tracking.create_run(
        experiment.name,
        name=name,
        tags=tags,
        parent_id=parent,
        source=tags.get("mlflow.source.name"),
        start_time=int(fields["start_time"]) if fields.get("start_time") else None,
    )
    return {"run": _run(services, run, {}, [], detail=False)}


@route("viewer")
def get_run(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    try:
        run = services.tracking.get_run(_run_id(fields))
    except errors.NotFound:
        raise not_found(f"Run with id={_run_id(fields)} not found") from None
    return {"run": _run(services, run)}


@route("data-scientist")
def update_run(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    status = fields.get("status")
    if status is not None and status not in FROM_STATUS:
        raise MlflowError(INVALID, f"unknown run status {status!r}")
    run = services.tracking.update_run(
        _run_id(fields),
        status=FROM_STATUS.get(status) if status else None,
        end_time=int(fields["end_time"]) if fields.get("end_time") else None,
        name=fields.get("run_name") or None,
    )
    return {"run_info": run_info(run)}


@route("data-scientist")
def delete_run(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    services.tracking.delete_run(_run_id(fields))
    return {}


@route("data-scientist")
def restore_run(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    services.tracking.restore_run(_run_id(fields))
    return {}


def _metric_batch(items: Any) -> dict[str, Series]:
    """MLflow's ``[{key, value, step, timestamp}]`` as one series per key (grouped first,
    converted per key: a log-batch holds up to 1,000 points)."""
    if not isinstance(items, list):
        raise MlflowError(INVALID, "'metrics' must be a list")
    now = int(time.time() * 1000)
    grouped: dict[Any, tuple[list[Any], list[Any], list[Any]]] = {}
    try:
        for item in items:
            key = item["key"]
            group = grouped.get(key)
            if group is None:
                group = grouped[key] = ([], [], [])
            group[0].append(item["value"])
            group[1].append(item.get("step") or 0)
            group[2].append(item.get("timestamp") or now)
    except (TypeError, KeyError):
        raise MlflowError(INVALID, "each metric needs a key and a value") from None
    batch: dict[str, Series] = {}
    for key, (values, steps, stamps) in grouped.items():
        try:  # proto3 JSON: "NaN" and "Infinity" as strings, int64 as numbers or strings
            batch[str(key)] = Series(
                array("d", map(float, values)),
                array("q", map(int, steps)),
                array("q", map(int, stamps)),
            )
        except (TypeError, ValueError):
            raise MlflowError(
                INVALID, f"metric {key!r}: value, step and timestamp must be numbers"
            ) from None
    return batch


@route("data-scientist")
def log_metric(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    item = {k: fields.get(k) for k in ("key", "value", "step", "timestamp")}
    services.tracking.log_metric_series(_run_id(fields), _metric_batch([item]))
    return {}


@route("data-scientist")
def log_param(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    key = str(need(fields, "key"))
    services.tracking.log_params(_run_id(fields), {key: fields.get("value", "")})
    return {}


@route("data-scientist")
def set_tag(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    key = str(need(fields, "key"))
    services.tracking.set_tags(_run_id(fields), {key: fields.get("value", "")})
    return {}


@route("data-scientist")
def delete_tag(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    services.tracking.delete_tag(_run_id(fields), str(need(fields, "key")))
    return {}


@route("data-scientist")
def log_batch(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    run_id = _run_id(fields)
    metrics, params = fields.get("metrics") or [], pairs(fields.get("params"), "params")
    tags = pairs(fields.get("tags"), "tags")
    if len(metrics) > 1000 or len(params) + len(tags) > 100:
        raise MlflowError(
            INVALID,
            "A batch logging request can contain at most 1000 metrics and 100 params and tags",
        )
    if params:
        services.tracking.log_params(run_id, params)
    if tags:
        services.tracking.set_tags(run_id, tags)
    if metrics:
        services.tracking.log_metric_series(run_id, _metric_batch(metrics))
    return {}


@route("data-scientist")
def log_model(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    """MLflow 2's record of a logged model: appended to the run's
    ``mlflow.log-model.history`` tag, as MLflow's server does."""
    run_id = _run_id(fields)
    try:
        model = orjson.loads(str(need(fields, "model_json")))
    except orjson.JSONDecodeError:
        raise MlflowError(INVALID, "model_json is not valid JSON") from None
    run = services.tracking.get_run(run_id)
    try:
        history = orjson.loads(run.tags.get("mlflow.log-model.history", "[]"))
    except orjson.JSONDecodeError:
        history = []
    history = [*history, model] if isinstance(history, list) else [model]
    services.tracking.set_tags(run_id, {"mlflow.log-model.history": orjson.dumps(history).decode()})
    return {}


@route("data-scientist")
def log_inputs(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    """Datasets MLflow's client logged (``mlflow.log_input``): each becomes a version of a
    shipway dataset holding MLflow's description of it (name, digest, source, schema,
    profile), read by the run in its context."""
    run_id = _run_id(fields)
    services.artifacts.check_run(run_id)
    for item in as_list(fields.get("datasets")):
        dataset = item.get("dataset") if isinstance(item, dict) else None
        if not isinstance(dataset, dict) or not dataset.get("name"):
            raise MlflowError(INVALID, "each dataset input needs a dataset with a name")
        context = pairs(item.get("tags"), "tags").get("mlflow.data.context", "") or "input"
        log_described_input(services.datasets, run_id, dataset, context)
    for item in as_list(fields.get("models")):  # a logged model a run read
        if isinstance(item, dict) and item.get("model_id"):
            services.logged_models.get(str(item["model_id"]))  # it must exist
    return {}


def _dataset_inputs(services: Services, run_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """MLflow's dataset inputs of each run: one query for the page, then each dataset
    version once (a dataset MLflow logged shows MLflow's own description of it)."""
    found: dict[str, list[dict[str, Any]]] = {}
    if not run_ids:
        return found
    seen: dict[str, dict[str, Any]] = {}
    for used in services.datasets.inputs_of_runs(run_ids):
        ref = f"{used.dataset}@{used.version}"
        if ref not in seen:
            version = services.datasets.get(ref)
            seen[ref] = {
                "name": used.dataset,
                "digest": version.manifest_digest[:8],
                "source_type": "shipway",
                "source": orjson.dumps({"uri": ref}).decode(),
            }
            logged = described(services.datasets, version) or {}
            seen[ref].update({k: v for k, v in logged.items() if v})
        found.setdefault(used.run_id, []).append(
            {
                "tags": [{"key": "mlflow.data.context", "value": used.context}],
                "dataset": seen[ref],
            }
        )
    return found


@route("data-scientist")
def log_outputs(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    """The models a run produced: in shipway a logged model always belongs to its run, so
    this only checks that they exist and belong to it."""
    run_id = _run_id(fields)
    for item in as_list(fields.get("models")):
        if not isinstance(item, dict) or not item.get("model_id"):
            raise MlflowError(INVALID, "each model output needs a model_id")
        model = services.logged_models.get(str(item["model_id"]))
        if model.run_id != run_id:
            raise MlflowError(
                INVALID, f"logged model {model.id} belongs to run {model.run_id}, not {run_id}"
            )
    return {}


@route("viewer")
def metric_history(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    run_id, key = _run_id(fields), str(need(fields, "metric_key"))
    points = services.tracking.get_metric_history(run_id, key).items
    limit = number(fields, "max_results", 25_000, 25_000)
    return offset_page(
        points,
        fields,
        "metrics",
        limit,
        lambda p: {
            "key": p.key,
            "value": proto_float(p.value),
            "timestamp": p.timestamp,
            "step": p.step,
        },
    )


@route("viewer")
def search_runs(services: Services, fields: dict[str, Any]) -> dict[str, Any]:
    ids = as_list(fields.get("experiment_ids"))
    experiments = [experiment_ref(services, i).name for i in ids] or None
    limit = number(fields, "max_results", 1000, MAX_RESULTS)
    order = [str(o) for o in as_list(fields.get("order_by"))]
    view = VIEWS.get(str(fields.get("run_view_type") or "ACTIVE_ONLY"))
    if view is None:
        raise MlflowError(INVALID, "run_view_type must be ACTIVE_ONLY, DELETED_ONLY or ALL")
    page = services.tracking.search_runs(
        experiments,
        filter=fields.get("filter") or None,
        order_by=order,
        limit=min(limit, 1000),
        cursor=fields.get("page_token") or None,
        include_deleted=view != "ACTIVE_ONLY",
    )
    if view == "DELETED_ONLY":  # a page may then hold fewer than asked; the token goes on
        page = Page([r for r in page if r.deleted], page.next_cursor)
    steps = services.tracking.latest_steps([r.id for r in page])
    inputs = _dataset_inputs(services, [r.id for r in page])
    answer: dict[str, Any] = {
        "runs": [
            _run(services, r, steps.get(r.id, {}), inputs.get(r.id, []), detail=False) for r in page
        ]
    }
    if page.next_cursor:
        answer["next_page_token"] = page.next_cursor
    return answer


def add(routes: Routes) -> None:
    """The routes, by MLflow's paths and methods."""
    table: list[tuple[str, str, Any]] = [
        ("GET", "/experiments/get-by-name", get_experiment_by_name),
        ("GET", "/experiments/get", get_experiment),
        ("POST", "/experiments/create", create_experiment),
        ("POST", "/experiments/search", search_experiments),
        ("GET", "/experiments/search", search_experiments),
        ("POST", "/experiments/update", update_experiment),
        ("POST", "/experiments/delete", _lifecycle(deleted=True)),
        ("POST", "/experiments/restore", _lifecycle(deleted=False)),
        ("POST", "/experiments/set-experiment-tag", set_experiment_tag),
        ("POST", "/experiments/delete-experiment-tag", delete_experiment_tag),
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
        ("POST", "/runs/log-model", log_model),
        ("POST", "/runs/log-inputs", log_inputs),
        ("POST", "/runs/outputs", log_outputs),
        ("POST", "/runs/search", search_runs),
        ("GET", "/metrics/get-history", metric_history),
    ]
    for method, path, handler in table:
        routes.add(method, path, handler)
