"""The monitoring service: feedback, profiles, rules, alerts and reports, for models whose
contract has a ``monitoring`` section — a facade over the parts, each in its module:

- ``feedback.py``  labels for logged predictions and the live quality they give;
- ``profiles.py``  reference and window profiles, drift and data quality;
- ``contracts/rules.py``  one class per rule kind, judging a window's figures;
- ``alerts.py``    alerts, their cooldown, actions and webhook;
- ``summary.py``   the report's figures; ``store/monitoring.py`` all the SQL.

``run(name)`` does everything once: profiles the prediction-log segments not profiled yet
(each segment exactly once), evaluates every rule over its windows, and for each rule that
fires records an alert with its evidence, logs it, posts the webhook and takes the
contract's action. The platform server calls it periodically.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from shipway.contracts import rules
from shipway.contracts.service import ContractService
from shipway.contracts.spec import duration
from shipway.contracts.terms import Rule, Terms
from shipway.datasets.service import DatasetService
from shipway.errors import InvalidInput, NotFound
from shipway.monitoring import summary
from shipway.monitoring.alerts import Alerts
from shipway.monitoring.context import Context, now_ms, window_end
from shipway.monitoring.feedback import Feedback
from shipway.monitoring.profiles import Profiles, figures
from shipway.monitoring.sketches import Profile
from shipway.records import Alert
from shipway.registry.service import RegistryService
from shipway.serving.predictions import PredictionLogService
from shipway.store import monitoring as repo
from shipway.store.db import Database

log = logging.getLogger("shipway.monitoring")
Verdicts = dict[int, rules.Verdict]  # per model version


class MonitoringService:
    def __init__(
        self,
        db: Database,
        registry: RegistryService,
        datasets: DatasetService,
        contracts: ContractService,
        predictions: PredictionLogService,
        home: Path,
        actor: str = "unknown",
        webhook_allow: tuple[str, ...] = (),
    ) -> None:
        self._use(
            Context(
                db,
                registry,
                datasets,
                contracts,
                predictions,
                Path(home),
                actor,
                webhook_allow=webhook_allow,
            )
        )

    def _use(self, ctx: Context) -> None:
        self.ctx = ctx
        self.feedback = Feedback(ctx)
        self.profiles = Profiles(ctx)
        self.alerts = Alerts(ctx)

    def with_actor(self, actor: str) -> MonitoringService:
        """The same service (sharing its cache of loaded models) acting as ``actor``."""
        other = object.__new__(MonitoringService)
        other._use(self.ctx.with_actor(actor))
        return other

    def log_feedback(self, name: str, items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Store labels for logged predictions (see :meth:`Feedback.log`)."""
        return self.feedback.log(name, items)

    # the run loop --------------------------------------------------------------------

    def run(self, name: str) -> dict[str, Any]:
        """Profile new log segments, evaluate every rule, fire alerts and act on them."""
        return self.run_at(name, None)

    def run_at(self, name: str, now: int | None) -> dict[str, Any]:
        """``run`` as of ``now`` (ms since the epoch; None: the clock)."""
        t = self.ctx.terms(name)
        profiled = self.profiles.update(name, t)
        now = now or now_ms()
        end = window_end(t.monitoring, now)
        needs = {rules.kind_of(r.kind).needs for r in t.monitoring.rules}
        labels = self.feedback.labels(name) if "feedback" in needs else None
        fired: list[Alert] = []
        checked: list[dict[str, Any]] = []
        for rule in t.monitoring.rules:
            window_ms = int(rule.window or t.monitoring.window) * 1000
            results = [
                self._evaluate(
                    name, t, rule, end - (k + 1) * window_ms, end - k * window_ms, labels
                )
                for k in range(rule.for_windows)
            ]
            for version in sorted({v for r in results for v in r}):
                per_window = [r.get(version) for r in results]
                breached = all(w is not None and w["breached"] for w in per_window)
                latest = per_window[0] or {"breached": False, "status": "no data"}
                checked.append(
                    {
                        "rule": rule.kind,
                        "version": version,
                        "breached": breached,
                        "status": latest.get("status"),
                        "value": latest.get("value"),
                    }
                )
                if breached:
                    alert = self.alerts.fire(name, version, rule, latest, now, end, window_ms)
                    if alert is not None:
                        fired.append(alert)
        acted = self.alerts.act(name, t.monitoring, fired)
        with self.ctx.db.write() as conn:
            repo.ran(conn, name, now)
        return {
            "model": name,
            "profiled": profiled,
            "checked": checked,
            "alerts": [a.to_dict() for a in acted],
        }

    def _evaluate(
        self, name: str, t: Terms, rule: Rule, start: int, end: int, labels: Any
    ) -> Verdicts:
        """Per version with traffic in [start, end) (shadow arms aside): the verdict of
        ``rule``, by its kind's class, over the figures that kind needs."""
        kind = rules.kind_of(rule.kind)
        out: Verdicts = {}
        if kind.needs == "feedback":
            for (version, arm), scored in self.feedback.quality(
                name, start, end, labels, t
            ).items():
                if arm == "shadow":
                    continue
                verdict = kind.evaluate(rule, rules.Window(scored=scored)) | {"arm": arm}
                previous = out.get(version)
                if previous is None or (verdict["breached"] and not previous["breached"]):
                    out[version] = verdict
            return out
        merged: dict[int, Profile] = {}
        for (version, arm), profile in self.profiles.window(name, start, end).items():
            if arm != "shadow":
                merged.setdefault(version, Profile()).merge(profile)
        for version, profile in merged.items():
            drift = None
            if kind.needs == "drift":
                drift = self.profiles.drift(name, version, profile, rule, t)
            out[version] = kind.evaluate(rule, figures(profile, drift))
        return out

    def monitored(self) -> list[str]:
        """Models whose current contract has monitoring rules."""
        out = []
        for model in self.ctx.registry.list_models():
            try:
                t = self.ctx.terms(model.name)
            except NotFound:
                continue
            if t.monitoring.rules:
                out.append(model.name)
        return out

    def run_all(self) -> dict[str, Any]:
        """``run`` for every monitored model; a failing model is logged, not fatal."""
        results: dict[str, Any] = {}
        for name in self.monitored():
            try:
                results[name] = self.run(name)
            except Exception as exc:  # keep monitoring the others
                log.exception("monitoring %s failed", name)
                results[name] = {"error": f"{type(exc).__name__}: {exc}"}
        return results

    # alerts and reports --------------------------------------------------------------

    def get_alert(self, alert_id: int) -> Alert:
        return self.alerts.get(alert_id)

    def list_alerts(
        self, model: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[Alert]:
        return self.alerts.list_alerts(model, status, limit)

    def ack(self, alert_id: int, comment: str = "") -> Alert:
        return self.alerts.ack(alert_id, comment)

    def report(self, name: str, window: str | int = "24h") -> dict[str, Any]:
        """The report of the last ``window`` (a duration such as "24h", or seconds)."""
        seconds = duration(window)
        if seconds is None:
            raise InvalidInput(f"window {window!r} is not a duration; write 30m, 24h or 7d")
        return self.report_at(name, int(seconds), None)

    def report_at(self, name: str, window_seconds: int, now: int | None) -> dict[str, Any]:
        """``report`` over the last ``window_seconds`` before ``now`` (None: the clock)."""
        return summary.report(
            self.ctx,
            self.profiles,
            self.feedback,
            self.alerts,
            name,
            window_seconds,
            now or now_ms(),
        )
