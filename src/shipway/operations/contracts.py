"""The contract operations: contract versions, gates and their reports, sign-offs,
reviews, the model card, and promotion."""

from __future__ import annotations

from typing import Any, Protocol

from shipway.errors import Conflict, ContractError, PermissionDenied, PromotionRefused
from shipway.operations.declare import op
from shipway.operations.types import Number
from shipway.records import Approval, ContractVersion, GateReport, Promotion, Review

DS = "data-scientist"
VERSION = "/models/{name}/versions/{version}"


class Contracts(Protocol):
    @op(
        "PUT",
        "/models/{name}/contract",
        role=DS,
        event="set_contract",
        extras=("created",),
        errors=(ContractError,),
    )
    def set(
        self, name: str, text: str, *, message: str = "", source: str = "contract.yaml"
    ) -> tuple[ContractVersion, bool]:
        """Store ``text`` (a contract.yaml) as the model's next contract version;
        ``created`` is False when it equals the current one. Every problem is listed with
        its line (``source`` names the file in them)."""
        ...

    @op("GET", "/models/{name}/contract", role="viewer")
    def get(self, name: str, version: Number | None = None) -> ContractVersion:
        """The current (or a given) contract version."""
        ...

    @op("GET", "/models/{name}/contract/versions", role="viewer", key="versions")
    def history(self, name: str) -> list[ContractVersion]:
        """Every contract version, oldest first."""
        ...

    @op(
        "GET",
        "/models/{name}/contract/diff",
        role="viewer",
        wire={"a": "from", "b": "to"},
    )
    def diff(self, name: str, a: Number | None = None, b: Number | None = None) -> dict[str, Any]:
        """What changed between two contract versions (default: the latest two)."""
        ...

    @op("POST", VERSION + "/gate-reports", role=DS, event="gate_run")
    def run_gates(
        self, name: str, version: Number, contract_version: Number | None = None
    ) -> GateReport:
        """Check a version against the contract (the current one by default) and store
        the report (``.status``: passed, failed or error).

        >>> client.contracts.run_gates("churn", 3).status
        """
        ...

    @op("GET", "/models/{name}/gate-reports", role="viewer", key="reports")
    def reports(self, name: str, version: Number | None = None) -> list[GateReport]:
        """Gate reports of a model, or of one version."""
        ...

    @op("GET", "/gate-reports/{report_id}", role="viewer")
    def report(self, report_id: Number) -> GateReport:
        """One gate report."""
        ...

    @op("GET", VERSION + "/card", role="viewer")
    def card(self, name: str, version: Number) -> dict[str, Any]:
        """The model card as data: the registry's card plus the latest gate report,
        sign-offs, reviews and what stands between the version and ``production``."""
        ...

    @op(
        "POST",
        VERSION + "/approvals",
        role="viewer",
        event="approve / reject",
        errors=(PermissionDenied,),
    )
    def decide(
        self, name: str, version: Number, role: str, decision: str, comment: str = ""
    ) -> Approval:
        """Sign off (``decision="approve"``) or ``reject`` under a contract role; only the
        people the contract names under ``owners.<role>`` may."""
        ...

    @op("GET", VERSION + "/approvals", role="viewer", key="approvals")
    def approvals(self, name: str, version: Number) -> list[Approval]:
        """Sign-offs and rejections of a version."""
        ...

    @op("POST", VERSION + "/reviews", role="viewer")
    def review(
        self, name: str, version: Number, rating: int | None = None, comment: str = ""
    ) -> Review:
        """Leave feedback (a 1-5 rating and/or a comment); it never counts as a sign-off."""
        ...

    @op("GET", VERSION + "/reviews", role="viewer", key="reviews")
    def reviews(self, name: str, version: Number) -> list[Review]:
        """Review feedback on a version."""
        ...

    @op("GET", VERSION + "/promotion", role="viewer")
    def promotion_status(
        self, name: str, version: Number, alias: str = "production"
    ) -> dict[str, Any]:
        """Whether the version may take the alias: ``ready`` and every missing item."""
        ...

    @op(
        "POST",
        VERSION + "/promotion",
        role=DS,
        event="promoted / forced / promotion_refused",
        errors=(PromotionRefused, Conflict, PermissionDenied),
    )
    def promote(
        self,
        name: str,
        version: Number,
        alias: str = "production",
        *,
        force: bool = False,
        reason: str = "",
        check_current: bool = False,
        expect_current: Number | None = None,
    ) -> Promotion:
        """Move ``alias`` to ``version`` if the contract allows it; otherwise
        ``PromotionRefused`` names every missing item. ``force`` (admins, with a
        ``reason``) moves it anyway and records what was missing. With
        ``check_current`` the alias must still hold ``expect_current`` (None: unset).

        >>> client.contracts.promote("churn", 3)
        """
        ...

    @op("GET", "/models/{name}/promotions", role="viewer", key="promotions")
    def promotions(self, name: str) -> list[Promotion]:
        """Every promotion attempt of a model, oldest first."""
        ...
