"""Contracts repository: contract versions, gate reports, approvals, reviews, promotions."""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipway.records import Approval, CheckResult, ContractVersion, GateReport, Promotion, Review
from shipway.store.tables import approvals, contracts, gate_reports, promotions, reviews


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()


# contract versions ---------------------------------------------------------------------


def _contract(name: str, row: Any) -> ContractVersion:
    return ContractVersion(
        model=name,
        version=row.version,
        text=row.text,
        spec=orjson.loads(row.spec),
        digest=row.digest,
        message=row.message,
        created_at=row.created_at,
        created_by=row.created_by,
    )


def contract(
    conn: Connection, model_id: int, name: str, version: int | None
) -> ContractVersion | None:
    query = sa.select(contracts).where(contracts.c.model_id == model_id)
    if version is None:
        query = query.order_by(contracts.c.version.desc()).limit(1)
    else:
        query = query.where(contracts.c.version == version)
    row = conn.execute(query).first()
    return None if row is None else _contract(name, row)


def contract_versions(conn: Connection, model_id: int, name: str) -> list[ContractVersion]:
    rows = conn.execute(
        sa.select(contracts).where(contracts.c.model_id == model_id).order_by(contracts.c.version)
    )
    return [_contract(name, r) for r in rows]


def insert_contract(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(contracts.insert().values(**(values | {"spec": _json(values["spec"])})))


def has_contract(conn: Connection, model_id: int) -> bool:
    found = conn.execute(
        sa.select(contracts.c.id).where(contracts.c.model_id == model_id).limit(1)
    ).first()
    return found is not None


# gate reports --------------------------------------------------------------------------


def report_record(name: str, row: Any) -> GateReport:
    return GateReport(
        id=row.id,
        model=name,
        version=row.model_version,
        contract_version=row.contract_version,
        status=row.status,
        checks=[CheckResult.from_dict(c) for c in orjson.loads(row.checks)],
        baseline=orjson.loads(row.baseline),
        seconds=row.seconds,
        created_at=row.created_at,
        created_by=row.created_by,
    )


def insert_report(conn: Connection, name: str, values: dict[str, Any]) -> GateReport:
    stored = dict(values)
    stored["checks"] = _json([c.to_dict() for c in values["checks"]])
    stored["baseline"] = _json(values["baseline"])
    new_id = conn.execute(gate_reports.insert().values(**stored)).inserted_primary_key[0]  # type: ignore[index]
    found = report(conn, int(new_id))
    assert found is not None
    return report_record(name, found)


def report(conn: Connection, report_id: int) -> Any:
    return conn.execute(sa.select(gate_reports).where(gate_reports.c.id == report_id)).first()


def reports(
    conn: Connection, model_id: int, name: str, version: int | None = None
) -> list[GateReport]:
    query = sa.select(gate_reports).where(gate_reports.c.model_id == model_id)
    if version is not None:
        query = query.where(gate_reports.c.model_version == version)
    return [report_record(name, r) for r in conn.execute(query.order_by(gate_reports.c.id))]


# approvals and reviews -----------------------------------------------------------------


def insert_approval(conn: Connection, name: str, values: dict[str, Any]) -> Approval:
    new_id = conn.execute(approvals.insert().values(**values)).inserted_primary_key[0]  # type: ignore[index]
    fields = {k: v for k, v in values.items() if k not in ("model_id", "model_version")}
    return Approval(id=int(new_id), model=name, version=values["model_version"], **fields)


def approvals_of(conn: Connection, model_id: int, name: str, version: int) -> list[Approval]:
    rows = conn.execute(
        sa.select(approvals)
        .where(approvals.c.model_id == model_id, approvals.c.model_version == version)
        .order_by(approvals.c.id)
    )
    return [
        Approval(
            id=r.id,
            model=name,
            version=r.model_version,
            role=r.role,
            decision=r.decision,
            actor=r.actor,
            comment=r.comment,
            created_at=r.created_at,
        )
        for r in rows
    ]


def insert_review(conn: Connection, name: str, values: dict[str, Any]) -> Review:
    new_id = conn.execute(reviews.insert().values(**values)).inserted_primary_key[0]  # type: ignore[index]
    fields = {k: v for k, v in values.items() if k not in ("model_id", "model_version")}
    return Review(id=int(new_id), model=name, version=values["model_version"], **fields)


def reviews_of(conn: Connection, model_id: int, name: str, version: int) -> list[Review]:
    rows = conn.execute(
        sa.select(reviews)
        .where(reviews.c.model_id == model_id, reviews.c.model_version == version)
        .order_by(reviews.c.id)
    )
    return [
        Review(
            id=r.id,
            model=name,
            version=r.model_version,
            actor=r.actor,
            rating=r.rating,
            comment=r.comment,
            created_at=r.created_at,
        )
        for r in rows
    ]


# promotions ----------------------------------------------------------------------------


def insert_promotion(conn: Connection, name: str, values: dict[str, Any]) -> Promotion:
    stored = dict(values)
    stored["reasons"] = _json(values["reasons"])
    new_id = conn.execute(promotions.insert().values(**stored)).inserted_primary_key[0]  # type: ignore[index]
    fields = {k: v for k, v in values.items() if k not in ("model_id", "model_version")}
    return Promotion(id=int(new_id), model=name, version=values["model_version"], **fields)


def promotions_of(conn: Connection, model_id: int, name: str) -> list[Promotion]:
    rows = conn.execute(
        sa.select(promotions).where(promotions.c.model_id == model_id).order_by(promotions.c.id)
    )
    return [
        Promotion(
            id=r.id,
            model=name,
            version=r.model_version,
            alias=r.alias,
            outcome=r.outcome,
            reasons=orjson.loads(r.reasons),
            comment=r.comment,
            report_id=r.report_id,
            actor=r.actor,
            created_at=r.created_at,
        )
        for r in rows
    ]
