"""The inference server's view of the platform: a ``ModelSource`` over a client, so
``shipway serve`` works against a local home or a platform server alike."""

from __future__ import annotations

from pathlib import Path

from shipway.client.client import Client
from shipway.client.models import load
from shipway.errors import NotFound
from shipway.models.loaded import LoadedModel
from shipway.records import Deployment, ModelVersion


class ClientModelSource:
    """Example::

    runtime = Runtime(ClientModelSource(Client()), models=["models:/churn@production"])
    """

    def __init__(self, client: Client) -> None:
        self.client = client

    def resolve(self, uri: str) -> ModelVersion:
        return self.client.registry.resolve(uri)

    def load(self, version: ModelVersion) -> LoadedModel:
        model: LoadedModel = load(version.uri, client=self.client)
        return model

    def deployment(self, name: str) -> Deployment:
        return self.client.deployments.get(name)

    def auth_required(self) -> bool:
        return self.client.backend.auth_required()

    def authenticate(self, token: str) -> str | None:
        return self.client.backend.token_role(token)

    def check_api_key(self, deployment: str, key: str) -> bool:
        return self.client.deployments.check_api_key(deployment, key)

    def log_rules(self, model: str) -> dict[str, list[str]]:
        """From the model's contract: ``privacy.log`` plus its PII columns (hashed)."""
        try:
            spec = self.client.get_contract(model).spec
        except NotFound:
            return {}
        pii = {name for name, column in spec["schema"].items() if column["pii"]}
        log = spec["privacy"]["log"]
        return {"hash": sorted(set(log["hash"]) | pii), "drop": sorted(log["drop"])}

    def write_segment(
        self, model: str, version: int, path: Path, rows: int, first: int, last: int
    ) -> None:
        self.client.backend.prediction_segment_add(model, version, path, rows, first, last)
