"""``shipway import mlflow``: bring an MLflow store's history into shipway.

The source is read with MLflow's own client (``shipway[mlflow]``), so whatever it reads
works: a tracking server URL, an MLflow database (``sqlite:///…``, ``postgresql://…``,
whose runs name their artifact folders), or an ``mlruns`` folder. Everything comes
across with its original ids where shipway's ids have the same form (run ids, logged
model ids) and is recorded in the ``imported`` table otherwise: experiments (tags,
deletion), runs (params, every metric point with its step and time, tags, status, times,
user, deletion), artifacts, dataset inputs, logged models (made shipway packages),
registered models, versions (tags, stages) and aliases.

It is resumable and idempotent: each run is marked done only once all of it is stored,
so a second import skips it, and an interrupted one continues it (params and tags are
set again with the same values, metrics only if none were stored, files are
content-addressed).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipway import errors
from shipway.datasets.external import log_described_input
from shipway.records import Series
from shipway.services import Services
from shipway.store import imported as imported_repo
from shipway.tracking.service import DEFAULT_EXPERIMENT

STATUS = {"RUNNING": "running", "SCHEDULED": "running", "FINISHED": "finished"}
STATUS |= {"FAILED": "failed", "KILLED": "killed"}
PAGE = 1000


@dataclass
class Summary:
    """What an import brought in, what it skipped (done before) and why not the rest."""

    imported: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "imported": dict(self.imported),
            "skipped": dict(self.skipped),
            "problems": self.problems,
        }


DATABASES = ("sqlite:", "postgresql", "mysql", "mssql")


def open_source(uri: str, spool: Path) -> tuple[Any, str]:
    """MLflow's client on ``uri``, and the URI it reads. An ``mlruns`` folder is read
    even though MLflow keeps its file store in maintenance mode. MLflow's client migrates
    a database it finds older than itself, so an SQLite file is read from a copy in
    ``spool``, and another database only when its schema is the client's own."""
    from shipway.models.optional import require

    require("mlflow", "mlflow")
    from mlflow.tracking import MlflowClient

    path = Path(uri.removeprefix("file://"))
    if uri.startswith("sqlite:"):
        uri = _copy_sqlite(uri, spool)
    elif uri.startswith(DATABASES):
        _check_schema(uri)
    elif "://" not in uri.replace("file://", "") and not uri.startswith("http"):
        if not path.is_dir():
            raise errors.InvalidInput(
                f"{uri} is not a folder; give an mlruns folder, an MLflow database URI "
                "(sqlite:///mlflow.db, postgresql://…) or a tracking server URL"
            )
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        uri = path.resolve().as_uri()
    return MlflowClient(tracking_uri=uri, registry_uri=uri), uri


def _copy_sqlite(uri: str, spool: Path) -> str:
    import sqlite3

    file = Path(uri.removeprefix("sqlite:///")) if uri.startswith("sqlite:///") else None
    if file is None or not file.is_file():
        raise errors.InvalidInput(f"{uri}: no SQLite file there; use sqlite:///path/to/mlflow.db")
    copy = spool / "mlflow-source.db"
    source = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True)
    target = sqlite3.connect(copy)
    try:
        source.backup(target)  # a consistent copy, even while MLflow writes to it
    finally:
        source.close()
        target.close()
    return f"sqlite:///{copy}"


def _check_schema(uri: str) -> None:
    import sqlalchemy as sa
    from mlflow.store.db.utils import _get_latest_schema_revision

    engine = sa.create_engine(uri)
    try:
        with engine.connect() as conn:
            found = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    except sa.exc.SQLAlchemyError as exc:
        raise errors.InvalidInput(f"{uri}: cannot read MLflow's schema version: {exc}") from None
    finally:
        engine.dispose()
    expected = _get_latest_schema_revision()  # type: ignore[no-untyped-call]
    if found != expected:
        raise errors.Conflict(
            f"{uri} has MLflow schema {found}, and the installed mlflow client expects "
            f"{expected}: it would migrate your database. Install the mlflow version that "
            "wrote it, import from a copy of the database, or from its server's URL"
        )


class MlflowImport:
    def __init__(
        self,
        services: Services,
        source: Any,
        source_name: str,
        progress: Callable[[str], None],
        reader: HistoryReader,
        artifact_root: Path | None = None,
    ) -> None:
        self.services = services
        self.reader = reader
        self.artifact_root = artifact_root
        self.source = source
        self.name = source_name[:255]
        self.progress = progress
        self.summary = Summary()
        self.experiments: dict[str, str] = {}  # MLflow experiment id -> shipway name
        self.experiment_ids: dict[str, int] = {}  # … -> shipway id
        self.logged: dict[str, list[Any]] = {}  # the current experiment's, by run id
        self.histories: dict[str, dict[str, Series]] = {}  # the current page's, by run id

    # the record of what came across ------------------------------------------------------

    def _done(self, kind: str, external: str) -> str | None:
        with self.services.db.read() as conn:
            return imported_repo.local_id(conn, self.name, kind, external)

    def _mark(self, kind: str, external: str, local: str) -> None:
        with self.services.db.write() as conn:
            imported_repo.record(conn, self.name, kind, external, local)

    # the steps ----------------------------------------------------------------------------

    def run(self) -> Summary:
        from mlflow.entities import ViewType

        experiments = list(
            self._paged(lambda **page: self.source.search_experiments(ViewType.ALL, **page))
        )
        for experiment in experiments:
            self._experiment(experiment)
        for experiment in experiments:
            self.logged = self._logged_by_run(experiment.experiment_id)
            for page in self._run_pages(experiment.experiment_id):
                self.histories = self.reader.histories(page)
                for run in page:
                    self._run(run)
        self._registry()
        return self.summary

    def _experiment(self, experiment: Any) -> None:
        tracking = self.services.tracking
        name = DEFAULT_EXPERIMENT if experiment.experiment_id == "0" else experiment.name
        self.experiments[experiment.experiment_id] = name
        local = tracking.get_or_create_experiment(name)
        self.experiment_ids[experiment.experiment_id] = local.id
        if self._done("experiment", experiment.experiment_id):
            self.summary.skipped["experiments"] += 1
            return
        tags = {k: v for k, v in experiment.tags.items() if k != "mlflow.note.content"}
        tracking.update_experiment(
            local.id,
            description=experiment.tags.get("mlflow.note.content") or None,
            set_tags=tags or None,
            deleted=experiment.lifecycle_stage == "deleted",
        )
        self._mark("experiment", experiment.experiment_id, str(local.id))
        self.summary.imported["experiments"] += 1

    def _run_pages(self, experiment_id: str) -> Iterator[list[Any]]:
        from mlflow.entities import ViewType

        token = None
        while True:
            page = self.source.search_runs(
                [experiment_id], run_view_type=ViewType.ALL, max_results=PAGE, page_token=token
            )
            done = [r for r in page if self._done("run-done", r.info.run_id) is None]
            self.summary.skipped["runs"] += len(page) - len(done)
            if done:
                yield done
            if not (token := page.token):
                break

    def _logged_by_run(self, experiment_id: str) -> dict[str, list[Any]]:
        """The experiment's logged models by their run, read once."""
        found: dict[str, list[Any]] = {}
        token = None
        while True:
            page = self.source.search_logged_models(
                experiment_ids=[experiment_id], max_results=100, page_token=token
            )
            for model in page:
                found.setdefault(model.source_run_id or "", []).append(model)
            if not (token := page.token):
                break
        return found

    def _run(self, source: Any) -> None:
        info, data = source.info, source.data
        self.progress(f"run {info.run_id}")
        tracking = self.services.tracking
        tags = dict(data.tags)
        parent = tags.get("mlflow.parentRunId")
        if parent and self._done("run-done", parent) is None:
            parent = None  # its parent was not imported (yet): keep the tag only
        histories = self.histories.get(info.run_id)
        if histories is None and data.metrics:
            histories = self._histories(info.run_id, data.metrics)
        created = tracking.import_run(  # the run, its params, tags and metrics: one write
            self.experiment_ids[info.experiment_id],
            info.run_id,
            name=info.run_name or None,
            user=info.user_id or self.services.actor,
            start_time=info.start_time,
            end_time=info.end_time,
            status=STATUS.get(info.status, "finished"),
            params=dict(data.params),
            tags=tags,
            metrics=histories or {},
            parent_id=parent,
            source=tags.get("mlflow.source.name"),
        )
        if created:
            points = sum(len(s.values) for s in (histories or {}).values())
            self.summary.imported["metric points"] += points
        elif tracking.get_run(info.run_id).deleted:  # interrupted after its deletion
            tracking.restore_run(info.run_id)
        self._artifacts(source, info.run_id)  # files, inputs, models: each idempotent
        self._inputs(source, info.run_id)
        self._logged_models(source, info.run_id)
        if info.lifecycle_stage == "deleted":
            tracking.delete_run(info.run_id)
        self._mark("run-done", info.run_id, info.run_id)
        self.summary.imported["runs"] += 1

    def _histories(self, run_id: str, metrics: dict[str, float]) -> dict[str, Series]:
        histories = {}
        for key in sorted(metrics):
            points = self.source.get_metric_history(run_id, key)
            histories[key] = Series(
                array("d", (p.value for p in points)),
                array("q", (p.step for p in points)),
                array("q", (p.timestamp for p in points)),
            )
        return histories

    @contextlib.contextmanager
    def _files(self, uri: str, what: str) -> Iterator[Path | None]:
        """A local folder holding the files at ``uri`` (None when there are none, or they
        cannot be reached: a problem says why)."""
        served = str(self.source.tracking_uri).startswith(("http://", "https://"))
        if uri.startswith("mlflow-artifacts:") and not served:  # on a server's destination
            if self.artifact_root is None:
                self.summary.problems.append(
                    f"{what}: its files are on an MLflow server ({uri}); pass --artifacts "
                    "with the server's --artifacts-destination folder, or import from the "
                    "server's URL"
                )
                yield None
                return
            rest = uri.removeprefix("mlflow-artifacts:")
            rest = rest[2:].partition("/")[2] if rest.startswith("//") else rest
            place = (self.artifact_root / rest.lstrip("/")).resolve()
            if not place.is_relative_to(self.artifact_root.resolve()):
                raise errors.InvalidPath(f"{what}: {uri} points outside {self.artifact_root}")
            yield place if place.is_dir() else None
            return
        scheme = uri.partition(":")[0] if ":" in uri else ""
        if scheme in ("", "file"):  # a folder on this machine: read in place
            local = Path(uri.removeprefix("file://"))
            yield local if local.is_dir() else None
            return
        import mlflow.artifacts

        with tempfile.TemporaryDirectory(dir=self.services.settings.home) as spool:
            yield Path(
                mlflow.artifacts.download_artifacts(
                    artifact_uri=uri, dst_path=spool, tracking_uri=self.source.tracking_uri
                )
            )

    def _store_files(self, folder: Path, local_id: str, under: str = "") -> int:
        count = 0
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            rel = file.relative_to(folder).as_posix()
            self.services.artifacts.log_file(local_id, file, f"{under}/{rel}" if under else rel)
            count += 1
        return count

    def _artifacts(self, source: Any, local_id: str) -> None:
        what = f"run {source.info.run_id}"
        with self._files(str(source.info.artifact_uri), what) as folder:
            if folder is not None:
                self.summary.imported["artifact files"] += self._store_files(folder, local_id)

    def _inputs(self, source: Any, local_id: str) -> None:
        for used in getattr(source.inputs, "dataset_inputs", None) or []:
            dataset = used.dataset
            context = next((t.value for t in used.tags if t.key == "mlflow.data.context"), "")
            description = {
                "name": dataset.name,
                "digest": dataset.digest,
                "source_type": dataset.source_type,
                "source": dataset.source,
                "schema": dataset.schema,
                "profile": dataset.profile,
            }
            log_described_input(self.services.datasets, local_id, description, context or "input")
            self.summary.imported["dataset inputs"] += 1

    def _logged_models(self, source: Any, local_id: str) -> None:
        for model in self.logged.get(source.info.run_id, []):
            if self._done("logged-model", model.model_id):
                continue
            logged = self.services.logged_models
            try:
                mine = logged.get(model.model_id, allow_deleted=True)
            except errors.NotFound:
                mine = logged.create(
                    self.services.tracking.get_run(local_id).experiment_id,
                    model.name,
                    run_id=local_id,
                    model_type=model.model_type or "",
                    tags=model.tags,
                    params=model.params,
                    model_id=model.model_id,
                )
            what = f"logged model {model.model_id}"
            with self._files(str(model.artifact_location), what) as folder:
                if folder is None:
                    continue
                self._store_files(folder, local_id, mine.artifact_path)
            ready = str(model.status).endswith("READY")
            logged.finalize(mine.id, "ready" if ready else "failed")
            self._mark("logged-model", model.model_id, mine.id)
            self.summary.imported["logged models"] += 1

    def _registry(self) -> None:
        registry = self.services.registry
        for model in self._paged(self.source.search_registered_models):
            if not self._done("registered-model", model.name):
                registry.update_model(
                    model.name, description=model.description or "", tags=model.tags
                )
                self._mark("registered-model", model.name, model.name)
                self.summary.imported["registered models"] += 1
            versions = self.source.search_model_versions(f"name = '{model.name}'")
            for version in sorted(versions, key=lambda v: int(v.version)):
                self._version(model.name, version)
            for alias, number in (model.aliases or {}).items():
                local = self._done("model-version", f"{model.name}/{number}")
                current = registry.get_model(model.name).aliases.get(alias)
                if local is not None and current != int(local):
                    registry.set_alias(model.name, int(local), alias, reason="imported from mlflow")
                    self.summary.imported["aliases"] += 1

    def _paged(self, search: Callable[..., Any]) -> Iterator[Any]:
        token = None
        while True:
            page = search(max_results=PAGE, page_token=token)
            yield from page
            if not (token := page.token):
                break

    def _version(self, name: str, version: Any) -> None:
        key = f"{name}/{version.version}"
        if self._done("model-version", key):
            self.summary.skipped["model versions"] += 1
            return
        place = self._place(version)
        if place is None:
            self.summary.problems.append(
                f"{name} version {version.version}: its source {version.source!r} is not a "
                "run or logged model that was imported; skipped"
            )
            return
        run_id, folder = place
        self.services.logged_models.ensure_package(run_id, folder)
        tags = dict(version.tags)
        stage = version.current_stage or "None"
        if stage in ("Staging", "Production"):
            tags["mlflow.stage"] = stage
        local, _ = self.services.registry.register(
            f"runs:/{run_id}/{folder}", name, description=version.description or "", tags=tags
        )
        if stage == "Archived":
            self.services.registry.update_version(name, local.version, status="archived")
        self._mark("model-version", key, str(local.version))
        self.summary.imported["model versions"] += 1

    def _place(self, version: Any) -> tuple[str, str] | None:
        """The imported run and folder a version's files are in."""
        model_id = getattr(version, "model_id", None)
        source = str(version.source or "")
        if not model_id and source.startswith("models:/m-"):
            model_id = source.removeprefix("models:/")
        if model_id:
            with_id = self._done("logged-model", model_id)
            if with_id is None:
                return None
            model = self.services.logged_models.get(with_id, allow_deleted=True)
            return model.run_id, model.artifact_path
        run_id = version.run_id
        if not run_id or self._done("run-done", run_id) is None:
            return None
        if source.startswith("runs:/"):
            return run_id, source.removeprefix(f"runs:/{run_id}/").strip("/")
        root = str(self.source.get_run(run_id).info.artifact_uri).rstrip("/")
        if source.startswith(root + "/"):
            return run_id, source[len(root) + 1 :].strip("/")
        return None


class HistoryReader:
    """Every metric point of a page of runs in one query, when the source is an MLflow
    database (its ``metrics`` table); otherwise nothing, and the client asks run by run."""

    def __init__(self, uri: str) -> None:
        self.engine = None
        if uri.startswith(DATABASES):
            import sqlalchemy as sa

            self.engine = sa.create_engine(uri)

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()

    def histories(self, runs: list[Any]) -> dict[str, dict[str, Series]]:
        if self.engine is None or not runs:
            return {}
        ids = [r.info.run_id for r in runs]
        found: dict[str, dict[str, Series]] = {}
        with self.engine.connect() as conn:  # the driver's cursor: millions of rows
            mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            cursor.execute(
                "SELECT run_uuid, key, value, timestamp, step, is_nan FROM metrics "
                f"WHERE run_uuid IN ({', '.join([mark] * len(ids))}) "
                "ORDER BY run_uuid, key, timestamp, step",
                ids,
            )
            while rows := cursor.fetchmany(100_000):
                for run_id, key, value, timestamp, step, is_nan in rows:
                    series = found.setdefault(run_id, {}).get(key)
                    if series is None:
                        series = found[run_id][key] = Series(array("d"), array("q"), array("q"))
                    series.values.append(float("nan") if is_nan else float(value))
                    series.steps.append(int(step))
                    series.timestamps.append(int(timestamp))
            cursor.close()
        return found


def import_mlflow(
    services: Services,
    uri: str,
    progress: Callable[[str], None] = lambda _: None,
    artifacts: Path | None = None,
) -> Summary:
    """Import the MLflow store at ``uri`` into ``services``' home; see the module.
    ``artifacts``: the folder of a server's ``mlflow-artifacts:/`` files (its
    ``--artifacts-destination``), for a database that such a server wrote."""
    if artifacts is not None and not Path(artifacts).is_dir():
        raise errors.InvalidInput(f"--artifacts {artifacts} is not a folder")
    spool = services.settings.home / "tmp"
    spool.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=spool) as folder:
        source, read = open_source(uri, Path(folder))
        reader = HistoryReader(read)
        try:
            root = artifacts and Path(artifacts)
            return MlflowImport(services, source, uri, progress, reader, root).run()
        finally:
            reader.close()
