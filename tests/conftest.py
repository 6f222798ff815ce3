"""Shared fixtures: databases (SQLite and a throwaway PostgreSQL database per session),
homes, and clients in both modes (in-process and over HTTP to a real server).

PostgreSQL: ``SHIPWAY_TEST_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432``).
Where no server is reachable the PostgreSQL cases fail, saying how to start one: the
PostgreSQL half is required, never skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

import shipway as sw
from shipway.api.server import BackgroundServer
from shipway.config import Settings
from shipway.errors import MissingDependency
from shipway.services import Services
from shipway.testing.databases import empty_database
from shipway.testing.seaweed import SeaweedServer, find_weed, run_seaweedfs

PG_BASE = os.environ.get("SHIPWAY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")
HOW_TO_ENABLE_PG = (
    "PostgreSQL is not reachable at {url} ({error}); start it with "
    "`pg_ctlcluster --skip-systemctl-redirect 15 main start` or point SHIPWAY_TEST_PG_URL "
    "at a server where the user may create databases"
)


def _admin_engine() -> sa.Engine:
    return sa.create_engine(f"{PG_BASE}/postgres", isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session; dropped at the end."""
    name = f"shipway_test_{uuid.uuid4().hex[:10]}"
    admin = _admin_engine()
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        message = HOW_TO_ENABLE_PG.format(url=PG_BASE, error=str(exc.orig).strip().splitlines()[0])
        pytest.fail(message)
    yield f"{PG_BASE}/{name}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using this runs twice: on SQLite and on PostgreSQL (emptied first)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'home' / 'shipway.db'}"
    url: str = request.getfixturevalue("pg_database")
    empty_database(url)
    return url


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings.load(
        overrides={
            "home": str(tmp_path / "home"),
            "db_url": db_url,
            "retries": 2,
            "retry_backoff": 0.05,
        },
        environ={},
    )


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    """A home on SQLite only, for tests about something other than the database."""
    return Settings.load(overrides={"home": str(tmp_path / "home")}, environ={})


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    svc = Services.open(settings, actor="tester")
    yield svc
    svc.close()


@pytest.fixture
def server_url(services: Services) -> Iterator[str]:
    server = BackgroundServer(services)
    yield server.start()
    server.stop()


@pytest.fixture(params=["local", "remote"])
def client(request: pytest.FixtureRequest, settings: Settings) -> Iterator[sw.Client]:
    """The same tests run against the in-process client and against a real HTTP server."""
    if request.param == "local":
        c = sw.Client("", settings=settings)
        yield c
        c.close()
        return
    url = request.getfixturevalue("server_url")
    c = sw.Client(url, settings=settings)
    yield c
    c.close()


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    """One SeaweedFS server for the session; fails (never skips) if ``weed`` is missing."""
    try:
        find_weed()
    except MissingDependency as exc:
        pytest.fail(str(exc), pytrace=False)
    with run_seaweedfs(tmp_path_factory.mktemp("seaweed")) as server:
        yield server


@pytest.fixture
def s3_env(seaweed: SeaweedServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Point boto3's default chain at the test server, and only at it."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", seaweed.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", seaweed.secret_key)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    # Keep the developer's ~/.aws and the EC2 metadata service out of the tests.
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
