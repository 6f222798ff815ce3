"""The promotion policy: what stands between a model version and an alias.

A pure function of what is stored — the current contract, the version's gate reports,
its sign-offs and the aliases as they are now — so it is tested without a database::

    status = policy.evaluate(PolicyInput("churn", 3, "production", contract, reports,
                                          approvals, {"production": 2}))
    status["ready"], status["missing"]

The contract service loads the inputs inside its transaction and acts on the answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shipway.contracts.terms import terms
from shipway.records import Approval, ContractVersion, GateReport


@dataclass(frozen=True)
class PolicyInput:
    """Everything the policy reads: ``reports`` oldest first (under any contract
    version), ``approvals`` in the order they were given (the latest per person and
    role counts), ``aliases`` as they are now."""

    model: str
    version: int
    alias: str
    contract: ContractVersion | None
    reports: Sequence[GateReport]
    approvals: Sequence[Approval]
    aliases: Mapping[str, int]


def evaluate(given: PolicyInput) -> dict[str, Any]:
    """``ready`` and every ``missing`` item, with the ``current`` holder of the alias,
    the ``contract_version`` and the ``report`` (id) that counts."""
    out: dict[str, Any] = {
        "model": given.model,
        "version": given.version,
        "alias": given.alias,
        "current": given.aliases.get(given.alias),
    }
    contract = given.contract
    if contract is None:
        missing = [
            f"model {given.model!r} has no contract; store one with "
            f"`shipway contract set {given.model} contract.yaml`"
        ]
        out.update(ready=False, missing=missing, contract_version=None, report=None)
        return out
    out["contract_version"] = contract.version
    current = [r for r in given.reports if r.contract_version == contract.version]
    report = current[-1] if current else None
    out["report"] = None if report is None else report.id
    missing = _report_missing(given, contract.version, report)
    missing += _signoffs_missing(given, contract)
    out.update(ready=not missing, missing=missing)
    return out


def _report_missing(
    given: PolicyInput, contract_version: int, report: GateReport | None
) -> list[str]:
    if report is None:
        older = " (reports under older contract versions no longer count)" if given.reports else ""
        return [
            f"no gate report for version {given.version} under contract version "
            f"{contract_version}{older}; run `shipway gate run {given.model} {given.version}`"
        ]
    if report.status != "passed":
        return [
            f"gate report #{report.id}: {check.name} {check.status}"
            + (f": {check.reason}" if check.reason else "")
            for check in report.checks
            if check.status in ("failed", "error")
        ]
    return [
        f"gate report #{report.id} compared with {alias} {_which(then)}, "
        f"but {alias} is now {_which(given.aliases.get(alias))}; run the gates again"
        for alias, then in report.baseline.items()
        if given.aliases.get(alias) != then
    ]


def _which(version: int | None) -> str:
    return f"version {version}" if version else "unset"


def _signoffs_missing(given: PolicyInput, contract: ContractVersion) -> list[str]:
    decisions: dict[tuple[str, str], Approval] = {}
    for approval in given.approvals:
        decisions[(approval.actor, approval.role)] = approval  # the latest counts
    spec = terms(contract.spec)
    missing: list[str] = []
    for role, needed in spec.approvals.items():
        people = spec.owners.get(role, ())
        have = sorted(
            actor
            for (actor, r), a in decisions.items()
            if r == role and a.decision == "approve" and actor in people
        )
        if len(have) < needed:
            missing.append(
                f"needs {needed} {role} sign-off(s), has {len(have)}"
                f"{' (' + ', '.join(have) + ')' if have else ''}; one of "
                f"{', '.join(people)} runs `shipway approve {given.model} {given.version} "
                f"--role {role}`"
            )
    for (actor, role), a in sorted(decisions.items()):
        if a.decision == "reject":
            missing.append(f"rejected by {actor} ({role}): {a.comment}")
    return missing
