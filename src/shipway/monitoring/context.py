"""What the parts of monitoring share: the services they read through, the acting user,
each model's contract as records and one cache of loaded models; and the window
arithmetic (buckets, windows) every part agrees on."""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from functools import reduce
from pathlib import Path

from shipway.contracts.loading import load_version
from shipway.contracts.service import ContractService
from shipway.contracts.terms import Monitoring, Terms, terms
from shipway.datasets.service import DatasetService
from shipway.models.loaded import LoadedModel
from shipway.registry.service import RegistryService
from shipway.serving.predictions import PredictionLogService
from shipway.store.db import Database

DEFAULT_WINDOW = 3600


def now_ms() -> int:
    return int(time.time() * 1000)


def bucket_seconds(monitoring: Monitoring) -> int:
    """The profile bucket: the greatest common divisor of every rule's window."""
    default = int(monitoring.window or DEFAULT_WINDOW)
    windows = [int(r.window or default) for r in monitoring.rules]
    return max(1, reduce(math.gcd, windows, default))


def window_end(monitoring: Monitoring, now: int) -> int:
    """Windows are whole buckets, the latest ending with the bucket that holds ``now``."""
    bucket_ms = bucket_seconds(monitoring) * 1000
    return (now // bucket_ms + 1) * bucket_ms


def hashed(t: Terms) -> set[str]:
    """Input columns the prediction log holds as digests (privacy.log.hash and PII)."""
    return set(t.privacy.hash) | {name for name, column in t.schema.items() if column.pii}


def metric_names(t: Terms) -> list[str]:
    """The live metrics to score: those the live rule names, then the task's defaults."""
    live = next((r for r in t.monitoring.rules if r.kind == "live"), None)
    named = [k.rsplit("_", 1)[0] for k in (live.params.get("metrics") or {})] if live else []
    classification = t.task in ("binary-classification", "multiclass-classification")
    defaults = ["accuracy", "f1"] if classification else ["rmse", "mae"]
    return list(dict.fromkeys(named + defaults))


@dataclass
class Context:
    db: Database
    registry: RegistryService
    datasets: DatasetService
    contracts: ContractService
    predictions: PredictionLogService
    home: Path
    actor: str = "unknown"
    models: dict[tuple[str, int], LoadedModel] = field(default_factory=dict)  # shared
    webhook_allow: tuple[str, ...] = ()  # internal hosts or networks webhooks may reach

    def with_actor(self, actor: str) -> Context:
        """The same context (sharing its cache of loaded models) acting as ``actor``."""
        return dataclasses.replace(
            self,
            actor=actor,
            registry=self.registry.with_actor(actor),
            datasets=self.datasets.with_actor(actor),
            contracts=self.contracts.with_actor(actor),
        )

    def terms(self, name: str) -> Terms:
        """The model's current contract, as records (NotFound when it has none)."""
        return terms(self.contracts.get(name).spec)

    def model(self, name: str, version: int) -> LoadedModel:
        """The loaded model version, loaded once per service."""
        key = (name, version)
        if key not in self.models:
            found = self.registry.get_version(name, version)
            self.models[key] = load_version(self.registry, self.home, found)
        return self.models[key]
