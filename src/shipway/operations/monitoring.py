"""The monitoring operations: ground truth, monitor runs, reports and alerts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from shipway.operations.declare import op
from shipway.operations.types import Limit, Number
from shipway.records import Alert

DS = "data-scientist"


class Monitoring(Protocol):
    @op("POST", "/monitoring/{name}/feedback", role=DS)
    def log_feedback(self, name: str, items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Ground truth for logged predictions: ``[{"request_id", "row" (default 0),
        "label"}, …]`` (at most 100,000). Returns ``accepted``, ``duplicates``,
        ``updated``, ``unknown`` (ids not in the prediction log, not stored) and
        ``invalid`` (with reasons).

        >>> client.monitoring.log_feedback("churn", [{"request_id": rid, "label": 1}])
        """
        ...

    @op("POST", "/monitoring/{name}/run", role=DS, event="alert")
    def run(self, name: str) -> dict[str, Any]:
        """Profile new predictions, evaluate the contract's monitoring rules, fire alerts
        and take their actions: ``{profiled, checked, alerts}``."""
        ...

    @op("GET", "/monitoring/{name}/report", role="viewer")
    def report(self, name: str, window: str | int = "24h") -> dict[str, Any]:
        """The monitoring report of the last ``window`` (``30m``, ``24h``, ``7d`` or
        seconds): per version and arm the rows, latency, live metrics, label coverage;
        drift per feature; data quality; series per bucket; the alerts fired."""
        ...

    @op("GET", "/alerts", role="viewer", key="alerts")
    def list_alerts(
        self, model: str | None = None, status: str | None = None, limit: Limit = 100
    ) -> list[Alert]:
        """Alerts, newest first (of one model, or with one status: open, acked)."""
        ...

    @op("GET", "/alerts/{alert_id}", role="viewer")
    def get_alert(self, alert_id: Number) -> Alert:
        """One alert with its evidence and the actions taken."""
        ...

    @op("POST", "/alerts/{alert_id}/ack", role=DS, event="ack")
    def ack(self, alert_id: Number, comment: str = "") -> Alert:
        """Acknowledge an alert (it stops counting as open)."""
        ...
