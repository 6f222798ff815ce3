"""Users, roles, tokens and the audit trail."""

from shipway.accounts.service import ROLE_RANK, AccountService, role_allows

__all__ = ["ROLE_RANK", "AccountService", "role_allows"]
