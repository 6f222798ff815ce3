"""Logged models: what MLflow 3's client makes with ``mlflow.<flavor>.log_model``.

A logged model is created PENDING, its files are uploaded, then it is finalized READY.
Its files are stored as artifacts of its run (under ``artifact_path``, the model's name
when that is free), so the run's artifact browser, ``runs:/RUN/NAME`` and every shipway
command see them. When it turns READY and its folder holds MLflow's ``MLmodel``, a
``model.yaml`` describing the same files is added beside it: the folder is then a shipway
model package, which registers, serves, gates and monitors like any other, while
``mlflow.pyfunc.load_model`` still loads it as MLflow wrote it.
"""

from __future__ import annotations

import copy
import re
import secrets
from collections.abc import Mapping
from typing import Any

import orjson
import yaml

from shipway.errors import Conflict, InvalidInput, NotFound
from shipway.models import mlflow_format
from shipway.models.info import MODEL_YAML, FileEntry
from shipway.records import MlflowLoggedModel, Page
from shipway.store import events
from shipway.store import logged_models as repo
from shipway.store import runs as runs_repo
from shipway.store.db import Database
from shipway.tracking import validation as check
from shipway.tracking.artifacts import ArtifactService
from shipway.tracking.service import (
    TrackingService,
    decode_cursor,
    now_ms,
    page_of,
)

STATUSES = ("pending", "ready", "failed")
MODEL_ID = re.compile(r"m-[0-9a-f]{32}")
HOLDER_TAG = "shipway.holds_logged_model"  # on a run made to hold a run-less model's files


class LoggedModelService:
    def __init__(self, db: Database, artifacts: ArtifactService, actor: str = "unknown") -> None:
        self.db = db
        self.artifacts = artifacts
        self.actor = actor
        self._runs = TrackingService(db, actor)

    def with_actor(self, actor: str) -> LoggedModelService:
        other = copy.copy(self)
        other.actor = actor
        other.artifacts = self.artifacts.with_actor(actor)
        other._runs = self._runs.with_actor(actor)
        return other

    def create(
        self,
        experiment: int | str,
        name: str | None = None,
        *,
        run_id: str | None = None,
        model_type: str = "",
        tags: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        model_id: str | None = None,
    ) -> MlflowLoggedModel:
        """A new PENDING logged model of ``run_id`` (or, without one, of a run made to
        hold its files) in ``experiment``; ``model_id`` keeps another store's id."""
        if model_id is not None and not MODEL_ID.fullmatch(model_id):
            raise InvalidInput(f"logged model id {model_id!r} must look like m-<32 hex digits>")
        model_id = model_id or f"m-{secrets.token_hex(16)}"
        name = name or f"model-{model_id[2:10]}"
        check.check_name("model", name)
        exp = self._runs.get_experiment(experiment)
        source_run = run_id is not None
        if run_id is None:
            held = self._runs.create_run(
                exp.name, name=f"logged model {name}", tags={HOLDER_TAG: model_id}
            )
            self._runs.update_run(held.id, status="finished")
            run_id = held.id
        now = now_ms()
        with self.db.write() as conn:
            pk = self._runs._writable_run_pk(conn, run_id)
            run = runs_repo.load(conn, [pk])[0]
            if run.experiment_id != exp.id:
                raise InvalidInput(
                    f"run {run_id} is in experiment {run.experiment_id}, not {exp.id}; log "
                    "the model in the run's own experiment"
                )
            path = name
            if repo.at_path(conn, pk, path) or self.artifacts.list(run_id, path):
                path = f"{name}-{model_id[2:10]}"  # the name is taken in this run
            repo.insert(
                conn,
                {
                    "id": model_id,
                    "experiment_id": exp.id,
                    "run_pk": pk,
                    "source_run": source_run,
                    "name": name,
                    "artifact_path": path,
                    "status": "pending",
                    "model_type": model_type or "",
                    "tags": _json(tags),
                    "params": _json(params),
                    "created_at": now,
                    "updated_at": now,
                    "created_by": self.actor,
                },
            )
            events.record(
                conn, self.actor, "log_model", "run", run_id, {"model": model_id, "path": path}
            )
            found = repo.get(conn, model_id)
        assert found is not None
        return found

    def get(self, model_id: str, *, allow_deleted: bool = False) -> MlflowLoggedModel:
        with self.db.read() as conn:
            found = repo.get(conn, str(model_id))
        if found is None or (found.deleted and not allow_deleted):
            raise NotFound(f"no logged model {model_id!r}")
        return found

    def at_path(self, run_id: str, path: str) -> MlflowLoggedModel | None:
        """The logged model whose files are at ``runs:/run_id/path``, if any."""
        with self.db.read() as conn:
            return repo.at_path(conn, self._runs._run_pk(conn, run_id), path)

    def of_run(self, run_id: str) -> list[MlflowLoggedModel]:
        with self.db.read() as conn:
            return repo.of_run(conn, self._runs._run_pk(conn, run_id))

    def finalize(self, model_id: str, status: str) -> MlflowLoggedModel:
        """Mark the model ``ready`` (its files are all uploaded: a model.yaml is added
        for an MLflow folder) or ``failed``."""
        if status not in STATUSES:
            raise InvalidInput(f"logged model status {status!r}; use one of {STATUSES}")
        model = self.get(model_id)
        if status == "ready":
            self.ensure_package(model.run_id, model.artifact_path)
        self._update(model.id, {"status": status})
        return self.get(model.id)

    def set_tags(self, model_id: str, tags: Mapping[str, Any]) -> MlflowLoggedModel:
        model = self.get(model_id)
        clean = {check.check_key("tag", k): str(v) for k, v in tags.items()}
        self._update(model.id, {"tags": _json({**model.tags, **clean})})
        return self.get(model.id)

    def delete_tag(self, model_id: str, key: str) -> MlflowLoggedModel:
        model = self.get(model_id)
        if key not in model.tags:
            raise NotFound(f"logged model {model_id} has no tag {key!r}")
        self._update(model.id, {"tags": _json({k: v for k, v in model.tags.items() if k != key})})
        return self.get(model.id)

    def log_params(self, model_id: str, params: Mapping[str, Any]) -> MlflowLoggedModel:
        model = self.get(model_id)
        clean = {check.check_key("param", k): check.param_value(k, v) for k, v in params.items()}
        for key, value in clean.items():
            if key in model.params and model.params[key] != value:
                raise Conflict(
                    f"param {key!r} of logged model {model_id} is already "
                    f"{model.params[key]!r}; params are immutable"
                )
        self._update(model.id, {"params": _json({**model.params, **clean})})
        return self.get(model.id)

    def delete(self, model_id: str) -> None:
        self._update(self.get(model_id).id, {"deleted": True})

    def search(
        self,
        experiments: list[int | str] | None = None,
        *,
        name: str | None = None,
        run_id: str | None = None,
        deleted: bool = False,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[MlflowLoggedModel]:
        """Newest first."""
        if not 1 <= limit <= 1000:
            raise InvalidInput(f"limit must be 1 to 1000, got {limit}")
        after = None
        if cursor:
            state = decode_cursor(cursor, "logged-models")
            after = (int(state["t"]), str(state["id"]))
        with self.db.read() as conn:
            ids = [self._runs._experiment(conn, e).id for e in experiments or []]
            pk = self._runs._run_pk(conn, run_id) if run_id is not None else None
            items = repo.search(
                conn, ids, name=name, run_pk=pk, deleted=deleted, after=after, limit=limit + 1
            )
        return page_of(
            items, limit, lambda last: {"t": last.created_at, "id": last.id}, "logged-models"
        )

    def ensure_package(self, run_id: str, path: str) -> bool:
        """Make the MLflow model folder at ``runs:/run_id/path`` a shipway package by
        writing its model.yaml (once). False when the folder is not an MLflow model or
        already is a package."""
        clean = check.artifact_path(path)
        found = {a.path[len(clean) + 1 :]: a for a in self.artifacts.list(run_id, clean)}
        if MODEL_YAML in found or not mlflow_format.is_mlflow_model(found):
            return False
        files = {rel: FileEntry(a.digest, a.size) for rel, a in found.items() if rel}
        try:
            info = mlflow_format.describe(
                files, lambda rel: self.artifacts.blobs.get_bytes(found[rel].digest)
            )
        except InvalidInput as exc:
            raise InvalidInput(f"runs:/{run_id}/{clean}: {exc.message}") from None
        text = yaml.safe_dump(info.to_dict(), sort_keys=False, allow_unicode=True, width=100)
        self.artifacts.log_stream(run_id, f"{clean}/{MODEL_YAML}", [text.encode("utf-8")])
        return True

    def _update(self, model_id: str, values: dict[str, Any]) -> None:
        with self.db.write() as conn:
            repo.update(conn, model_id, {**values, "updated_at": now_ms()})


def _json(values: Mapping[str, Any] | None) -> str:
    return orjson.dumps({str(k): str(v) for k, v in (values or {}).items()}).decode()
