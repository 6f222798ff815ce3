"""What a server process serves: endpoints, the model versions loaded for them, and how
requests are routed between them.

An *endpoint* is a served name (a registered model, or a deployment) with a primary
*slot* and, for canary and shadow policies, a candidate slot. A slot is one loaded model
version with its codec and, when batching is on, its batcher. The runtime follows the
registry: every ``poll_interval`` seconds it resolves each endpoint's URIs again, and when
a version changed it loads the new one in a thread, warms it up, and swaps the endpoint
in one assignment. Requests already running keep the slot they started with, so none
fails during a swap.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from shipway.errors import InvalidInput, NotFound, NotReady, ShipwayError
from shipway.models.loaded import LoadedModel
from shipway.records import Deployment, ModelVersion
from shipway.registry.service import parse_model_uri
from shipway.serving.batching import Batcher
from shipway.serving.codecs import Codec, Rows
from shipway.serving.metrics import ServingMetrics
from shipway.serving.predlog import PredictionLogWriter, PredictionRecord

log = logging.getLogger("shipway.serving")


class ModelSource(Protocol):
    """Where a server gets models, deployments and credentials, and puts its log: the
    local home or a platform server (``shipway.client.serving`` implements both)."""

    def resolve(self, uri: str) -> ModelVersion: ...
    def load(self, version: ModelVersion) -> LoadedModel: ...
    def deployment(self, name: str) -> Deployment: ...
    def auth_required(self) -> bool: ...
    def authenticate(self, token: str) -> str | None:
        """The role of the token's user, or None for an unknown or revoked token."""
        ...

    def check_api_key(self, deployment: str, key: str) -> bool: ...
    def write_segment(
        self, model: str, version: int, path: Path, rows: int, first: int, last: int
    ) -> None: ...
    def log_rules(self, model: str) -> dict[str, list[str]]:
        """Input columns the prediction log must ``hash`` or ``drop`` (from the model's
        contract); empty when there are none."""
        ...


@dataclass(frozen=True)
class ServeConfig:
    batch_max_size: int = 0  # 0: batching off
    batch_max_wait_ms: float = 2.0
    max_rows: int = 10_000
    max_body_bytes: int = 16 * 1024 * 1024
    poll_interval: float = 5.0  # seconds between checks of deployments and aliases
    prediction_log: bool = True
    log_queue_rows: int = 100_000
    log_segment_rows: int = 50_000
    log_flush_seconds: float = 5.0
    access_log: bool = True


@dataclass(frozen=True)
class Target:
    """What one endpoint should serve: its primary URI and the traffic policy."""

    primary: str
    mode: str = "single"
    candidate: str | None = None
    percent: float = 0.0


class Slot:
    """One loaded, warmed-up model version."""

    def __init__(self, version: ModelVersion, model: LoadedModel, config: ServeConfig) -> None:
        self.version = version
        self.name = version.name
        self.number = version.version
        self.label = str(version.version)
        self.model = model
        signature = model.signature
        self.codec = Codec(signature, model.classes, config.max_rows)
        self.input_types = [c.type for c in self.codec.specs]
        self.has_proba = model.has_predict_proba
        self.batcher: Batcher | None = None
        self.log_hash: frozenset[str] = frozenset()  # set from the contract when loaded
        self.log_drop: frozenset[str] = frozenset()

    def predict(self, rows: Rows, want_proba: bool) -> tuple[Any, Any]:
        """Run the model (synchronously) on ``rows``."""
        frame = self.codec.frame(rows)
        try:
            predictions = self.model.predict(frame)
            proba = self.model.predict_proba(frame) if want_proba and self.has_proba else None
        except ShipwayError:
            raise
        except Exception as exc:  # the library refused the input: the caller's problem to fix
            log.warning("model %s/%s failed on its input: %s", self.name, self.label, exc)
            raise PredictionFailed(
                f"the model could not predict on this input: {type(exc).__name__}: {exc}",
                details={"model": self.name, "version": self.number},
            ) from exc
        return np.asarray(predictions), proba

    async def run(self, rows: Rows, want_proba: bool) -> tuple[Any, Any]:
        if self.batcher is not None:
            return await self.batcher.submit(rows, want_proba)
        return self.predict(rows, want_proba)

    def warm_up(self) -> None:
        """One prediction on the package's input example (or a made-up row)."""
        example = self.model.info.input_example
        if example:
            self.model.predict(example[:1])
            return
        if self.codec.tensor is not None:
            shape = [1, *(max(d, 1) for d in self.codec.tensor.shape[1:])]
            self.model.predict(np.zeros(shape, dtype=self.codec.tensor.dtype))
            return
        if self.codec.specs:
            row = {c.name: _placeholder(c) for c in self.codec.specs}
            self.model.predict([row])


class PredictionFailed(InvalidInput):
    code = "prediction_failed"


def _placeholder(column: Any) -> Any:
    if column.categories:
        return column.categories[0]
    return {"int": 0, "float": 0.0, "bool": False, "string": "", "datetime": "2000-01-01"}.get(
        column.type, 0
    )


@dataclass
class Endpoint:
    name: str
    target: Target
    primary: Slot
    candidate: Slot | None = None
    deployment: str | None = None
    revision: int = 0
    slots: dict[int, Slot] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.slots = {self.primary.number: self.primary}
        if self.candidate is not None:
            self.slots.setdefault(self.candidate.number, self.candidate)

    def route(self, key: str | None) -> tuple[Slot, str, Slot | None]:
        """``(slot that answers, its arm, slot to mirror to or None)``."""
        target = self.target
        if self.candidate is None or target.mode == "single":
            return self.primary, "primary", None
        if target.mode == "shadow":
            mirror = target.percent >= 100 or random.random() * 100 < target.percent
            return self.primary, "primary", self.candidate if mirror else None
        if key:
            bucket = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=4).digest(), "big")
            chosen = (bucket % 10_000) < target.percent * 100
        else:
            chosen = random.random() * 100 < target.percent
        return (self.candidate, "canary", None) if chosen else (self.primary, "primary", None)

    def slot(self, version: int | None) -> Slot:
        if version is None:
            return self.primary
        slot = self.slots.get(version)
        if slot is None:
            loaded = ", ".join(str(v) for v in sorted(self.slots))
            raise NotFound(
                f"model {self.name!r} version {version} is not served here; served versions: "
                f"{loaded}",
                details={"model": self.name, "version": version, "served": sorted(self.slots)},
            )
        return slot


class Runtime:
    """The endpoints of one server process, kept in step with the registry."""

    def __init__(
        self,
        source: ModelSource,
        *,
        models: Sequence[str] = (),
        deployments: Sequence[str] = (),
        config: ServeConfig | None = None,
        metrics: ServingMetrics | None = None,
    ) -> None:
        self.source = source
        self.config = config or ServeConfig()
        self.metrics = metrics or ServingMetrics()
        self.model_uris = list(models)
        self.deployment_names = list(deployments)
        self.endpoints: dict[str, Endpoint] = {}
        self.expected: list[str] = [self._uri_name(u) for u in self.model_uris] + list(deployments)
        self._cache: dict[tuple[str, int], Slot] = {}
        self._follow_task: asyncio.Task[None] | None = None
        self.auth = False
        self.writer: PredictionLogWriter | None = None
        if not self.model_uris and not self.deployment_names:
            raise InvalidInput(
                "nothing to serve: give model URIs (models:/NAME@ALIAS) or --deployment NAME"
            )
        if len(set(self.expected)) != len(self.expected):
            raise InvalidInput(f"two endpoints would have the same name: {self.expected}")

    @staticmethod
    def _uri_name(uri: str) -> str:
        return parse_model_uri(uri)[0]

    @property
    def ready(self) -> bool:
        return all(name in self.endpoints for name in self.expected)

    # lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Load every endpoint (and warm it up) before taking traffic."""
        loop = asyncio.get_running_loop()
        self.auth = await loop.run_in_executor(None, self.source.auth_required)
        if self.config.prediction_log:
            self.writer = PredictionLogWriter(
                self.source.write_segment,
                max_rows=self.config.log_queue_rows,
                segment_rows=self.config.log_segment_rows,
                flush_seconds=self.config.log_flush_seconds,
                on_drop=self.metrics.log_dropped.inc,
                on_write=self.metrics.log_written.inc,
            )
        await self.refresh(initial=True)
        if self.config.poll_interval > 0:
            self._follow_task = loop.create_task(self._follow())

    async def stop(self) -> None:
        if self._follow_task is not None:
            self._follow_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follow_task
        for endpoint in list(self.endpoints.values()):
            for slot in endpoint.slots.values():
                if slot.batcher is not None:
                    await slot.batcher.close()
        if self.writer is not None:
            writer = self.writer
            await asyncio.get_running_loop().run_in_executor(None, writer.close)

    async def _follow(self) -> None:
        while True:
            await asyncio.sleep(self.config.poll_interval)
            try:
                await self.refresh()
            except Exception:  # the registry is down, a version fails to load: keep serving
                log.exception("could not refresh the served models; still serving the old ones")

    async def refresh(self, *, initial: bool = False) -> None:
        """Resolve every endpoint's URIs; load and swap in what changed."""
        loop = asyncio.get_running_loop()
        targets = await loop.run_in_executor(None, self._targets)
        for name, (target, deployment, revision) in targets.items():
            versions = await loop.run_in_executor(None, self._resolve, target)
            current = self.endpoints.get(name)
            if (
                current is not None
                and current.target == target
                and (
                    current.primary.number,
                    None if current.candidate is None else current.candidate.number,
                )
                == (versions[0].version, None if versions[1] is None else versions[1].version)
            ):
                continue
            try:
                primary = await self._slot(versions[0])
                candidate = None if versions[1] is None else await self._slot(versions[1])
            except Exception:
                if initial:
                    raise
                log.exception("could not load the new version for %s; still serving the old", name)
                continue
            self.endpoints[name] = Endpoint(name, target, primary, candidate, deployment, revision)
            self._publish_ready()
            if current is not None:
                log.info(
                    "endpoint %s now serves %s/%s%s",
                    name,
                    primary.name,
                    primary.label,
                    ""
                    if candidate is None
                    else f" ({target.mode} {candidate.name}/{candidate.label})",
                )
        self._retire()

    def _targets(self) -> dict[str, tuple[Target, str | None, int]]:
        out: dict[str, tuple[Target, str | None, int]] = {}
        for uri in self.model_uris:
            out[self._uri_name(uri)] = (Target(uri), None, 0)
        for name in self.deployment_names:
            d = self.source.deployment(name)
            out[name] = (Target(d.model, d.mode, d.candidate, d.percent), name, d.revision)
        return out

    def _resolve(self, target: Target) -> tuple[ModelVersion, ModelVersion | None]:
        primary = self.source.resolve(target.primary)
        candidate = None
        if target.mode != "single" and target.candidate:
            candidate = self.source.resolve(target.candidate)
        return primary, candidate

    async def _slot(self, version: ModelVersion) -> Slot:
        key = (version.name, version.version)
        slot = self._cache.get(key)
        if slot is not None and slot.version.package_digest == version.package_digest:
            return slot
        loop = asyncio.get_running_loop()
        try:
            slot = await loop.run_in_executor(None, self._load, version)
        except Exception:
            self.metrics.model_loads.labels(version.name, str(version.version), "failed").inc()
            raise
        self.metrics.model_loads.labels(version.name, str(version.version), "loaded").inc()
        if self.config.batch_max_size > 0:
            labels = (slot.name, slot.label)
            slot.batcher = Batcher(
                slot.predict,
                max_size=self.config.batch_max_size,
                max_wait=self.config.batch_max_wait_ms / 1000,
                on_batch=self.metrics.batch_size.labels(*labels).observe,
                on_depth=self.metrics.queue_depth.labels(*labels).set,
            )
            slot.batcher.start()
        self._cache[key] = slot
        return slot

    def _load(self, version: ModelVersion) -> Slot:
        started = time.perf_counter()
        model = self.source.load(version)
        slot = Slot(version, model, self.config)
        rules = self.source.log_rules(version.name)
        slot.log_drop = frozenset(rules.get("drop") or ())
        slot.log_hash = frozenset(rules.get("hash") or ()) - slot.log_drop
        slot.warm_up()
        log.info(
            "loaded %s/%s (%s) in %.2fs",
            version.name,
            version.version,
            model.flavor,
            time.perf_counter() - started,
        )
        return slot

    def _retire(self) -> None:
        """Forget slots no endpoint uses (their batchers stop once their queues drain)."""
        used = {id(s) for e in self.endpoints.values() for s in e.slots.values()}
        for key, slot in list(self._cache.items()):
            if id(slot) not in used:
                del self._cache[key]
                if slot.batcher is not None:
                    asyncio.get_running_loop().create_task(slot.batcher.close())
                self.metrics.ready.labels("", slot.name, slot.label).set(0)

    def _publish_ready(self) -> None:
        for endpoint in self.endpoints.values():
            for slot in endpoint.slots.values():
                self.metrics.ready.labels(endpoint.name, slot.name, slot.label).set(1)

    # requests ---------------------------------------------------------------------------

    def endpoint(self, name: str) -> Endpoint:
        endpoint = self.endpoints.get(name)
        if endpoint is not None:
            return endpoint
        if name in self.expected:
            raise NotReady(f"model {name!r} is loading; try again shortly", details={"model": name})
        raise NotFound(
            f"model {name!r} is not served here; served: {', '.join(sorted(self.expected))}",
            details={"model": name, "served": sorted(self.expected)},
        )

    def count_error(self, model: str, label: str) -> None:
        if self.writer is not None and label.isdigit():
            self.writer.count_error(model, int(label))

    def log_prediction(
        self,
        endpoint: Endpoint,
        slot: Slot,
        arm: str,
        protocol: str,
        request_id: str,
        started: float,
        latency: float,
        rows: Rows,
        predictions: Any,
        proba: Any,
    ) -> None:
        self.metrics.predictions.labels(slot.name, slot.label, arm).inc(rows.n)
        if self.writer is None:
            return
        self.writer.put(
            PredictionRecord(
                request_id=request_id,
                time_ms=int(started * 1000),
                endpoint=endpoint.name,
                model=slot.name,
                version=slot.number,
                arm=arm,
                protocol=protocol,
                latency_ms=latency * 1000,
                input_names=slot.codec.names,
                input_types=slot.input_types,
                rows=rows,
                predictions=predictions,
                probabilities=proba,
                hashed=slot.log_hash,
                dropped=slot.log_drop,
            )
        )
