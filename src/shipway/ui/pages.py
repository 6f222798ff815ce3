"""The reading pages: home ("what is going on"), runs, a run, compare, datasets, and the
charts' data. (Models are in ``models.py``, sign-in in ``signin.py``; what every page
shares in ``web.py``.)

Every view's state is in its URL (experiments, filter, order, columns, page cursor), so a
link shows the same view to whoever opens it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from shipway import errors
from shipway.records import Run
from shipway.services import Services
from shipway.tracking.validation import X_AXES
from shipway.ui.web import Form, action, caller, keyset_page, page, render

STATIC = Path(__file__).parent / "static"
MAX_COLUMNS = 12  # columns offered by default: the keys the page's runs have, up to this


router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
@page("viewer")
def home(request: Request, services: Services) -> HTMLResponse:
    """Recent experiments, the models with their production version, open alerts."""
    experiments = services.tracking.list_experiments(limit=20)
    models = services.registry.list_models()
    alerts = services.monitoring.list_alerts(status="open", limit=20)
    return render(
        "home.html", request=request, experiments=experiments, models=models, alerts=alerts
    )


@router.get("/runs", response_class=HTMLResponse)
@page("viewer")
def runs(
    request: Request,
    services: Services,
    experiment: list[str] = Query(default=[]),  # noqa: B008 - FastAPI's way
    filter: str = "",
    order: list[str] = Query(default=[]),  # noqa: B008
    columns: str = "",
    cursor: str | None = None,
    limit: int = Query(default=100, ge=1, le=500),
    group: str = "",
) -> HTMLResponse:
    """The runs of one or more experiments (all when none is named): filtered, ordered,
    a page at a time, with the columns asked for; with ``group`` (``params.NAME``,
    ``tags.NAME``, ``status`` or ``user``) the matching runs' groups above them, with the
    mean, min, max and std of each metric column."""
    refs: list[str | int] = [int(r) if r.isdigit() else r for r in experiment]
    problem = None
    found: Sequence[Run] = ()
    next_cursor = None
    try:
        result = services.tracking.search_runs(  # an unknown experiment: a 404 page
            refs or None,
            filter=filter or None,
            order_by=order,
            limit=limit,
            cursor=cursor,
        )
        found, next_cursor = result.items, result.next_cursor
    except errors.FilterSyntaxError as exc:
        problem = {"message": exc.reason, "position": exc.position, "field": "filter"}
    except errors.InvalidInput as exc:
        if not (isinstance(exc.details, dict) and "order_by" in exc.details):
            raise  # a bad cursor, limit, …: the 400 page
        problem = {"message": exc.message, "position": None, "field": "order"}
    groups = None
    if group and not problem:
        try:
            groups = services.tracking.group_runs(refs or None, by=group, filter=filter or None)
        except errors.InvalidInput as exc:
            problem = {"message": exc.message, "position": None, "field": "group"}
    chosen = [c.strip() for c in columns.split(",") if c.strip()]
    shown = chosen or _default_columns(found)
    state = {
        "experiment": experiment,
        "filter": filter,
        "order": order,
        "columns": columns,
        "group": group,
    }
    params_seen = sorted({k for r in found for k in r.params})
    read: dict[str, list[Any]] = {}
    if found:
        for item in services.datasets.inputs_of_runs([r.id for r in found]):
            read.setdefault(item.run_id, []).append(item)
    return render(
        "runs.html",
        400 if problem else 200,
        request=request,
        runs=found,
        columns=shown,
        state=state,
        problem=problem,
        next_url=_url(state, cursor=next_cursor) if next_cursor else None,
        sort_url=lambda column, direction: _url(state, order=[f"{column} {direction}"]),
        sorted_by=_sorted_by(order),
        value=_value,
        groups=groups,
        read=read,
        group_options=[*(f"params.{k}" for k in params_seen), "status", "user"],
        group_metrics=[c.removeprefix("metrics.") for c in shown if c.startswith("metrics.")],
        group_url=lambda value: _url(
            {**state, "group": ""}, filter=_and(filter, _condition(group, value))
        ),
    )


MAX_CHARTED = 10  # series a chart draws by default


@router.get("/runs/{run_id}", response_class=HTMLResponse)
@page("viewer")
def run_page(
    request: Request,
    services: Services,
    run_id: str,
    key: list[str] = Query(default=[]),  # noqa: B008 - FastAPI's way
    x: str = "step",
    log: bool = False,
    smooth: float = Query(default=0.0, ge=0.0, le=0.99),
) -> HTMLResponse:
    """One run: params, latest metrics (charted, the chart's settings in the URL), tags,
    git, the dataset versions it read and its artifacts."""
    run = services.tracking.get_run(run_id)  # a 404 page when unknown
    keys = sorted(run.metrics)
    chart = {
        "metrics": keys,
        "chosen": [k for k in key if k in run.metrics] or keys[:MAX_CHARTED],
        "x": x if x in X_AXES else "step",
        "log": log,
        "smooth": smooth,
        "src": urlencode([("run", run.id)]),
        "labels": {run.id: run.name or run.id[:8]},
        "hidden": [],
    }
    files = services.artifacts.list(run.id)
    return render(
        "run.html",
        request=request,
        run=run,
        chart=chart,
        inputs=services.datasets.inputs(run.id),
        outputs=services.registry.versions_from_run(run.id),
        artifacts=files,
        environment=_captured(services, run.id, files, ENVIRONMENT),
        diff=_captured(services, run.id, files, GIT_DIFF),
        experiment_url=_url({"experiment": [run.experiment]}),
    )


ENVIRONMENT = "_shipway/environment.json"  # what start_run captured (tracking/capture.py)
GIT_DIFF = "_shipway/git.diff"  # the uncommitted changes of a dirty work tree
MAX_CAPTURED = 512 * 1024  # bytes of either shown on the run page


def _captured(services: Services, run_id: str, files: Sequence[Any], path: str) -> Any:
    """What the run captured at ``path`` (the environment as data, the diff as text), or
    None when it has none or it is too big or unreadable to show."""
    found = next((f for f in files if f.path == path), None)
    if found is None or found.size > MAX_CAPTURED:
        return None
    _, chunks = services.artifacts.open(run_id, path)
    data = b"".join(chunks)
    if path.endswith(".json"):  # any run may write this file: keep only what fits
        try:
            found = orjson.loads(data)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(found, dict):
            return None
        packages = found.get("packages")
        if not isinstance(packages, dict):
            found.pop("packages", None)
        else:
            found["packages"] = {str(k): str(v) for k, v in packages.items()}
        return {k: v if k == "packages" else str(v) for k, v in found.items()}
    return data.decode("utf-8", errors="replace")


@router.post("/runs/{run_id}/note")
@action("tracking.update_run")
def set_note(request: Request, services: Services, form: Form, run_id: str) -> str:
    """Replace the run's note (its description, Markdown)."""
    services.tracking.update_run(run_id, description=form.get("note", ""))
    return f"/runs/{quote(run_id, safe='')}#notes"


@router.get("/ui/series")
def series_data(
    request: Request,
    run: list[str] = Query(default=[]),  # noqa: B008 - FastAPI's way
    key: list[str] = Query(default=[]),  # noqa: B008
    x: str = "step",
    points: int = 1000,
    x_min: float | None = None,
    x_max: float | None = None,
) -> Response:
    """Chart data for the pages' charts (JSON; errors in the API's error envelope)."""
    found = caller(request, "viewer").tracking.metric_series(
        run, key, x=x, points=points, x_min=x_min, x_max=x_max
    )
    body = orjson.dumps({"series": [dataclasses.asdict(s) for s in found]})
    return Response(body, media_type="application/json")


MAX_COMPARED = 100  # runs one compare page shows side by side


@router.get("/compare", response_class=HTMLResponse)
@page("viewer")
def compare_page(
    request: Request,
    services: Services,
    run: list[str] = Query(default=[]),  # noqa: B008 - FastAPI's way
    diff: bool = False,
    key: list[str] = Query(default=[]),  # noqa: B008
    x: str = "step",
    log: bool = False,
    smooth: float = Query(default=0.0, ge=0.0, le=0.99),
    sx: str = "",
    sy: str = "",
) -> HTMLResponse:
    """Runs side by side: their curves overlaid, their params and latest metrics one row
    per key (with ``diff`` only the keys whose values differ), parallel coordinates over
    every param and metric, and a scatter of any two (``sx``, ``sy``)."""
    ids = list(dict.fromkeys(run))
    if not ids:
        raise errors.InvalidInput("pick runs to compare: tick them in the runs table")
    if len(ids) > MAX_COMPARED:
        raise errors.InvalidInput(f"compare at most {MAX_COMPARED} runs at once")
    listed = ", ".join(_quote(i) for i in ids)  # one query for every run compared
    by_id = {
        r.id: r
        for r in services.tracking.search_runs(
            None, filter=f"attributes.id IN ({listed})", limit=MAX_COMPARED, include_deleted=True
        )
    }
    for unknown in (i for i in ids if i not in by_id):
        services.tracking.get_run(unknown)  # raises the 404 page naming it
    runs = [by_id[i] for i in ids]
    sections = []
    for title, kind in (("Params", "params"), ("Metrics (latest)", "metrics")):
        keys = sorted({k for r in runs for k in getattr(r, kind)})
        rows = []
        for name in keys:
            values = [getattr(r, kind).get(name) for r in runs]
            differs = len({repr(v) for v in values}) > 1
            if differs or not diff:
                rows.append({"key": name, "cells": values, "differs": differs})
        sections.append({"title": title, "rows": rows, "keys": len(keys)})
    query = [("run", i) for i in ids]
    metric_keys = sorted({k for r in runs for k in r.metrics})
    axes = [f"params.{k}" for k in sorted({k for r in runs for k in r.params})]
    axes += [f"metrics.{k}" for k in metric_keys]
    labels = {r.id: r.name or r.id[:8] for r in runs}
    chart = {
        "metrics": metric_keys,
        "chosen": [k for k in key if k in metric_keys] or metric_keys[:1],
        "x": x if x in X_AXES else "step",
        "log": log,
        "smooth": smooth,
        "src": urlencode(query),
        "labels": labels,
        "hidden": [*query, *([("diff", "true")] if diff else [])],
    }
    first_metric = next((a for a in axes if a.startswith("metrics.")), axes[-1] if axes else "")
    scatter = {  # by default the first param against the first metric
        "x": sx if sx in axes else (axes[0] if axes else ""),
        "y": sy if sy in axes else first_metric,
    }
    plot = {
        "axes": axes,
        "runs": [
            {"id": r.id, "label": labels[r.id], "values": [_value(r, a) for a in axes]}
            for r in runs
        ],
        "scatter": scatter,
    }
    return render(
        "compare.html",
        request=request,
        runs=runs,
        sections=sections,
        diff=diff,
        chart=chart,
        plot=plot,
        toggle_url="/compare?" + urlencode(query if diff else [*query, ("diff", "true")]),
    )


MAX_FILES = 200  # files listed on a dataset page; the count says how many there are


@router.get("/datasets", response_class=HTMLResponse)
@page("viewer")
def datasets_page(request: Request, services: Services, after: str | None = None) -> HTMLResponse:
    """The datasets by name, 100 a page (``after``: the last name of the page before),
    each with its latest version."""
    shown, last = keyset_page(services.datasets.list_datasets(), lambda d: d.name, after)
    return render("datasets.html", request=request, datasets=shown, next_after=last)


@router.get("/datasets/{name}", response_class=HTMLResponse)
@page("viewer")
def dataset_page(
    request: Request,
    services: Services,
    name: str,
    version: int | None = None,
    against: int | None = None,
) -> HTMLResponse:
    """One dataset: its versions (newest first) with the runs that read each; one version
    (the latest unless ``version`` is given): its profile per table (statistics,
    histograms, top values), its data sheet and its files; with ``against``, what changed
    from that version to this one (files, and per column its shift)."""
    from shipway.datasets.sheets import profile_to_markdown

    versions = sorted(services.datasets.versions(name), key=lambda v: -v.version)
    shown = services.datasets.get(f"{name}@{version}" if version else name)
    files = services.datasets.manifest(shown)
    used: dict[int, list[Any]] = {v.version: [] for v in versions}
    for item in services.datasets.readers(name):  # one query for every version
        used.setdefault(item.version, []).append(item)
    tables = (shown.profile or {}).get("files", {})
    sheets = {rel: profile_to_markdown(p, f"{shown.ref}: {rel}") for rel, p in tables.items()}
    diff = services.datasets.diff(f"{name}@{against}", shown.ref) if against else None
    return render(
        "dataset.html",
        request=request,
        name=name,
        versions=versions,
        shown=shown,
        files=files[:MAX_FILES],
        file_count=len(files),
        used=used,
        tables=tables,
        sheets=sheets,
        diff=diff,
        against=against,
    )


def _condition(column: str, value: str | None) -> str:
    """The filter that picks one group's runs (the filter language's quoting)."""
    kind, dot, key = column.partition(".")
    if dot and not key.replace("_", "").isalnum():
        column = f"{kind}.`{key.replace('`', '``')}`"
    return f"{column} IS NULL" if value is None else f"{column} = {_quote(value)}"


def _quote(value: str) -> str:
    """A string literal of the filter language."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _and(first: str, second: str) -> str:
    return f"({first}) and {second}" if first.strip() else second


def _default_columns(found: Sequence[Run]) -> list[str]:
    params = sorted({k for r in found for k in r.params})
    metrics = sorted({k for r in found for k in r.metrics})
    return ([f"params.{k}" for k in params] + [f"metrics.{k}" for k in metrics])[:MAX_COLUMNS]


def _value(run: Run, column: str) -> Any:
    kind, _, key = column.partition(".")
    sources: dict[str, dict[str, Any]] = {
        "params": run.params,
        "metrics": run.metrics,
        "tags": run.tags,
    }
    source = sources.get(kind)
    if source is not None:
        return source.get(key)
    return getattr(run, column, None) if column in ("name", "status", "user") else None


def _sorted_by(order: list[str]) -> tuple[str, str] | None:
    if not order:
        return None
    column, _, direction = order[0].strip().partition(" ")
    return column, (direction.strip().upper() or "ASC")


def _url(state: dict[str, Any], **change: Any) -> str:
    """The runs page's URL with ``state`` changed by ``change`` (empty values dropped)."""
    merged: dict[str, Any] = {**state, **change}
    query = [(k, v) for k, v in merged.items() if isinstance(v, str) and v]
    for key in ("experiment", "order"):
        query = [q for q in query if q[0] != key]
        query += [(key, item) for item in merged.get(key) or []]
    return "/runs?" + urlencode(query)


def install(app: Any) -> None:
    """Add the pages, their forms and their assets to the platform app."""
    from shipway.ui import artifacts, models, production, signin

    app.mount("/ui/static", StaticFiles(directory=STATIC), name="ui-static")
    app.include_router(router)
    app.include_router(artifacts.router)
    app.include_router(models.router)
    app.include_router(production.router)
    app.include_router(signin.router)
