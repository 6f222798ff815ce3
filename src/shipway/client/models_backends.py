"""The registry half of both client backends: in-process and over HTTP.

Both return the same records; the client, the CLI and the tests see one interface.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from shipway.records import AliasEvent, ModelVersion, RegisteredModel
from shipway.registry.service import check_model_name, parse_model_uri
from shipway.services import Services


def _q(part: str) -> str:
    return quote(part, safe="")


def _n(name: str) -> str:
    """A model name checked before it goes into a URL (a '/' must not reach another route)."""
    return _q(check_model_name(name))


class ModelsInProcess:
    services: Services

    def model_register(
        self, name: str, source: str, description: str = "", tags: Mapping[str, Any] | None = None
    ) -> tuple[ModelVersion, bool]:
        return self.services.registry.register_uri(name, source, description=description, tags=tags)

    def model_update(
        self,
        name: str,
        *,
        description: str | None = None,
        owners: Sequence[str] | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> RegisteredModel:
        return self.services.registry.update_model(
            name, description=description, owners=owners, tags=tags
        )

    def model_get(self, name: str) -> RegisteredModel:
        return self.services.registry.get_model(name)

    def models_list(self) -> list[RegisteredModel]:
        return self.services.registry.list_models()

    def model_versions(self, name: str) -> list[ModelVersion]:
        return self.services.registry.list_versions(name)

    def model_version(self, name: str, version: int) -> ModelVersion:
        return self.services.registry.get_version(name, version)

    def model_update_version(
        self,
        name: str,
        version: int,
        *,
        description: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> ModelVersion:
        return self.services.registry.update_version(
            name, version, description=description, tags=tags
        )

    def model_resolve(self, uri: str) -> ModelVersion:
        return self.services.registry.resolve(uri)

    def set_alias(self, name: str, alias: str, version: int, reason: str = "") -> AliasEvent:
        return self.services.registry.set_alias(name, alias, version, reason)

    def delete_alias(self, name: str, alias: str, reason: str = "") -> AliasEvent:
        return self.services.registry.delete_alias(name, alias, reason)

    def rollback(self, name: str, alias: str, reason: str = "") -> AliasEvent:
        return self.services.registry.rollback(name, alias, reason)

    def model_history(self, name: str, alias: str | None = None) -> list[AliasEvent]:
        return self.services.registry.history(name, alias)

    def model_lineage(self, name: str, version: int) -> dict[str, Any]:
        return self.services.registry.lineage(name, version)

    def models_trained_on(self, dataset: str) -> list[ModelVersion]:
        return self.services.registry.versions_trained_on(dataset)

    def models_from_commit(self, commit: str) -> list[ModelVersion]:
        return self.services.registry.versions_from_commit(commit)

    def model_card(self, name: str, version: int) -> dict[str, Any]:
        return self.services.contracts.card(name, version)

    def set_card_section(self, name: str, version: int, title: str, text: str | None) -> None:
        self.services.registry.set_card_section(name, version, title, text)

    def model_requirements(self, name: str, version: int) -> str:
        return self.services.registry.requirements(name, version)


class ModelsOverHttp:
    # provided by HttpBackend
    _json: Any
    _send: Any

    def model_register(
        self, name: str, source: str, description: str = "", tags: Mapping[str, Any] | None = None
    ) -> tuple[ModelVersion, bool]:
        body = {"source": source, "description": description, "tags": dict(tags or {})}
        data = self._json("POST", f"/models/{_n(name)}/versions", json=body)
        created = bool(data.pop("created"))
        return ModelVersion.from_dict(data), created

    def model_update(
        self,
        name: str,
        *,
        description: str | None = None,
        owners: Sequence[str] | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> RegisteredModel:
        body = {
            "description": description,
            "owners": list(owners) if owners is not None else None,
            "tags": {k: str(v) for k, v in tags.items()} if tags is not None else None,
        }
        return RegisteredModel(**self._json("PATCH", f"/models/{_n(name)}", json=body))

    def model_get(self, name: str) -> RegisteredModel:
        return RegisteredModel(**self._json("GET", f"/models/{_n(name)}"))

    def models_list(self) -> list[RegisteredModel]:
        return [RegisteredModel(**m) for m in self._json("GET", "/models")["models"]]

    def model_versions(self, name: str) -> list[ModelVersion]:
        data = self._json("GET", f"/models/{_n(name)}/versions")
        return [ModelVersion.from_dict(v) for v in data["versions"]]

    def model_version(self, name: str, version: int) -> ModelVersion:
        return ModelVersion.from_dict(self._json("GET", f"/models/{_n(name)}/versions/{version}"))

    def model_update_version(
        self,
        name: str,
        version: int,
        *,
        description: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> ModelVersion:
        body = {"description": description, "tags": dict(tags) if tags is not None else None}
        url = f"/models/{_n(name)}/versions/{version}"
        return ModelVersion.from_dict(self._json("PATCH", url, json=body))

    def model_resolve(self, uri: str) -> ModelVersion:
        parse_model_uri(uri)  # a clear error before the round trip
        return ModelVersion.from_dict(self._json("GET", "/models-resolve", params={"uri": uri}))

    def set_alias(self, name: str, alias: str, version: int, reason: str = "") -> AliasEvent:
        body = {"version": version, "reason": reason}
        return AliasEvent(**self._json("PUT", f"/models/{_n(name)}/aliases/{_q(alias)}", json=body))

    def delete_alias(self, name: str, alias: str, reason: str = "") -> AliasEvent:
        url = f"/models/{_n(name)}/aliases/{_q(alias)}"
        return AliasEvent(**self._json("DELETE", url, params={"reason": reason}))

    def rollback(self, name: str, alias: str, reason: str = "") -> AliasEvent:
        url = f"/models/{_n(name)}/aliases/{_q(alias)}/rollback"
        return AliasEvent(**self._json("POST", url, json={"reason": reason}))

    def model_history(self, name: str, alias: str | None = None) -> list[AliasEvent]:
        params = {"alias": alias} if alias else None
        data = self._json("GET", f"/models/{_n(name)}/history", params=params)
        return [AliasEvent(**e) for e in data["events"]]

    def model_lineage(self, name: str, version: int) -> dict[str, Any]:
        result: dict[str, Any] = self._json("GET", f"/models/{_n(name)}/versions/{version}/lineage")
        return result

    def models_trained_on(self, dataset: str) -> list[ModelVersion]:
        data = self._json("GET", "/models-lineage", params={"dataset": dataset})
        return [ModelVersion.from_dict(v) for v in data["versions"]]

    def models_from_commit(self, commit: str) -> list[ModelVersion]:
        data = self._json("GET", "/models-lineage", params={"commit": commit})
        return [ModelVersion.from_dict(v) for v in data["versions"]]

    def model_card(self, name: str, version: int) -> dict[str, Any]:
        result: dict[str, Any] = self._json("GET", f"/models/{_n(name)}/versions/{version}/card")
        return result

    def set_card_section(self, name: str, version: int, title: str, text: str | None) -> None:
        url = f"/models/{_n(name)}/versions/{version}/card/sections/{_q(title)}"
        if text is None:
            self._json("DELETE", url)
        else:
            self._json("PUT", url, json={"text": text})

    def model_requirements(self, name: str, version: int) -> str:
        response = self._send("GET", f"/models/{_n(name)}/versions/{version}/requirements")
        return str(response.text)


def package_cache(home: Path, digest: str) -> Path:
    """Where a model package is kept once downloaded: named by its digest, so it never goes
    stale (and is verified again on every load)."""
    return home / "cache" / "models" / digest
