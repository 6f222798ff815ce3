"""The registry's operations: registered models, versions, aliases, lineage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol

from shipway.errors import Conflict, NotFound, PermissionDenied
from shipway.operations.declare import op
from shipway.operations.types import Number
from shipway.records import AliasEvent, ModelVersion, RegisteredModel

DS = "data-scientist"
EnvFormat = Literal["requirements", "conda", "pyproject", "json"]


class Registry(Protocol):
    @op("GET", "/models", role="viewer", key="models")
    def list_models(self) -> list[RegisteredModel]:
        """Every registered model with its aliases."""
        ...

    @op("GET", "/models/{name}", role="viewer")
    def get_model(self, name: str) -> RegisteredModel:
        """A registered model with its aliases."""
        ...

    @op("PATCH", "/models/{name}", role=DS, event="update")
    def update_model(
        self,
        name: str,
        *,
        description: str | None = None,
        owners: Sequence[str] | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> RegisteredModel:
        """Create the registered model if needed and set the given fields."""
        ...

    @op("GET", "/models/{name}/versions", role="viewer", key="versions")
    def list_versions(self, name: str) -> list[ModelVersion]:
        """Every version of a model, oldest first."""
        ...

    @op(
        "POST",
        "/models/{name}/versions",
        role=DS,
        status=201,
        event="register",
        extras=("created",),
        errors=(NotFound, Conflict),
    )
    def register(
        self,
        source: str,
        name: str,
        *,
        description: str = "",
        tags: Mapping[str, Any] | None = None,
    ) -> tuple[ModelVersion, bool]:
        """Register the model package at ``runs:/RUN_ID/PATH`` as a version of ``name``;
        the same package registered again returns its existing version (``created`` False).

        >>> version, created = registry.register("runs:/3f2a…/model", "churn")
        """
        ...

    @op("GET", "/models/{name}/versions/{version}", role="viewer")
    def get_version(self, name: str, version: Number) -> ModelVersion:
        """One version of a model."""
        ...

    @op("PATCH", "/models/{name}/versions/{version}", role=DS, event="update_version")
    def update_version(
        self,
        name: str,
        version: Number,
        *,
        description: str | None = None,
        tags: Mapping[str, Any] | None = None,
        status: str | None = None,
    ) -> ModelVersion:
        """Change a version's description, tags or status."""
        ...

    @op("GET", "/models/{name}/versions/{version}/lineage", role="viewer")
    def lineage(self, name: str, version: Number) -> dict[str, Any]:
        """The version's run, commit, dataset versions read and parent runs."""
        ...

    @op(
        "GET",
        "/models/{name}/versions/{version}/requirements",
        role="viewer",
        media="text/plain",
    )
    def requirements(self, name: str, version: Number, format: EnvFormat = "requirements") -> str:
        """The version's pinned environment as a requirements.txt, a Conda environment.yml
        (``conda``), a pyproject ``[project]`` fragment (``pyproject``) or ``json``."""
        ...

    @op("PUT", "/models/{name}/versions/{version}/card/sections/{title}", role=DS)
    def set_card_section(self, name: str, version: Number, title: str, text: str | None) -> None:
        """Write a user section of the model card (kept when the card is regenerated);
        ``text=None`` drops it."""
        ...

    @op(
        "PUT",
        "/models/{name}/aliases/{alias}",
        role=DS,
        event="move_alias",
        errors=(Conflict, PermissionDenied),
    )
    def set_alias(self, name: str, version: Number, alias: str, reason: str = "") -> AliasEvent:
        """Point ``alias`` at ``version`` (moving ``production`` needs the developer role,
        and once the model has a contract only promotion moves it).

        >>> registry.set_alias("churn", 3, "staging", reason="best auc")
        """
        ...

    @op(
        "DELETE",
        "/models/{name}/aliases/{alias}",
        role=DS,
        event="move_alias",
        errors=(PermissionDenied,),
    )
    def delete_alias(self, name: str, alias: str, reason: str = "") -> AliasEvent:
        """Remove an alias (recorded, so it can be set back)."""
        ...

    @op(
        "POST",
        "/models/{name}/aliases/{alias}/rollback",
        role=DS,
        event="move_alias",
        errors=(Conflict, PermissionDenied),
    )
    def rollback(self, name: str, alias: str, reason: str = "") -> AliasEvent:
        """Move ``alias`` back to the version it pointed at before its last move.

        >>> registry.rollback("churn", "production").to_version
        """
        ...

    @op("GET", "/models/{name}/history", role="viewer", key="events")
    def history(self, name: str, alias: str | None = None) -> list[AliasEvent]:
        """Every alias move of a model (or of one alias), oldest first."""
        ...

    @op("GET", "/models-resolve", role="viewer")
    def resolve(self, uri: str) -> ModelVersion:
        """The version ``models:/NAME/VERSION``, ``models:/NAME@ALIAS`` or ``models:/NAME``
        (the latest) names."""
        ...

    @op("GET", "/models-trained-on", role="viewer", key="versions")
    def versions_trained_on(self, dataset: str) -> list[ModelVersion]:
        """Versions whose run read a dataset (``NAME`` or ``NAME@VERSION``)."""
        ...

    @op("GET", "/models-from-run", role="viewer", key="versions")
    def versions_from_run(self, run_id: str) -> list[ModelVersion]:
        """Versions registered from a run's model packages (its outputs)."""
        ...

    @op("GET", "/models-from-commit", role="viewer", key="versions")
    def versions_from_commit(self, commit: str) -> list[ModelVersion]:
        """Versions built from a git commit (a prefix of at least 4 hex digits)."""
        ...
