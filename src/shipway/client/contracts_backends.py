"""The contracts half of both client backends: contract versions, gate reports, sign-offs,
reviews and promotion, in-process and over HTTP. Gates run where the services are: in
this process for a local home, on the platform server otherwise (so a report is the
server's own measurement, not something a client asserts)."""

from __future__ import annotations

from typing import Any

from shipway.client.models_backends import _n
from shipway.contracts.service import UNSET
from shipway.records import Approval, ContractVersion, GateReport, Promotion, Review
from shipway.services import Services


class ContractsInProcess:
    services: Services

    def contract_set(self, name: str, text: str, message: str = "") -> tuple[ContractVersion, bool]:
        return self.services.contracts.set(name, text, message=message)

    def contract_get(self, name: str, version: int | None = None) -> ContractVersion:
        return self.services.contracts.get(name, version)

    def contract_history(self, name: str) -> list[ContractVersion]:
        return self.services.contracts.history(name)

    def contract_diff(
        self, name: str, a: int | None = None, b: int | None = None
    ) -> dict[str, Any]:
        return self.services.contracts.diff(name, a, b)

    def gate_run(self, name: str, version: int, contract_version: int | None = None) -> GateReport:
        return self.services.contracts.run_gates(name, version, contract_version)

    def gate_reports(self, name: str, version: int | None = None) -> list[GateReport]:
        return self.services.contracts.reports(name, version)

    def gate_report(self, report_id: int) -> GateReport:
        return self.services.contracts.report(report_id)

    def decide(self, name: str, version: int, role: str, decision: str, comment: str) -> Approval:
        return self.services.contracts.decide(name, version, role, decision, comment)

    def approvals(self, name: str, version: int) -> list[Approval]:
        return self.services.contracts.approvals(name, version)

    def review(self, name: str, version: int, rating: int | None, comment: str) -> Review:
        return self.services.contracts.review(name, version, rating, comment)

    def reviews(self, name: str, version: int) -> list[Review]:
        return self.services.contracts.reviews(name, version)

    def promotion_status(self, name: str, version: int, alias: str) -> dict[str, Any]:
        return self.services.contracts.promotion_status(name, version, alias)

    def promote(
        self,
        name: str,
        version: int,
        alias: str,
        *,
        force: bool = False,
        reason: str = "",
        expect_current: int | None = UNSET,
    ) -> Promotion:
        return self.services.contracts.promote(
            name, version, alias, force=force, reason=reason, expect_current=expect_current
        )

    def promotions(self, name: str) -> list[Promotion]:
        return self.services.contracts.promotions(name)


class ContractsOverHttp:
    _json: Any

    def contract_set(self, name: str, text: str, message: str = "") -> tuple[ContractVersion, bool]:
        data = self._json(
            "PUT", f"/models/{_n(name)}/contract", json={"text": text, "message": message}
        )
        created = bool(data.pop("created"))
        return ContractVersion.from_dict(data), created

    def contract_get(self, name: str, version: int | None = None) -> ContractVersion:
        params = {"version": version} if version is not None else None
        return ContractVersion.from_dict(
            self._json("GET", f"/models/{_n(name)}/contract", params=params)
        )

    def contract_history(self, name: str) -> list[ContractVersion]:
        data = self._json("GET", f"/models/{_n(name)}/contract/versions")
        return [ContractVersion.from_dict(c) for c in data["versions"]]

    def contract_diff(
        self, name: str, a: int | None = None, b: int | None = None
    ) -> dict[str, Any]:
        params = {k: v for k, v in (("from", a), ("to", b)) if v is not None}
        result: dict[str, Any] = self._json(
            "GET", f"/models/{_n(name)}/contract/diff", params=params
        )
        return result

    def gate_run(self, name: str, version: int, contract_version: int | None = None) -> GateReport:
        url = f"/models/{_n(name)}/versions/{version}/gate-reports"
        return GateReport.from_dict(
            self._json("POST", url, json={"contract_version": contract_version})
        )

    def gate_reports(self, name: str, version: int | None = None) -> list[GateReport]:
        url = f"/models/{_n(name)}/gate-reports"
        data = self._json("GET", url, params={"version": version} if version is not None else None)
        return [GateReport.from_dict(r) for r in data["reports"]]

    def gate_report(self, report_id: int) -> GateReport:
        return GateReport.from_dict(self._json("GET", f"/gate-reports/{int(report_id)}"))

    def decide(self, name: str, version: int, role: str, decision: str, comment: str) -> Approval:
        body = {"role": role, "decision": decision, "comment": comment}
        url = f"/models/{_n(name)}/versions/{version}/approvals"
        return Approval.from_dict(self._json("POST", url, json=body))

    def approvals(self, name: str, version: int) -> list[Approval]:
        data = self._json("GET", f"/models/{_n(name)}/versions/{version}/approvals")
        return [Approval.from_dict(a) for a in data["approvals"]]

    def review(self, name: str, version: int, rating: int | None, comment: str) -> Review:
        url = f"/models/{_n(name)}/versions/{version}/reviews"
        return Review.from_dict(
            self._json("POST", url, json={"rating": rating, "comment": comment})
        )

    def reviews(self, name: str, version: int) -> list[Review]:
        data = self._json("GET", f"/models/{_n(name)}/versions/{version}/reviews")
        return [Review.from_dict(r) for r in data["reviews"]]

    def promotion_status(self, name: str, version: int, alias: str) -> dict[str, Any]:
        url = f"/models/{_n(name)}/versions/{version}/promotion"
        result: dict[str, Any] = self._json("GET", url, params={"alias": alias})
        return result

    def promote(
        self,
        name: str,
        version: int,
        alias: str,
        *,
        force: bool = False,
        reason: str = "",
        expect_current: int | None = UNSET,
    ) -> Promotion:
        body: dict[str, Any] = {"alias": alias, "force": force, "reason": reason}
        if expect_current is not UNSET:
            body["expect_current"] = expect_current
            body["check_current"] = True
        url = f"/models/{_n(name)}/versions/{version}/promotion"
        return Promotion.from_dict(self._json("POST", url, json=body))

    def promotions(self, name: str) -> list[Promotion]:
        data = self._json("GET", f"/models/{_n(name)}/promotions")
        return [Promotion.from_dict(p) for p in data["promotions"]]
