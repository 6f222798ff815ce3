"""Migrations produce exactly the declared schema, run once, keep data, and refuse a
database from a newer shipway."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from shipway.errors import ShipwayError
from shipway.store.db import Database
from shipway.store.migrations import HEAD, HERE, current_revision
from shipway.store.tables import metadata


def test_migrated_schema_matches_the_tables(db_url: str) -> None:
    db = Database(db_url)
    db.migrate()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    assert current_revision(db.engine) == HEAD
    db.dispose()


def test_head_is_the_newest_revision() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    assert ScriptDirectory.from_config(cfg).get_current_head() == HEAD


def test_upgrade_is_idempotent_and_keeps_data(db_url: str) -> None:
    db = Database(db_url)
    db.migrate()
    with db.write() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO experiments (name, description, created_at, created_by) "
                "VALUES ('kept', '', 1, 'me')"
            )
        )
    db.dispose()
    again = Database(db_url)
    again.migrate()
    with again.read() as conn:
        assert conn.execute(sa.text("SELECT name FROM experiments")).scalars().all() == ["kept"]
    again.dispose()


def test_database_from_a_newer_shipway_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    db = Database(url)
    db.migrate()
    with db.write() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    db.dispose()
    with pytest.raises(ShipwayError, match="9999.*newer"):
        Database(url).migrate()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    with db.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 60000
    db.dispose()
