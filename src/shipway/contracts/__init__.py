"""Contracts: the versioned agreement on a registered model, its gates, sign-offs and the
promotion policy. See ``docs/contracts.md``."""

from shipway.contracts.service import ContractService
from shipway.contracts.spec import Contract, parse, parse_gate

__all__ = ["Contract", "ContractService", "parse", "parse_gate"]
