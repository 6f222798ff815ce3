"""Alembic migrations, run programmatically on start.

``upgrade(engine)`` checks the stored revision first and returns at once when it is
current, so opening a home costs one query, not an Alembic start-up.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shipway.errors import ShipwayError

HERE = Path(__file__).parent
HEAD = "0008"  # keep equal to the newest revision in versions/ (a test checks)


def alembic_config(engine: Engine) -> object:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["engine"] = engine
    return cfg


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def upgrade(engine: Engine) -> None:
    current = current_revision(engine)
    if current == HEAD:
        return
    known = {p.name.split("_", 1)[0] for p in (HERE / "versions").glob("*.py")}
    if current is not None and current not in known:
        raise ShipwayError(
            f"the database is at schema revision {current!r}, newer than this shipway knows "
            f"(up to {HEAD!r}); upgrade shipway to use it. Nothing was changed"
        )
    from alembic import command

    command.upgrade(alembic_config(engine), "head")  # type: ignore[arg-type]
