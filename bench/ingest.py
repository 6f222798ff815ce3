"""Metric ingest: one run, 10 keys x 10,000 steps, through the client including the final
flush. Remote: to `shipway server` in another process. Local: straight into the home.

Baseline: a plain SQLAlchemy bulk insert (``conn.execute(table.insert(), rows)``) of the
same 100,000 points as rows (run, key, value, step, timestamp) into the same database,
the way a row-per-point store such as MLflow's writes them. shipway is faster because it
stores each logged batch as one row per key holding packed arrays (see store/tables.py),
so 100,000 points become a handful of inserts; the client's own per-point cost (one
append per value) is what remains.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

import shipway as sw
from bench.common import Result, free_port, start_server
from shipway.config import Settings

KEYS = [f"metric_{i}" for i in range(10)]
STEPS = 10_000
POINTS = len(KEYS) * STEPS


def _log(client: sw.Client) -> float:
    run = sw.start_run(experiment="bench", client=client, capture=False)
    start = time.perf_counter()
    for step in range(STEPS):
        run.log_metrics({k: step * 0.001 + i for i, k in enumerate(KEYS)}, step=step)
    run.flush()
    took = time.perf_counter() - start
    run.end()
    history = client.get_metric_history(run.id, KEYS[-1])
    assert len(history) == STEPS, f"lost points: {len(history)} of {STEPS}"
    return POINTS / took


def _baseline(db_url: str) -> float:
    """Row-per-point bulk insert with SQLAlchemy Core into the same database."""
    engine = sa.create_engine(db_url)
    meta = sa.MetaData()
    table = sa.Table(
        "bench_baseline_metrics",
        meta,
        sa.Column("run_uuid", sa.String(32), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.Double, nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Index("ix_bench_baseline", "run_uuid", "key", "step"),
    )
    meta.create_all(engine)
    now = int(time.time() * 1000)
    start = time.perf_counter()
    rows = [
        {"run_uuid": "r" * 32, "key": k, "value": step * 0.001 + i, "step": step, "timestamp": now}
        for step in range(STEPS)
        for i, k in enumerate(KEYS)
    ]
    with engine.begin() as conn:
        conn.execute(table.insert(), rows)
    took = time.perf_counter() - start
    engine.dispose()
    return POINTS / took


def _remote(home: Path, env: dict[str, str], db_url: str, label: str) -> Result:
    port = free_port()
    server = start_server(home, port, env)
    try:
        settings = Settings.load(overrides={"home": str(home)}, environ={})
        client = sw.Client(f"http://127.0.0.1:{port}", settings=settings)
        remote = max(_log(client) for _ in range(3))
        client.close()
    finally:
        server.terminate()
        server.wait(10)
    baseline = max(_baseline(db_url) for _ in range(3))
    return Result(
        f"ingest, remote (HTTP to a server on {label})",
        remote,
        "points/s",
        "SQLAlchemy bulk insert",
        baseline,
        ">= 100,000 points/s",
    )


@contextlib.contextmanager
def _postgres() -> Iterator[str | None]:
    """A throwaway PostgreSQL database, or None (with a message) when there is no server."""
    base = os.environ.get("SHIPWAY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")
    name = f"shipway_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError:
        print(f"skipping the PostgreSQL ingest benchmark: no server at {base}")
        yield None
        return
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def run() -> list[Result]:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "local"
        settings = Settings.load(overrides={"home": str(home)}, environ={})
        client = sw.Client("", settings=settings)
        local = max(_log(client) for _ in range(3))
        client.close()
        baseline = max(_baseline(settings.database_url) for _ in range(3))
        results.append(
            Result(
                "ingest, local (SQLite)",
                local,
                "points/s",
                "SQLAlchemy bulk insert",
                baseline,
                ">= 300,000 points/s",
            )
        )

        home = Path(tmp) / "remote"
        sqlite_url = Settings.load(overrides={"home": str(home)}, environ={}).database_url
        results.append(_remote(home, {}, sqlite_url, "SQLite"))
        with _postgres() as pg_url:
            if pg_url:
                home = Path(tmp) / "remote-pg"
                results.append(_remote(home, {"SHIPWAY_DB_URL": pg_url}, pg_url, "PostgreSQL"))
    return results
