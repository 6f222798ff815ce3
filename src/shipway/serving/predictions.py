"""The stored prediction log: Parquet segments in the blob store, listed in the database,
read back with DuckDB.

Example::

    service.add_segment("churn", 4, Path("segment.parquet"), rows=1000, first=t0, last=t1)
    table = service.query("churn", "SELECT arm, count(*) FROM predictions GROUP BY arm")
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from shipway.blobs import ContentStore
from shipway.errors import InvalidInput, MissingDependency
from shipway.records import PredictionSegment
from shipway.registry.service import check_model_name
from shipway.store.db import Database
from shipway.store.tables import prediction_segments

if TYPE_CHECKING:
    import duckdb

BASE_COLUMNS = (
    "request_id",
    "row",
    "time",
    "endpoint",
    "model",
    "version",
    "arm",
    "protocol",
    "latency_ms",
)


def _record(row: Any) -> PredictionSegment:
    return PredictionSegment(
        id=row.id,
        model=row.model,
        version=row.version,
        rows=row.rows,
        first_time=row.first_time,
        last_time=row.last_time,
        digest=row.digest,
        size=row.size,
        created_at=row.created_at,
    )


class PredictionLogService:
    def __init__(self, db: Database, blobs: ContentStore, home: Path) -> None:
        self.db = db
        self.blobs = blobs
        self.cache = home / "cache" / "predictions"

    def add_segment(
        self, model: str, version: int, path: Path, *, rows: int, first: int, last: int
    ) -> PredictionSegment:
        """Store one Parquet file of predictions and list it."""
        check_model_name(model)
        digest, size = self.blobs.put_file(path)
        return self.record_segment(
            model, version, digest=digest, size=size, rows=rows, first=first, last=last
        )

    def record_segment(
        self, model: str, version: int, *, digest: str, size: int, rows: int, first: int, last: int
    ) -> PredictionSegment:
        """List a segment whose file is already in the blob store (uploaded by a server)."""
        check_model_name(model)
        if not self.blobs.exists(digest):
            raise InvalidInput(
                f"blob {digest[:12]}… is not in the store; upload the segment first",
                details={"field": "digest"},
            )
        with self.db.write() as conn:
            result = conn.execute(
                prediction_segments.insert().values(
                    model=model,
                    version=version,
                    rows=rows,
                    first_time=first,
                    last_time=last,
                    digest=digest,
                    size=size,
                    created_at=int(time.time() * 1000),
                )
            )
            (segment_id,) = result.inserted_primary_key or (None,)
            row = conn.execute(
                sa.select(prediction_segments).where(prediction_segments.c.id == segment_id)
            ).one()
        return _record(row)

    def segments(
        self,
        model: str | None = None,
        *,
        since: int | None = None,
        until: int | None = None,
        version: int | None = None,
    ) -> list[PredictionSegment]:
        """Segments with rows in [since, until] (ms since the epoch), oldest first."""
        t = prediction_segments
        query = sa.select(t).order_by(t.c.first_time, t.c.id)
        if model is not None:
            query = query.where(t.c.model == model)
        if version is not None:
            query = query.where(t.c.version == version)
        if since is not None:
            query = query.where(t.c.last_time >= since)
        if until is not None:
            query = query.where(t.c.first_time <= until)
        with self.db.read() as conn:
            return [_record(r) for r in conn.execute(query)]

    def local_files(self, segments: list[PredictionSegment]) -> list[Path]:
        """A verified local copy of each segment (cached by digest: segments never change)."""
        self.cache.mkdir(parents=True, exist_ok=True)
        paths = []
        for segment in segments:
            path = self.cache / f"{segment.digest}.parquet"
            if not path.exists():
                self.blobs.download(segment.digest, path)  # verified, appears whole
            paths.append(path)
        return paths

    def query(
        self,
        model: str,
        sql: str = "SELECT * FROM predictions ORDER BY time, request_id, row",
        *,
        since: int | None = None,
        until: int | None = None,
    ) -> Any:
        """Run ``sql`` with DuckDB over a ``predictions`` view of the model's log; returns a
        ``pyarrow.Table``. ``since``/``until`` choose the segments to read (filter on
        ``time`` in the SQL for exact bounds)."""
        files = self.local_files(self.segments(model, since=since, until=until))
        return query_files(files, sql)


def open_log(paths: Sequence[Path]) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with a ``predictions`` view over the Parquet segment ``paths``
    (an empty view with the base columns when there are none); the caller closes it::

        with open_log(paths) as con:
            con.sql("SELECT arm, count(*) FROM predictions GROUP BY arm").fetchall()
    """
    try:
        import duckdb
    except ImportError as exc:  # pragma: no cover - part of the serve extra
        raise MissingDependency(
            "reading the prediction log needs DuckDB: pip install 'shipway[serve]'"
        ) from exc
    con = duckdb.connect()
    try:
        con.execute(_view(paths))
    except BaseException:
        con.close()
        raise
    return con


def _view(paths: Sequence[Path]) -> str:
    if not paths:
        return (
            "CREATE VIEW predictions AS SELECT NULL::VARCHAR AS request_id, "
            "NULL::INTEGER AS row, NULL::TIMESTAMPTZ AS time, NULL::VARCHAR AS endpoint, "
            "NULL::VARCHAR AS model, NULL::INTEGER AS version, NULL::VARCHAR AS arm, "
            "NULL::VARCHAR AS protocol, NULL::FLOAT AS latency_ms, NULL::DOUBLE AS prediction "
            "WHERE false"
        )
    listed = ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths)
    return (
        f"CREATE VIEW predictions AS SELECT * FROM read_parquet([{listed}], union_by_name = true)"
    )


def query_files(files: Sequence[Path], sql: str) -> Any:
    """``sql`` over a ``predictions`` view of the Parquet ``files``; a ``pyarrow.Table``."""
    with open_log(files) as con:
        import duckdb  # installed: open_log checked

        try:
            relation = con.sql(sql)
        except duckdb.Error as exc:
            raise InvalidInput(f"the query failed: {exc}", details={"sql": sql}) from exc
        if relation is None:
            raise InvalidInput(
                "the query must be a SELECT over 'predictions'", details={"sql": sql}
            )
        return relation.to_arrow_table()
