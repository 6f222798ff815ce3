"""The MLflow REST face: the unmodified ``mlflow`` client pointed at ``shipway server``
(``MLFLOW_TRACKING_URI=http://host:5050``) logs into shipway's own store.

MLflow's names map onto shipway's records one to one: an MLflow experiment is a shipway
experiment (the Default experiment answers to MLflow's id ``"0"``), a run a run, a param
a param, a metric a metric point, a tag a tag. Every route calls the same services the
platform API does, as the caller (with auth on, the bearer token the client sends as
``MLFLOW_TRACKING_TOKEN``; with auth off, the ``user_id`` it names).

Errors answer in MLflow's shape, ``{"error_code": "RESOURCE_DOES_NOT_EXIST", "message"}``,
because the client decides on the code (a missing experiment is created, for one).

This first part covers experiments and runs: what ``mlflow.set_experiment``,
``start_run``, ``log_param(s)``, ``log_metric(s)``, ``set_tag(s)``, ``end_run``,
``get_run``, ``search_runs`` and the metric history call.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from shipway.api.mlflow import tracking


def install(app: FastAPI) -> None:
    """Serve the MLflow routes under /api/2.0/mlflow (and /ajax-api/2.0/mlflow, which
    MLflow's own UI uses)."""
    for prefix in ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow"):
        router = APIRouter(prefix=prefix, include_in_schema=False)
        tracking.add(router)
        app.include_router(router)


__all__ = ["install"]
