"""Deployments: what an inference server serves under one name, stored in the registry.

A deployment names a model URI (usually an alias, ``models:/churn@production``) and a
traffic policy. Servers started with ``shipway serve --deployment NAME`` follow it: when
the policy or the alias moves, they load the new version in the background and switch.

Example::

    service.create("churn", "models:/churn@production")
    service.set_traffic("churn", mode="canary", candidate="models:/churn/5", percent=10)
"""

from __future__ import annotations

import builtins
import copy
import hmac
import math
import secrets
import time
from typing import Any

import orjson
import sqlalchemy as sa

from shipway.accounts.service import hash_token
from shipway.errors import Conflict, InvalidInput, NotFound
from shipway.records import TRAFFIC_MODES, Deployment, Event
from shipway.registry.service import parse_model_uri
from shipway.store import events
from shipway.store.db import Database
from shipway.store.tables import deployments
from shipway.tracking.validation import check_slug

API_KEY_PREFIX = "swk_"
MAX_HISTORY = 1000  # changes of one deployment listed


def check_deployment_name(name: str) -> str:
    return check_slug("deployment", name)


def check_traffic(
    mode: str, candidate: str | None, percent: float | None
) -> tuple[str, str | None, float]:
    """The policy normalised; ``InvalidInput`` naming the field that is wrong."""
    if mode not in TRAFFIC_MODES:
        raise InvalidInput(
            f"traffic mode {mode!r} is not known; use one of {', '.join(TRAFFIC_MODES)}",
            details={"field": "mode", "allowed": list(TRAFFIC_MODES)},
        )
    if mode == "single":
        if candidate:
            raise InvalidInput(
                "a single-model deployment takes no candidate; use mode canary or shadow",
                details={"field": "candidate"},
            )
        return mode, None, 0.0
    if not candidate:
        raise InvalidInput(
            f"a {mode} deployment needs a candidate model URI (models:/NAME/VERSION)",
            details={"field": "candidate"},
        )
    parse_model_uri(candidate)
    default = 10.0 if mode == "canary" else 100.0
    value = default if percent is None else percent
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(f"percent must be a number, got {value!r}", details={"field": "percent"})
    if not 0 <= value <= 100:
        raise InvalidInput(
            f"percent must be between 0 and 100, got {value}", details={"field": "percent"}
        )
    return mode, candidate, float(value)


def _record(row: Any) -> Deployment:
    spec = orjson.loads(row.spec)
    return Deployment(
        name=row.name,
        model=spec["model"],
        mode=spec["mode"],
        candidate=spec.get("candidate"),
        percent=float(spec.get("percent", 0.0)),
        revision=row.revision,
        has_api_key=row.api_key_hash is not None,
        created_at=row.created_at,
        created_by=row.created_by,
        updated_at=row.updated_at,
    )


class DeploymentService:
    def __init__(self, db: Database, actor: str = "unknown") -> None:
        self.db = db
        self.actor = actor

    def with_actor(self, actor: str) -> DeploymentService:
        other = copy.copy(self)
        other.actor = actor
        return other

    def create(
        self,
        name: str,
        model: str,
        *,
        mode: str = "single",
        candidate: str | None = None,
        percent: float | None = None,
        api_key: bool = False,
    ) -> tuple[Deployment, str | None]:
        """``(deployment, api key or None)``; the key is shown only here, stored hashed."""
        check_deployment_name(name)
        parse_model_uri(model)
        mode, candidate, percent = check_traffic(mode, candidate, percent)
        key = API_KEY_PREFIX + secrets.token_urlsafe(24) if api_key else None
        now = int(time.time() * 1000)
        spec = {"model": model, "mode": mode, "candidate": candidate, "percent": percent}
        try:
            with self.db.write() as conn:
                if conn.execute(
                    sa.select(deployments.c.id).where(deployments.c.name == name)
                ).first():
                    raise Conflict(
                        f"deployment {name!r} exists; change it with "
                        f"'shipway deployments set-traffic {name} ...'"
                    )
                conn.execute(
                    deployments.insert().values(
                        name=name,
                        spec=orjson.dumps(spec).decode(),
                        revision=1,
                        api_key_hash=None if key is None else hash_token(key),
                        created_at=now,
                        created_by=self.actor,
                        updated_at=now,
                    )
                )
                events.record(conn, self.actor, "create", "deployment", name, spec)
                row = self._row(conn, name)
        except sa.exc.IntegrityError:  # a concurrent create won the race
            raise Conflict(f"deployment {name!r} exists") from None
        return _record(row), key

    def get(self, name: str) -> Deployment:
        with self.db.read() as conn:
            return _record(self._row(conn, name))

    def list(self) -> list[Deployment]:
        with self.db.read() as conn:
            rows = conn.execute(sa.select(deployments).order_by(deployments.c.name))
            return [_record(r) for r in rows]

    def history(self, name: str) -> builtins.list[Event]:
        """Who created the deployment and changed its traffic policy, when and to what,
        oldest first."""
        with self.db.read() as conn:
            self._row(conn, name)  # NotFound for an unknown deployment
            return events.page(
                conn, after_id=0, limit=MAX_HISTORY, object_type="deployment", object_id=name
            )

    def set_traffic(
        self,
        name: str,
        *,
        model: str | None = None,
        mode: str | None = None,
        candidate: str | None = None,
        percent: float | None = None,
    ) -> Deployment:
        """Change the model URI and/or the traffic policy; the revision goes up by one."""
        with self.db.write() as conn:
            row = self._row(conn, name, lock=True)
            old = orjson.loads(row.spec)
            new_model = model or old["model"]
            parse_model_uri(new_model)
            new_mode = mode or old["mode"]
            if new_mode == "single":
                candidate = None
            elif candidate is None:
                candidate = old.get("candidate")
            if percent is None and new_mode == old["mode"] and new_mode != "single":
                percent = old.get("percent")
            new_mode, candidate, percent = check_traffic(new_mode, candidate, percent)
            spec = {
                "model": new_model,
                "mode": new_mode,
                "candidate": candidate,
                "percent": percent,
            }
            conn.execute(
                deployments.update()
                .where(deployments.c.id == row.id)
                .values(
                    spec=orjson.dumps(spec).decode(),
                    revision=row.revision + 1,
                    updated_at=int(time.time() * 1000),
                )
            )
            events.record(conn, self.actor, "set-traffic", "deployment", name, spec)
            return _record(self._row(conn, name))

    def delete(self, name: str) -> None:
        with self.db.write() as conn:
            row = self._row(conn, name, lock=True)
            conn.execute(deployments.delete().where(deployments.c.id == row.id))
            events.record(conn, self.actor, "delete", "deployment", name)

    def check_api_key(self, name: str, key: str) -> bool:
        """Whether ``key`` is the deployment's API key (constant-time comparison)."""
        with self.db.read() as conn:
            row = self._row(conn, name)
        if row.api_key_hash is None or not key:
            return False
        return hmac.compare_digest(row.api_key_hash, hash_token(key))

    def _row(self, conn: Any, name: str, *, lock: bool = False) -> Any:
        query = sa.select(deployments).where(deployments.c.name == name)
        if lock:
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            raise NotFound(
                f"deployment {name!r} does not exist; create it with "
                f"'shipway deployments create {name} models:/MODEL@production'"
            )
        return row
