"""The model-card half of both client backends (until the contracts' operations are
declared; the registry's operations are in shipway.operations.registry)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from shipway.registry.service import check_model_name
from shipway.services import Services


def _n(name: str) -> str:
    """A model name checked before it goes into a URL (a '/' must not reach another route)."""
    return quote(check_model_name(name), safe="")


class ModelsInProcess:
    services: Services

    def model_card(self, name: str, version: int) -> dict[str, Any]:
        return self.services.contracts.card(name, version)


class ModelsOverHttp:
    # provided by HttpBackend
    _json: Any

    def model_card(self, name: str, version: int) -> dict[str, Any]:
        result: dict[str, Any] = self._json("GET", f"/models/{_n(name)}/versions/{version}/card")
        return result
