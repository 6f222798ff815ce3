"""``sw.Client``: the browsable, typed entry point to a tracking store, local or remote."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from shipway.client.backend import Backend
from shipway.client.browse import DeploymentView, ExperimentView, ModelView, RunView
from shipway.config import Settings
from shipway.operations import (
    Accounts,
    Contracts,
    Datasets,
    Deployments,
    Monitoring,
    Pipelines,
    Platform,
    Predictions,
    Registry,
    Tracking,
)
from shipway.records import (
    Alert,
    AliasEvent,
    Approval,
    Artifact,
    ContractVersion,
    Event,
    Experiment,
    GateReport,
    MetricPoint,
    ModelVersion,
    Page,
    Promotion,
    RegisteredModel,
    Review,
    Run,
    Token,
    User,
)

_tracking_uri: str | None = None


def set_tracking_uri(uri: str | None) -> None:
    """Point new clients and runs at a server (``http://host:port``); ``None`` or ``""`` means
    the local home. Overrides ``SHIPWAY_TRACKING_URI``."""
    global _tracking_uri
    _tracking_uri = uri


def get_tracking_uri() -> str:
    """The server URL in use, or ``""`` for the local home."""
    if _tracking_uri is not None:
        return _tracking_uri
    return Settings.load().tracking_uri


def open_backend(
    tracking_uri: str | None = None, *, token: str | None = None, settings: Settings | None = None
) -> Backend:
    settings = settings or Settings.load()
    if tracking_uri is not None:
        uri = tracking_uri
    elif _tracking_uri is not None:
        uri = _tracking_uri
    else:
        uri = settings.tracking_uri
    if uri.startswith(("http://", "https://")):
        from shipway.client.http import HttpBackend

        return HttpBackend(settings, uri, token)
    if uri:
        # a folder path or file:// URI: a local home somewhere else
        home = Path(uri.removeprefix("file://")).expanduser().resolve()
        settings = dataclasses.replace(settings, home=home)
    from shipway.client.local import LocalBackend

    return LocalBackend(settings)


class Client:
    """Read and manage experiments, runs, metrics, artifacts and users.

    >>> client = sw.Client()                      # same tracking URI rules as start_run
    >>> page = client.search_runs(experiment="churn", filter="metrics.acc > 0.9",
    ...                           order_by=["metrics.acc desc"], limit=10)
    >>> [run.name for run in page], page.next_cursor
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        *,
        token: str | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.settings = settings or Settings.load()
        self.backend = open_backend(tracking_uri, token=token, settings=self.settings)
        self.platform: Platform = self.backend.platform

    @property
    def tracking_uri(self) -> str:
        return self.backend.location

    # the browsable objects (client/browse.py): lazy, fetched on first use
    def experiment(self, ref: int | str) -> ExperimentView:
        """An experiment by name or id: ``client.experiment("churn").runs(filter=...)``."""
        return ExperimentView(self, ref)

    def run(self, run_id: str) -> RunView:
        """A run: ``client.run(run_id).params``, ``.metrics``, ``.artifacts``, ``.inputs``."""
        return RunView(self, run_id)

    def model(self, name: str) -> ModelView:
        """A registered model: ``client.model("churn").versions``, ``.contract``,
        ``.version(3).gate_reports``, ``.alias("production").lineage``."""
        return ModelView(self, name)

    def deployment(self, name: str) -> DeploymentView:
        """A deployment: ``client.deployment("churn").traffic``."""
        return DeploymentView(self, name)

    # experiments and runs: the declared operations (shipway.operations.tracking)
    @property
    def tracking(self) -> Tracking:
        """The tracking operations: ``client.tracking.restore_run(run_id)``."""
        return self.platform.tracking

    def create_experiment(self, name: str, description: str = "") -> Experiment:
        """Create an experiment: ``client.create_experiment("churn", "30-day churn")``."""
        return self.tracking.create_experiment(name, description)

    def get_experiment(self, ref: int | str) -> Experiment:
        """An experiment by id or name."""
        return self.tracking.get_experiment(ref)

    def list_experiments(self, limit: int = 100, cursor: str | None = None) -> Page[Experiment]:
        """A page of experiments; pass ``page.next_cursor`` as ``cursor`` for the next."""
        return self.tracking.list_experiments(limit, cursor)

    def get_run(self, run_id: str) -> Run:
        """A run: ``.id .name .status .params .metrics`` (latest values) ``.tags``."""
        return self.tracking.get_run(run_id)

    def search_runs(
        self,
        experiment: str | int | Sequence[str | int] | None = None,
        filter: str | None = None,
        order_by: Sequence[str] = (),
        limit: int = 100,
        cursor: str | None = None,
        include_deleted: bool = False,
    ) -> Page[Run]:
        """A page of runs matching ``filter`` (docs/search.md), in ``order_by`` order.

        >>> client.search_runs("churn", "metrics.acc > 0.9", ["metrics.acc desc"], limit=10)
        """
        return self.tracking.search_runs(
            experiment,
            filter=filter,
            order_by=list(order_by),
            limit=limit,
            cursor=cursor,
            include_deleted=include_deleted,
        )

    def set_terminated(self, run_id: str, status: str = "finished") -> Run:
        """End a run with ``status`` (finished, failed or killed)."""
        return self.tracking.update_run(run_id, status=status)  # type: ignore[arg-type]

    def delete_run(self, run_id: str) -> Run:
        """Delete a run (``restore_run`` brings it back)."""
        return self.tracking.delete_run(run_id)

    def restore_run(self, run_id: str) -> Run:
        """Restore a deleted run."""
        return self.tracking.restore_run(run_id)

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Log params on a run (immutable once logged)."""
        self.tracking.log_params(run_id, params)

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        """Set tags on a run (overwrites)."""
        self.tracking.set_tags(run_id, tags)

    def delete_tag(self, run_id: str, key: str) -> None:
        """Delete a tag of a run."""
        self.tracking.delete_tag(run_id, key)

    def get_metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        """Every point of a metric: ``.step .value .timestamp``, in logging order."""
        points: list[MetricPoint] = []
        cursor = None
        while True:
            page = self.tracking.get_metric_history(run_id, key, limit=100_000, cursor=cursor)
            points.extend(page)
            cursor = page.next_cursor
            if not cursor:
                return points

    # artifacts
    def log_artifact(
        self, run_id: str, local_path: str | Path, artifact_path: str | None = None
    ) -> list[Artifact]:
        return self.backend.log_artifact(run_id, Path(local_path), artifact_path)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[Artifact]:
        return self.backend.list_artifacts(run_id, path)

    def download_artifacts(self, run_id: str, path: str | None, dest: str | Path) -> Path:
        """Download a file or folder artifact into ``dest``; returns the local path."""
        return self.backend.download_artifacts(run_id, path, Path(dest))

    # model registry: the declared operations (shipway.operations.registry) and the names
    # the client has always had for them
    @property
    def registry(self) -> Registry:
        """The registry's operations: ``client.registry.rollback("churn", "production")``."""
        return self.platform.registry

    def register(
        self,
        source: str,
        name: str,
        *,
        description: str = "",
        tags: Mapping[str, Any] | None = None,
    ) -> ModelVersion:
        """Register the model package at ``runs:/RUN_ID/PATH`` as a version of ``name``
        (the same package registered again returns its existing version).

        >>> client.register(f"runs:/{run.id}/model", "churn").version
        """
        return self.registry.register(source, name, description=description, tags=tags)[0]

    def get_registered_model(self, name: str) -> RegisteredModel:
        """The registered model with its aliases (``registry.get_model``)."""
        return self.registry.get_model(name)

    def update_registered_model(
        self,
        name: str,
        *,
        description: str | None = None,
        owners: Sequence[str] | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> RegisteredModel:
        """Create the registered model if needed and set the given fields."""
        return self.registry.update_model(name, description=description, owners=owners, tags=tags)

    def list_registered_models(self) -> list[RegisteredModel]:
        """Every registered model (``registry.list_models``)."""
        return self.registry.list_models()

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        """One version: ``client.get_model_version("churn", 3).aliases``."""
        return self.registry.get_version(name, version)

    def list_model_versions(self, name: str) -> list[ModelVersion]:
        """Every version of ``name``, oldest first."""
        return self.registry.list_versions(name)

    def resolve(self, uri: str) -> ModelVersion:
        """The version ``models:/NAME/VERSION``, ``models:/NAME@ALIAS`` or ``models:/NAME``
        (the latest) names."""
        return self.registry.resolve(uri)

    def set_alias(self, name: str, version: int, alias: str, reason: str = "") -> AliasEvent:
        """Point ``alias`` at ``version``: ``client.set_alias("churn", 3, "staging")``."""
        return self.registry.set_alias(name, version, alias, reason)

    def delete_alias(self, name: str, alias: str, reason: str = "") -> AliasEvent:
        """Remove an alias (the move is recorded: ``rollback`` sets it back)."""
        return self.registry.delete_alias(name, alias, reason)

    def rollback(self, name: str, alias: str, reason: str = "") -> AliasEvent:
        """Move ``alias`` back to its previous version; the event says from and to.

        >>> client.rollback("churn", alias="production").to_version
        """
        return self.registry.rollback(name, alias, reason)

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasEvent]:
        """Every alias move of ``name`` (or of one alias), oldest first."""
        return self.registry.history(name, alias)

    def get_lineage(self, name: str, version: int) -> dict[str, Any]:
        """The version's run, commit, dataset versions and parent runs."""
        return self.registry.lineage(name, version)

    def get_model_card(self, name: str, version: int) -> dict[str, Any]:
        """The model card as data (``shipway.registry.card.markdown`` renders it)."""
        return self.contracts.card(name, version)

    # datasets and the prediction log: the declared operations
    @property
    def datasets(self) -> Datasets:
        """The dataset operations: ``client.datasets.used_by("churn-train@2")``
        (``sw.datasets.add/get/pull`` move the files)."""
        return self.platform.datasets

    @property
    def predictions(self) -> Predictions:
        """The prediction-log operations: ``client.predictions.segments("churn")``."""
        return self.platform.predictions

    # deployments: the declared operations (shipway.operations.deployments)
    @property
    def deployments(self) -> Deployments:
        """The deployment operations: ``client.deployments.set_traffic("churn", percent=10)``."""
        return self.platform.deployments

    # contracts, gates, sign-offs, promotion, monitoring: the declared operations
    @property
    def contracts(self) -> Contracts:
        """The contract operations: ``client.contracts.promotion_status("churn", 3)``."""
        return self.platform.contracts

    @property
    def monitoring(self) -> Monitoring:
        """The monitoring operations: ``client.monitoring.list_alerts("churn")``."""
        return self.platform.monitoring

    @property
    def pipelines(self) -> Pipelines:
        """The pipeline operations: ``client.pipelines.list_runs("churn")`` (``sw.pipeline``
        defines and runs them)."""
        return self.platform.pipelines

    def set_contract(
        self, name: str, contract: str | Path, message: str = ""
    ) -> tuple[ContractVersion, bool]:
        """Store a contract (YAML text, or the path of a contract.yaml) as the model's next
        contract version; ``created`` is False when it equals the current one.

        >>> version, created = client.set_contract("churn", Path("contract.yaml"))
        """
        text = contract.read_text() if isinstance(contract, Path) else contract
        return self.contracts.set(name, text, message=message)

    def get_contract(self, name: str, version: int | None = None) -> ContractVersion:
        """The current (or a given) contract version of a model."""
        return self.contracts.get(name, version)

    def contract_history(self, name: str) -> list[ContractVersion]:
        """Every contract version of a model, oldest first."""
        return self.contracts.history(name)

    def diff_contracts(
        self, name: str, a: int | None = None, b: int | None = None
    ) -> dict[str, Any]:
        """What changed between two contract versions (default: the latest two)."""
        return self.contracts.diff(name, a, b)

    def run_gates(self, name: str, version: int, contract_version: int | None = None) -> GateReport:
        """Check a version against the contract (the current version by default); the
        report is stored and returned (``.status``: passed, failed or error)."""
        return self.contracts.run_gates(name, version, contract_version)

    def gate_reports(self, name: str, version: int | None = None) -> list[GateReport]:
        """Gate reports of a model, or of one version."""
        return self.contracts.reports(name, version)

    def get_gate_report(self, report_id: int) -> GateReport:
        """One gate report by id."""
        return self.contracts.report(report_id)

    def approve(self, name: str, version: int, role: str, comment: str = "") -> Approval:
        """Sign off a version under a contract role:
        ``client.approve("churn", 3, "engineering")``."""
        return self.contracts.decide(name, version, role, "approve", comment)

    def reject(self, name: str, version: int, role: str, comment: str) -> Approval:
        """Reject a version under a contract role, saying why; a rejection blocks promotion."""
        return self.contracts.decide(name, version, role, "reject", comment)

    def approvals(self, name: str, version: int) -> list[Approval]:
        """Sign-offs and rejections of a version."""
        return self.contracts.approvals(name, version)

    def review(
        self, name: str, version: int, rating: int | None = None, comment: str = ""
    ) -> Review:
        """Feedback on a version (a 1-5 rating and/or a comment); never a sign-off."""
        return self.contracts.review(name, version, rating, comment)

    def reviews(self, name: str, version: int) -> list[Review]:
        """Review feedback on a version."""
        return self.contracts.reviews(name, version)

    def promotion_status(
        self, name: str, version: int, alias: str = "production"
    ) -> dict[str, Any]:
        """What stands between a version and an alias: ``ready`` and every missing item."""
        return self.contracts.promotion_status(name, version, alias)

    def promote(
        self,
        name: str,
        version: int,
        alias: str = "production",
        *,
        force: bool = False,
        reason: str = "",
    ) -> Promotion:
        """Move ``alias`` to ``version`` if the contract allows it; raises
        ``PromotionRefused`` listing every missing item otherwise.

        >>> client.promote("churn", 3)
        """
        return self.contracts.promote(name, version, alias, force=force, reason=reason)

    def promotions(self, name: str) -> list[Promotion]:
        """Every promotion attempt of a model."""
        return self.contracts.promotions(name)

    def log_feedback(self, name: str, items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Ground truth for logged predictions: ``[{"request_id", "row" (default 0),
        "label"}, …]``. Returns ``accepted``, ``duplicates``, ``updated``, ``unknown`` (ids
        not in the prediction log, not stored) and ``invalid`` (with reasons)."""
        return self.monitoring.log_feedback(name, items)

    def monitor(self, name: str) -> dict[str, Any]:
        """Profile new predictions and evaluate the contract's monitoring rules now."""
        return self.monitoring.run(name)

    def monitoring_report(self, name: str, window: str | int = "24h") -> dict[str, Any]:
        """The monitoring report of the last ``window`` (a duration such as "24h", or
        seconds)."""
        return self.monitoring.report(name, window)

    def list_alerts(
        self, model: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[Alert]:
        """Alerts, newest first."""
        return self.monitoring.list_alerts(model, status, limit)

    def get_alert(self, alert_id: int) -> Alert:
        """One alert with its evidence and actions."""
        return self.monitoring.get_alert(alert_id)

    def ack_alert(self, alert_id: int, comment: str = "") -> Alert:
        """Acknowledge an alert."""
        return self.monitoring.ack(alert_id, comment)

    # users, tokens, audit: the declared operations (shipway.operations.accounts)
    @property
    def accounts(self) -> Accounts:
        """The accounts operations: ``client.accounts.list_users()``."""
        return self.platform.accounts

    def create_user(self, name: str, role: str = "viewer") -> User:
        """Create a user: ``client.create_user("ada", "data-scientist")``."""
        return self.accounts.create_user(name, role)

    def set_role(self, name: str, role: str) -> User:
        """Change a user's role."""
        return self.accounts.set_role(name, role)

    def list_users(self) -> list[User]:
        """Every user, by name."""
        return self.accounts.list_users()

    def create_token(self, user: str) -> Token:
        """A new token for ``user``; ``.secret`` is shown only here."""
        return self.accounts.create_token(user)

    def list_tokens(self, user: str | None = None) -> list[Token]:
        """Tokens (never their secrets), of one user or all."""
        return self.accounts.list_tokens(user)

    def revoke_token(self, token_id: str) -> None:
        """Revoke a token at once."""
        self.accounts.revoke_token(token_id)

    def list_events(
        self,
        limit: int = 100,
        cursor: str | None = None,
        *,
        object_type: str | None = None,
        object_id: str | None = None,
        actor: str | None = None,
    ) -> Page[Event]:
        """A page of the audit trail (oldest first), optionally of one object or actor."""
        return self.accounts.list_events(
            limit=limit, cursor=cursor, object_type=object_type, object_id=object_id, actor=actor
        )

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
