"""The services of one shipway home, built from settings.

The in-process client, the HTTP API and the CLI all start here, so they share one way of
opening the database (migrating it on first use) and the blob store. Each service's
module is imported by its property, so opening a home for one command (``runs list``)
imports tracking and the store, not monitoring, contracts, serving or pandas.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from shipway.config import Settings, os_user

if TYPE_CHECKING:
    from shipway.accounts import AccountService
    from shipway.blobs import ContentStore
    from shipway.contracts.service import ContractService
    from shipway.datasets.service import DatasetService
    from shipway.monitoring.service import MonitoringService
    from shipway.pipelines.service import PipelineService
    from shipway.registry.logged import LoggedModelService
    from shipway.registry.service import RegistryService
    from shipway.serving.deployments import DeploymentService
    from shipway.serving.predictions import PredictionLogService
    from shipway.store.db import Database
    from shipway.tracking.artifacts import ArtifactService
    from shipway.tracking.service import TrackingService


@dataclasses.dataclass
class Services:
    settings: Settings
    db: Database
    actor: str
    role: str = "admin"  # the caller's account role (every caller is admin with auth off)
    # shared by every as_actor() copy, so the blob store (an S3 client) is opened once
    _shared: dict[str, ContentStore] = dataclasses.field(default_factory=dict, repr=False)
    # long-lived helpers shared by as_actor() copies (the monitor caches loaded models)
    _cache: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False)

    @classmethod
    def open(cls, settings: Settings | None = None, actor: str | None = None) -> Services:
        from shipway.store.db import Database

        settings = settings or Settings.load()
        db = Database(settings.database_url)
        db.migrate()
        return cls(settings, db, actor or os_user())

    @property
    def blobs(self) -> ContentStore:
        if "blobs" not in self._shared:
            from shipway.blobs import open_blob_store

            self._shared["blobs"] = open_blob_store(
                self.settings.blob_location, s3_endpoint_url=self.settings.s3_endpoint_url or None
            )
        return self._shared["blobs"]

    @property
    def tracking(self) -> TrackingService:
        from shipway.tracking.service import TrackingService

        return TrackingService(self.db, self.actor)

    @property
    def artifacts(self) -> ArtifactService:
        from shipway.tracking.artifacts import ArtifactService

        return ArtifactService(self.db, self.blobs, self.actor)

    @property
    def datasets(self) -> DatasetService:
        from shipway.datasets.service import DatasetService

        return DatasetService(self.db, self.blobs, self.settings.home, self.actor)

    @property
    def registry(self) -> RegistryService:
        from shipway.registry.service import RegistryService

        return RegistryService(self.db, self.artifacts, self.actor, self.role)

    @property
    def logged_models(self) -> LoggedModelService:
        from shipway.registry.logged import LoggedModelService

        return LoggedModelService(self.db, self.artifacts, self.actor)

    @property
    def accounts(self) -> AccountService:
        from shipway.accounts import AccountService

        return AccountService(self.db, self.actor, self.role)

    @property
    def deployments(self) -> DeploymentService:
        from shipway.serving.deployments import DeploymentService

        return DeploymentService(self.db, self.actor)

    @property
    def predictions(self) -> PredictionLogService:
        from shipway.serving.predictions import PredictionLogService

        return PredictionLogService(self.db, self.blobs, self.settings.home)

    @property
    def contracts(self) -> ContractService:
        from shipway.contracts.service import ContractService

        return ContractService(
            self.db,
            self.registry,
            self.datasets,
            self.tracking,
            self.settings.home,
            self.actor,
            self.role,
        )

    @property
    def monitoring(self) -> MonitoringService:
        if "monitoring" not in self._cache:
            from shipway.monitoring.service import MonitoringService
            from shipway.registry.service import RegistryService

            # the monitor's actions (an automatic rollback) are the contract's, whoever
            # asked for the run: its registry acts with the admin role
            self._cache["monitoring"] = MonitoringService(
                self.db,
                RegistryService(self.db, self.artifacts, self.actor),
                self.datasets,
                self.contracts,
                self.predictions,
                self.settings.home,
                self.actor,
                webhook_allow=tuple(
                    item.strip() for item in self.settings.webhook_allow.split(",") if item.strip()
                ),
            )
        service: MonitoringService = self._cache["monitoring"].with_actor(self.actor)
        return service

    @property
    def pipelines(self) -> PipelineService:
        from shipway.pipelines.service import PipelineService

        return PipelineService(self.db, self.actor)

    def caller(self, authorization: str | None, user: str | None = None) -> tuple[str, str]:
        """Who is calling and with what role, from a request's ``Authorization`` value
        (``Bearer <token>``) and, with auth off, the ``X-Shipway-User`` name it sends
        (every caller is then trusted, as admin). The API and the web pages both ask."""
        from shipway.errors import Unauthenticated

        if not self.settings.auth:
            return user or self.actor, "admin"
        scheme, _, secret = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise Unauthenticated(
                "this server requires a token: send 'Authorization: Bearer <token>' "
                "(set SHIPWAY_TOKEN for the client; an admin creates one with "
                "`shipway tokens create USER`)"
            )
        account = self.accounts.authenticate(secret.strip())
        if account is None:
            raise Unauthenticated("the token is unknown or revoked; ask an admin for a new one")
        return account.name, account.role

    def as_caller(self, authorization: str | None, user: str | None, role: str) -> Services:
        """The services acting as the caller, once their role allows ``role``."""
        from shipway.accounts import role_allows
        from shipway.errors import PermissionDenied

        name, caller_role = self.caller(authorization, user)
        if not role_allows(caller_role, role):
            raise PermissionDenied(
                f"user {name!r} has role {caller_role!r}; this needs {role!r} or higher"
            )
        return self.as_actor(name, caller_role)

    def as_actor(self, actor: str, role: str | None = None) -> Services:
        return dataclasses.replace(self, actor=actor, role=role or self.role)

    def close(self) -> None:
        self.db.dispose()
