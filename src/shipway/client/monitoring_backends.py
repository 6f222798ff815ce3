"""The monitoring half of both client backends: feedback, monitor runs and reports, and
alerts, in-process and over HTTP."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shipway.client.models_backends import _n
from shipway.records import Alert
from shipway.services import Services


class MonitoringInProcess:
    services: Services

    def feedback_log(self, name: str, items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        return self.services.monitoring.log_feedback(name, items)

    def monitor_run(self, name: str) -> dict[str, Any]:
        return self.services.monitoring.run(name)

    def monitor_report(self, name: str, window_seconds: int) -> dict[str, Any]:
        return self.services.monitoring.report(name, window_seconds)

    def alerts_list(
        self, model: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[Alert]:
        return self.services.monitoring.list_alerts(model, status, limit)

    def alert_get(self, alert_id: int) -> Alert:
        return self.services.monitoring.get_alert(alert_id)

    def alert_ack(self, alert_id: int, comment: str = "") -> Alert:
        return self.services.monitoring.ack(alert_id, comment)


class MonitoringOverHttp:
    _json: Any

    def feedback_log(self, name: str, items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = self._json(
            "POST", "/feedback", json={"model": name, "items": [dict(i) for i in items]}
        )
        return result

    def monitor_run(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self._json("POST", f"/monitoring/{_n(name)}/run")
        return result

    def monitor_report(self, name: str, window_seconds: int) -> dict[str, Any]:
        params = {"window": f"{int(window_seconds)}s"}
        result: dict[str, Any] = self._json("GET", f"/monitoring/{_n(name)}/report", params=params)
        return result

    def alerts_list(
        self, model: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[Alert]:
        params = {k: v for k, v in (("model", model), ("status", status)) if v}
        params["limit"] = str(limit)
        return [Alert.from_dict(a) for a in self._json("GET", "/alerts", params=params)["alerts"]]

    def alert_get(self, alert_id: int) -> Alert:
        return Alert.from_dict(self._json("GET", f"/alerts/{int(alert_id)}"))

    def alert_ack(self, alert_id: int, comment: str = "") -> Alert:
        url = f"/alerts/{int(alert_id)}/ack"
        return Alert.from_dict(self._json("POST", url, json={"comment": comment}))
