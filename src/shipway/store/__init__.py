"""Metadata database: engine and transactions, tables, repositories, migrations."""

from shipway.store.db import Database

__all__ = ["Database"]
