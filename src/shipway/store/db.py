"""The metadata database: engine set-up, transactions and migrations on start.

``Database.write()`` and ``Database.read()`` are the only ways to get a connection; the
services decide where a transaction begins and ends. On SQLite a write transaction starts
with ``BEGIN IMMEDIATE`` so concurrent writers queue on the busy timeout instead of failing
with "database is locked" when a read lock cannot be upgraded.
"""

from __future__ import annotations

import contextlib
import fcntl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.url import make_url

from shipway.errors import ConnectionFailed, InvalidInput

BUSY_TIMEOUT_MS = 60_000


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError:
        raise InvalidInput(
            f"database URL {url!r} is not a valid SQLAlchemy URL; "
            "use postgresql+psycopg://user@host/db or sqlite:////path/shipway.db"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return sa.create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=20)
    raise InvalidInput(
        f"unsupported database {parsed.get_backend_name()!r} in SHIPWAY_DB_URL; "
        "shipway runs on SQLite and PostgreSQL"
    )


def _sqlite_engine(url: sa.URL) -> Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
        pool_size=8,
        max_overflow=16,
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("shipway_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


class Database:
    """One engine, its dialect, and transaction helpers."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.dialect = self.engine.dialect.name
        self._migrated = False
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """A connection inside a write transaction, committed on success."""
        with self._connect() as conn:
            conn = conn.execution_options(shipway_write=True)
            with conn.begin():
                yield conn

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        with self._connect() as conn, conn.begin():
            yield conn

    @contextlib.contextmanager
    def _connect(self) -> Iterator[Connection]:
        try:
            conn = self.engine.connect()
        except sa.exc.OperationalError as exc:
            raise ConnectionFailed(
                f"cannot open the database {self.engine.url.render_as_string()}: "
                f"{exc.orig}; check SHIPWAY_DB_URL and that the server is running"
            ) from None
        with conn:
            yield conn

    def migrate(self) -> None:
        """Bring the schema up to date (once per process); never drops data."""
        with self._lock:
            if self._migrated:
                return
            from shipway.store.migrations import upgrade

            with _migration_lock(self):
                upgrade(self.engine)
            self._migrated = True

    def dispose(self) -> None:
        self.engine.dispose()


@contextlib.contextmanager
def _migration_lock(db: Database) -> Iterator[None]:
    """Serialise migrations across processes: a file lock for SQLite, an advisory lock for PG."""
    if db.dialect == "sqlite":
        database = db.engine.url.database
        if not database or database == ":memory:":
            yield
            return
        with open(f"{database}.migrate.lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
        return
    with db.engine.connect() as conn:
        conn.exec_driver_sql("SELECT pg_advisory_lock(727274)")
        conn.commit()
        try:
            yield
        finally:
            conn.exec_driver_sql("SELECT pg_advisory_unlock(727274)")
            conn.commit()
