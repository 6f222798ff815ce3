"""The contract service: contract versions, gate runs and their reports, sign-offs,
reviews, and the promotion policy that ties them together.

A version may take a governed alias (``production``) through :meth:`promote` only when
the latest gate report of that version under the *current* contract version passed,
relative gates still compare with the version the alias holds now, every required
sign-off is there and nobody's latest decision is a rejection. Each attempt is recorded,
refused or not. Two promotions racing for one alias resolve to one winner: a promotion
moves the alias only if it still holds the version seen when the promotion started.
"""

from __future__ import annotations

import copy
import difflib
import time
from pathlib import Path
from typing import Any

from blake3 import blake3
from sqlalchemy.engine import Connection

from shipway.contracts import policy
from shipway.contracts.spec import parse
from shipway.contracts.terms import terms
from shipway.datasets.service import DatasetService
from shipway.errors import InvalidInput, NotFound, PermissionDenied, PromotionRefused
from shipway.records import (
    Approval,
    ContractVersion,
    GateReport,
    ModelVersion,
    Promotion,
    Review,
    positive_int,
)
from shipway.registry.service import RegistryService, check_alias, check_model_name
from shipway.store import contracts as repo
from shipway.store import events
from shipway.store import registry as registry_repo
from shipway.store.db import Database
from shipway.store.tables import registered_models
from shipway.tracking.service import TrackingService

DECISIONS = ("approve", "reject")


def now_ms() -> int:
    return int(time.time() * 1000)


class ContractService:
    def __init__(
        self,
        db: Database,
        registry: RegistryService,
        datasets: DatasetService,
        tracking: TrackingService,
        home: Path,
        actor: str = "unknown",
        role: str = "admin",
    ) -> None:
        self.db = db
        self.registry = registry
        self.datasets = datasets
        self.tracking = tracking
        self.home = Path(home)
        self.actor = actor
        self.role = role  # the caller's account role: only admins may force a promotion

    def with_actor(self, actor: str, role: str | None = None) -> ContractService:
        other = copy.copy(self)
        other.actor = actor
        other.role = role or self.role
        other.registry = self.registry.with_actor(actor)
        return other

    def _model(self, conn: Connection, name: str, *, lock: bool = False) -> Any:
        return self.registry.find_model(conn, name, lock=lock)

    def _version(self, conn: Connection, model: Any, number: int) -> ModelVersion:
        return self.registry.find_version(conn, model, number)

    # contract versions ---------------------------------------------------------------

    def set(
        self, name: str, text: str, *, message: str = "", source: str = "contract.yaml"
    ) -> tuple[ContractVersion, bool]:
        """Store ``text`` as the next contract version of ``name`` (the registered model
        is created if needed); the same text as the current version stores nothing."""
        check_model_name(name)
        contract = parse(text, source=source, model=name)
        digest = blake3(text.encode()).hexdigest()
        with self.db.write() as conn:
            model_id = registry_repo.ensure_model(conn, name, now_ms(), self.actor)
            row = registry_repo.model_row(conn, name, lock=True)
            current = repo.contract(conn, model_id, name, None)
            if current is not None and current.digest == digest:
                return current, False
            number = 1 if current is None else current.version + 1
            repo.insert_contract(
                conn,
                {
                    "model_id": row.id,
                    "version": number,
                    "text": text,
                    "spec": contract.spec,
                    "digest": digest,
                    "message": message,
                    "created_at": now_ms(),
                    "created_by": self.actor,
                },
            )
            events.record(conn, self.actor, "set_contract", "model", name, {"version": number})
            found = repo.contract(conn, model_id, name, number)
            assert found is not None
            return found, True

    def get(self, name: str, version: int | None = None) -> ContractVersion:
        if version is not None and positive_int(version) is None:
            raise InvalidInput(f"contract version must be a positive number, got {version!r}")
        with self.db.read() as conn:
            model = self._model(conn, name)
            found = repo.contract(conn, model.id, name, version)
            if found is None:
                if version is None:
                    raise NotFound(
                        f"model {name!r} has no contract; write one and store it with "
                        f"`shipway contract set {name} contract.yaml`"
                    )
                latest = repo.contract(conn, model.id, name, None)
                raise NotFound(
                    f"model {name!r} has no contract version {version}; the latest is "
                    f"{latest.version if latest else 'none'}"
                )
            return found

    def history(self, name: str) -> list[ContractVersion]:
        with self.db.read() as conn:
            model = self._model(conn, name)
            return repo.contract_versions(conn, model.id, name)

    def diff(self, name: str, a: int | None = None, b: int | None = None) -> dict[str, Any]:
        """What changed between two contract versions (default: the latest and the one
        before): a unified diff of the text and the sections that differ."""
        new = self.get(name, b)
        old_number = a if a is not None else new.version - 1
        if old_number < 1:
            raise InvalidInput(f"{name!r} has only contract version {new.version}; nothing to diff")
        old = self.get(name, old_number)
        lines = difflib.unified_diff(
            old.text.splitlines(keepends=True),
            new.text.splitlines(keepends=True),
            fromfile=f"{name} contract v{old.version}",
            tofile=f"{name} contract v{new.version}",
        )
        changed = sorted(
            k for k in set(old.spec) | set(new.spec) if old.spec.get(k) != new.spec.get(k)
        )
        return {"from": old.version, "to": new.version, "changed": changed, "diff": "".join(lines)}

    # gates ---------------------------------------------------------------------------

    def run_gates(self, name: str, version: int, contract_version: int | None = None) -> GateReport:
        """Check the version against the contract and store the report."""
        from shipway.contracts import gates  # numpy, model loading: only when gating

        contract = self.get(name, contract_version)
        model_version = self.registry.get_version(name, version)
        start = time.perf_counter()
        evaluation = gates.Evaluation(
            version=model_version,
            spec=terms(contract.spec),
            registry=self.registry,
            datasets=self.datasets,
            tracking=self.tracking,
            home=self.home,
        )
        checks = gates.evaluate(evaluation)
        seconds = round(time.perf_counter() - start, 3)
        status = gates.overall(checks)
        with self.db.write() as conn:
            model = self._model(conn, name, lock=True)  # serialised with promote()
            report = repo.insert_report(
                conn,
                name,
                {
                    "model_id": model.id,
                    "model_version": version,
                    "contract_version": contract.version,
                    "status": status,
                    "checks": checks,
                    "baseline": evaluation.baseline,
                    "seconds": seconds,
                    "created_at": now_ms(),
                    "created_by": self.actor,
                },
            )
            events.record(
                conn,
                self.actor,
                "gate_run",
                "model",
                name,
                {"version": version, "report": report.id, "status": status},
            )
        return report

    def reports(self, name: str, version: int | None = None) -> list[GateReport]:
        with self.db.read() as conn:
            model = self._model(conn, name)
            if version is not None:
                self._version(conn, model, version)
            return repo.reports(conn, model.id, name, version)

    def report(self, report_id: int) -> GateReport:
        if positive_int(report_id) is None:
            raise InvalidInput(f"report id must be a positive number, got {report_id!r}")
        with self.db.read() as conn:
            row = repo.report(conn, report_id)
            if row is None:
                raise NotFound(f"no gate report {report_id}")
            model = conn.execute(
                registered_models.select().where(registered_models.c.id == row.model_id)
            ).first()
            return repo.report_record(model.name if model else "?", row)

    def card(self, name: str, version: int) -> dict[str, Any]:
        """The registry's model card plus what the contract knows of the version: its latest
        gate report, sign-offs, reviews and what stands between it and ``production``."""
        card = self.registry.card(name, version)
        reviews = [r.to_dict() for r in self.reviews(name, version)]
        governance: dict[str, Any] = {"contract_version": None, "reviews": reviews}
        with self.db.read() as conn:
            model = self._model(conn, name)
            contract = repo.contract(conn, model.id, name, None)
            if contract is not None:
                reports = repo.reports(conn, model.id, name, version)
                latest = reports[-1] if reports else None
                policy = self._policy(conn, model, version, "production")
                governance.update(
                    contract_version=contract.version,
                    objective=terms(contract.spec).objective,
                    gate_report=None
                    if latest is None
                    else {
                        "id": latest.id,
                        "status": latest.status,
                        "contract_version": latest.contract_version,
                        "current": latest.contract_version == contract.version,
                    },
                    approvals=[
                        a.to_dict() for a in repo.approvals_of(conn, model.id, name, version)
                    ],
                    production={"ready": policy["ready"], "missing": policy["missing"]},
                )
        card["governance"] = governance
        return card

    # sign-offs and reviews -----------------------------------------------------------

    def decide(
        self, name: str, version: int, role: str, decision: str, comment: str = ""
    ) -> Approval:
        """Sign off (``approve``) or ``reject`` under a contract role. Only people the
        current contract lists under ``owners.<role>`` may."""
        if decision not in DECISIONS:
            raise InvalidInput(f"decision must be approve or reject, got {decision!r}")
        if decision == "reject" and not comment.strip():
            raise InvalidInput("say why in --comment: a rejection needs a reason")
        with self.db.write() as conn:
            model = self._model(conn, name, lock=True)  # serialised with promote()
            self._version(conn, model, version)
            contract = repo.contract(conn, model.id, name, None)
            if contract is None:
                raise NotFound(
                    f"model {name!r} has no contract, so no roles to sign off under; "
                    f"`shipway contract set {name} contract.yaml` first"
                )
            owners = terms(contract.spec).owners
            if role not in owners:
                raise InvalidInput(
                    f"role {role!r} is not in the contract's owners "
                    f"(roles: {', '.join(owners) or 'none'})"
                )
            if self.actor not in owners[role]:
                raise PermissionDenied(
                    f"{self.actor!r} is not among the {role} owners of {name!r} (owners.{role}: "
                    f"{', '.join(owners[role]) or 'nobody'}); ask one of them, "
                    "or change the contract"
                )
            approval = repo.insert_approval(
                conn,
                name,
                {
                    "model_id": model.id,
                    "model_version": version,
                    "role": role,
                    "decision": decision,
                    "actor": self.actor,
                    "comment": comment,
                    "created_at": now_ms(),
                },
            )
            events.record(
                conn, self.actor, decision, "model", name, {"version": version, "role": role}
            )
            return approval

    def approvals(self, name: str, version: int) -> list[Approval]:
        with self.db.read() as conn:
            model = self._model(conn, name)
            self._version(conn, model, version)
            return repo.approvals_of(conn, model.id, name, version)

    def review(
        self, name: str, version: int, rating: int | None = None, comment: str = ""
    ) -> Review:
        """Leave feedback (a 1-5 rating and/or a comment); it never counts as a sign-off."""
        if rating is not None and (isinstance(rating, bool) or rating not in range(1, 6)):
            raise InvalidInput(f"rating must be a whole number 1-5, got {rating!r}")
        if rating is None and not comment.strip():
            raise InvalidInput("a review needs a rating (1-5) or a comment")
        with self.db.write() as conn:
            model = self._model(conn, name)
            self._version(conn, model, version)
            return repo.insert_review(
                conn,
                name,
                {
                    "model_id": model.id,
                    "model_version": version,
                    "actor": self.actor,
                    "rating": rating,
                    "comment": comment,
                    "created_at": now_ms(),
                },
            )

    def reviews(self, name: str, version: int) -> list[Review]:
        with self.db.read() as conn:
            model = self._model(conn, name)
            self._version(conn, model, version)
            return repo.reviews_of(conn, model.id, name, version)

    # promotion -----------------------------------------------------------------------

    def promotion_status(
        self, name: str, version: int, alias: str = "production"
    ) -> dict[str, Any]:
        """What stands between the version and the alias: ``ready`` and every missing item."""
        check_alias(alias)
        with self.db.read() as conn:
            model = self._model(conn, name)
            self._version(conn, model, version)
            return self._policy(conn, model, version, alias)

    def _policy(self, conn: Connection, model: Any, version: int, alias: str) -> dict[str, Any]:
        name = model.name
        given = policy.PolicyInput(
            model=name,
            version=version,
            alias=alias,
            contract=repo.contract(conn, model.id, name, None),
            reports=repo.reports(conn, model.id, name, version),
            approvals=repo.approvals_of(conn, model.id, name, version),
            aliases=registry_repo.aliases_of(conn, model.id),
        )
        return policy.evaluate(given)

    def promote(
        self,
        name: str,
        version: int,
        alias: str = "production",
        *,
        force: bool = False,
        reason: str = "",
        check_current: bool = False,
        expect_current: int | None = None,
    ) -> Promotion:
        """Move ``alias`` to ``version`` if the contract allows it; otherwise raise
        :class:`PromotionRefused` naming every missing item. ``force`` (admins only, with
        a ``reason``) moves it anyway and records what was missing. With ``check_current``
        the alias must still hold ``expect_current`` (default: what it holds when this
        starts)."""
        check_alias(alias)
        self.registry.check_may_move(alias)
        if force and self.role != "admin":
            raise PermissionDenied(f"--force needs the admin role; {self.actor!r} is {self.role!r}")
        if force and not reason.strip():
            raise InvalidInput("a forced promotion needs --reason (it is kept in the record)")
        if not check_current:
            with self.db.read() as conn:
                model = self._model(conn, name)
                self._version(conn, model, version)
                expect_current = registry_repo.aliases_of(conn, model.id).get(alias)
        refused: PromotionRefused | None = None
        with self.db.write() as conn:
            model = self._model(conn, name, lock=True)
            self._version(conn, model, version)
            status = self._policy(conn, model, version, alias)
            current = status["current"]
            reasons: list[str]
            if current == version:
                reasons = [f"version {version} already holds {alias!r}"]
                outcome = "refused"
            elif current != expect_current:
                reasons = [
                    f"{alias!r} moved from "
                    f"{'version ' + str(expect_current) if expect_current else 'unset'} to "
                    f"version {current} while this promotion was being checked (another "
                    "promotion won); check the new state and promote again"
                ]
                outcome = "refused"
            elif status["missing"] and not force:
                reasons, outcome = status["missing"], "refused"
            else:
                reasons = status["missing"]
                outcome = "forced" if reasons else "promoted"
            promotion = repo.insert_promotion(
                conn,
                name,
                {
                    "model_id": model.id,
                    "model_version": version,
                    "alias": alias,
                    "outcome": outcome,
                    "reasons": reasons,
                    "comment": reason,
                    "report_id": status["report"],
                    "actor": self.actor,
                    "created_at": now_ms(),
                },
            )
            if outcome == "refused":
                events.record(
                    conn,
                    self.actor,
                    "promotion_refused",
                    "model",
                    name,
                    {"version": version, "alias": alias, "reasons": reasons},
                )
                refused = PromotionRefused(
                    f"{name} version {version} cannot take {alias!r}:\n"
                    + "\n".join(f"  - {r}" for r in reasons),
                    details={"missing": reasons, "promotion": promotion.id},
                )
            else:
                registry_repo.set_alias(conn, model.id, alias, version)
                why = reason or f"promoted: gate report #{status['report']} passed"
                if outcome == "forced":
                    why = f"forced by {self.actor}: {reason}"
                self.registry.record_move(conn, model, alias, current, version, why)
                events.record(
                    conn,
                    self.actor,
                    outcome,
                    "model",
                    name,
                    {"version": version, "alias": alias, "missing": reasons},
                )
        if refused is not None:
            raise refused
        return promotion

    def promotions(self, name: str) -> list[Promotion]:
        with self.db.read() as conn:
            model = self._model(conn, name)
            return repo.promotions_of(conn, model.id, name)
