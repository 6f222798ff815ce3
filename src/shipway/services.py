"""The services of one shipway home, built from settings.

The in-process client, the HTTP API and the CLI all start here, so they share one way of
opening the database (migrating it on first use) and the blob store.
"""

from __future__ import annotations

import dataclasses
import functools
import getpass

from shipway.accounts import AccountService
from shipway.blobs import ContentStore, open_blob_store
from shipway.config import Settings
from shipway.store.db import Database
from shipway.tracking.artifacts import ArtifactService
from shipway.tracking.service import TrackingService


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@dataclasses.dataclass
class Services:
    settings: Settings
    db: Database
    actor: str

    @classmethod
    def open(cls, settings: Settings | None = None, actor: str | None = None) -> Services:
        settings = settings or Settings.load()
        db = Database(settings.database_url)
        db.migrate()
        return cls(settings, db, actor or os_user())

    @functools.cached_property
    def blobs(self) -> ContentStore:
        return open_blob_store(
            self.settings.blob_location, s3_endpoint_url=self.settings.s3_endpoint_url or None
        )

    @property
    def tracking(self) -> TrackingService:
        return TrackingService(self.db, self.actor)

    @property
    def artifacts(self) -> ArtifactService:
        return ArtifactService(self.db, self.blobs, self.actor)

    @property
    def accounts(self) -> AccountService:
        return AccountService(self.db, self.actor)

    def as_actor(self, actor: str) -> Services:
        other = dataclasses.replace(self, actor=actor)
        other.__dict__.pop("blobs", None)
        if "blobs" in self.__dict__:
            other.__dict__["blobs"] = self.__dict__["blobs"]
        return other

    def close(self) -> None:
        self.db.dispose()
