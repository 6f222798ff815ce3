"""Alerts: fired once per rule and version within its cooldown, with their evidence; the
contract's action on them (rollback, retraining), the webhook; acknowledgement."""

from __future__ import annotations

import logging
import os
from typing import Any

from shipway.contracts import rules
from shipway.contracts.terms import Monitoring, Rule
from shipway.errors import InvalidInput, NotFound, ShipwayError
from shipway.monitoring import actions
from shipway.monitoring.context import Context, now_ms
from shipway.records import Alert
from shipway.store import events
from shipway.store import monitoring as repo
from shipway.store import pipelines as pipelines_repo

log = logging.getLogger("shipway.monitoring")


class Alerts:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def fire(
        self,
        name: str,
        version: int,
        rule: Rule,
        result: rules.Verdict,
        now: int,
        end: int,
        window_ms: int,
    ) -> Alert | None:
        """Record the alert of a breached rule (None while the rule is in its cooldown)."""
        ctx = self.ctx
        with ctx.db.write() as conn:
            repo.lock(conn, name)  # serialise with any other run of this model: fire once
            if repo.fired_since(conn, name, rule.kind, version, now - int(rule.cooldown * 1000)):
                return None
            message = rules.message(name, version, rule.kind, result, rule.for_windows)
            evidence = {k: v for k, v in result.items() if k not in ("breached", "drift")}
            if "drift" in result:
                evidence["reference"] = result["drift"].get("reference")
                evidence["prediction"] = result["drift"].get("prediction")
            new_id = repo.add_alert(
                conn,
                {
                    "model": name,
                    "version": version,
                    "rule": rule.kind,
                    "severity": rule.severity,
                    "message": message,
                    "evidence": evidence,
                    "window_start": end - window_ms * rule.for_windows,
                    "window_end": end,
                    "fired_at": now,
                },
            )
            events.record(
                conn, ctx.actor, "alert", "model", name, {"alert": new_id, "rule": rule.kind}
            )
        log.warning("alert #%s %s", new_id, message)
        return self.get(new_id)

    def act(self, name: str, monitoring: Monitoring, fired: list[Alert]) -> list[Alert]:
        """Take the contract's ``on_breach`` action on each fired alert (one rollback and
        one retraining per run at most) and post its webhook; the alerts as updated."""
        action = monitoring.on_breach
        hook = monitoring.webhook
        done: list[Alert] = []
        first: dict[str, int] = {}  # action -> the alert that took it in this run
        for alert in fired:
            result: dict[str, Any] = {}
            if action == "rollback":
                result = self._rollback(name, alert, first)
            elif action == "retrain":
                result = self._retrain(name, alert, monitoring, first)
            delivery: dict[str, Any] = {}
            if hook and hook.get("url"):
                secret = os.environ.get(hook["secret_env"]) if hook.get("secret_env") else None
                payload = alert.to_dict() | {"action": action, "action_result": result}
                delivery = actions.post_webhook(
                    hook["url"], payload, secret=secret, allow=self.ctx.webhook_allow
                )
                if delivery["status"] != "delivered":
                    log.warning(
                        "alert #%s: webhook to %s failed: %s", alert.id, hook["url"], delivery
                    )
            with self.ctx.db.write() as conn:
                repo.set_action(conn, alert.id, action, result, delivery)
            done.append(self.get(alert.id))
        return done

    def _retrain(
        self, name: str, alert: Alert, monitoring: Monitoring, first: dict[str, int]
    ) -> dict[str, Any]:
        if "retrain" in first:
            return {
                "status": "skipped",
                "reason": f"retraining started by alert #{first['retrain']}",
            }
        first["retrain"] = alert.id
        retrain = monitoring.retrain or {}
        context = {
            "alert_id": alert.id,
            "rule": alert.rule,
            "model": name,
            "version": alert.version,
            "message": alert.message,
        }
        if retrain.get("pipeline"):
            return self._queue_pipeline(retrain["pipeline"], retrain.get("params") or {}, context)
        return actions.start_retraining(
            retrain["command"],
            context,
            self.ctx.home / "monitoring",
            timeout=retrain.get("timeout"),
        )

    def _queue_pipeline(
        self, pipeline: str, params: dict[str, Any], context: dict[str, Any]
    ) -> dict[str, Any]:
        """Queue a run of the retraining pipeline; ``shipway server``'s scheduler runs it."""
        try:
            with self.ctx.db.write() as conn:
                number = pipelines_repo.queue_run(
                    conn, pipeline, "alert", context, self.ctx.actor, params
                )
        except NotFound as exc:
            return {"status": "failed", "reason": exc.message}
        return {"status": "queued", "pipeline": pipeline, "pipeline_run": number}

    def _rollback(self, name: str, alert: Alert, first: dict[str, int]) -> dict[str, Any]:
        if "rollback" in first:
            return {"status": "skipped", "reason": f"rolled back by alert #{first['rollback']}"}
        registry = self.ctx.registry
        try:
            current = registry.resolve(f"models:/{name}@production").version
        except NotFound:
            return {"status": "skipped", "reason": "no version holds production"}
        if current != alert.version:
            return {
                "status": "skipped",
                "reason": f"production is version {current}, not {alert.version}",
            }
        history = registry.history(name, "production")
        if history and history[-1].reason.startswith("alert #"):
            return {
                "status": "skipped",
                "reason": f"production was rolled back already ({history[-1].reason.split(':')[0]}"
                "); another automatic rollback could bring back the version that alerted",
            }
        try:
            event = registry.rollback(
                name, "production", reason=f"alert #{alert.id} ({alert.rule}): {alert.message}"
            )
        except ShipwayError as exc:
            return {"status": "failed", "reason": str(exc)}
        first["rollback"] = alert.id
        return {"status": "rolled back", "from": event.from_version, "to": event.to_version}

    def get(self, alert_id: int) -> Alert:
        with self.ctx.db.read() as conn:
            found = repo.alert(conn, alert_id)
        if found is None:
            raise NotFound(f"no alert {alert_id}; `shipway alerts list` shows them")
        return found

    def list_alerts(
        self, model: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[Alert]:
        if status is not None and status not in ("open", "acked"):
            raise InvalidInput(f"status must be open or acked, got {status!r}")
        with self.ctx.db.read() as conn:
            return repo.list_alerts(conn, model, status, min(max(limit, 1), 1000))

    def ack(self, alert_id: int, comment: str = "") -> Alert:
        self.get(alert_id)
        actor = self.ctx.actor
        with self.ctx.db.write() as conn:
            repo.ack(conn, alert_id, actor, now_ms(), comment)
            events.record(conn, actor, "ack", "alert", str(alert_id), {"comment": comment})
        return self.get(alert_id)
