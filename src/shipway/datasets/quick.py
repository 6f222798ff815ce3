"""The quick path of ``shipway data status`` and of an unchanged ``shipway data add`` on
the embedded default (SQLite in the home, blobs in its folder, no server).

Both commands only need the latest version of one dataset and its manifest. Here they are
read with the standard library: the database through ``sqlite3`` opened read-only, the
manifest straight from the blob folder (verified by its digest). No SQLAlchemy, no
services, nothing written to the database — so the command costs what its folder walk
costs. Anything else answers None and the command takes the full path, which gives the
same answer: a server or a team's PostgreSQL or S3, a home with no database yet, a schema
this query does not fit, a dataset with no version, a folder that changed (an add that
stores something).

``tests/datasets/test_quick.py`` checks both answers against the services'.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson

from shipway.blobs.hashing import blob_key, hash_bytes
from shipway.config import Settings
from shipway.datasets import manifest as mf
from shipway.datasets.snapshot import Progress
from shipway.datasets.workdir import scan_manifest, state_status
from shipway.errors import InvalidInput
from shipway.records import DatasetVersion

# the columns ``store.datasets`` reads for a version, in the record's order
LATEST = """
SELECT d.name, v.version, v.manifest_digest, v.file_count, v.total_size, v.message,
       v.source, v.created_at, v.created_by, r.id, v.git_commit, v.profile
FROM dataset_versions v
JOIN datasets d ON d.id = v.dataset_id
LEFT JOIN runs r ON r.pk = v.run_pk
WHERE d.name = ?
ORDER BY v.version DESC
LIMIT 1
"""


def _embedded(settings: Settings) -> Path | None:
    """The SQLite file when the home is the embedded default, else None."""
    if settings.tracking_uri or settings.db_url or settings.blobs_url:
        return None
    db = settings.home / "shipway.db"
    return db if db.is_file() else None


def latest(settings: Settings, name: str) -> DatasetVersion | None:
    """The latest version of ``name`` read read-only with ``sqlite3``, or None when the
    quick path does not apply (see the module's docstring)."""
    db = _embedded(settings)
    if db is None:
        return None
    try:
        con = sqlite3.connect(f"file:{quote(str(db))}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error:
        return None
    try:
        row = con.execute(LATEST, (name,)).fetchone()
    except sqlite3.Error:  # an older schema, a locked or damaged file: the full path says
        return None
    finally:
        con.close()
    if row is None:
        return None
    name, number, digest, count, size, message, source, at, by, run_id, commit, profile = row
    return DatasetVersion(
        name=name,
        version=number,
        manifest_digest=digest,
        file_count=count,
        total_size=size,
        message=message,
        source=source,
        created_at=at,
        created_by=by,
        run_id=run_id,
        git_commit=commit,
        profile=orjson.loads(profile) if profile else None,
    )


def files(settings: Settings, version: DatasetVersion) -> mf.State | None:
    """What ``manifest.compare`` reads of the version's files, from its manifest in the
    home's blob folder, verified by digest. It is only compared with, never written
    from, so the layout checks of ``manifest.decode`` (for writing files out) are not
    needed; a manifest that is missing, damaged or not in the expected form answers None
    and the full path reports what is wrong."""
    digest = version.manifest_digest
    try:
        key = blob_key(digest)  # laid out in the folder as blobs/local.py does
        data = Path(settings.blob_location).joinpath(*key.split("/")).read_bytes()
        if hash_bytes(data) != digest:
            return None
        rows = orjson.loads(data)["files"]
        return {r["path"]: (r.get("digest"), r.get("link"), r.get("mode", 0o644)) for r in rows}
    except (OSError, InvalidInput, orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        return None


def status(settings: Settings, name: str, path: Path) -> dict[str, Any] | None:
    """``DatasetService.status`` on the embedded default, or None."""
    found = latest(settings, name)
    before = None if found is None else files(settings, found)
    if found is None or before is None:
        return None
    return state_status(found.ref, before, Path(path), settings.home)


def unchanged(
    settings: Settings, name: str, path: Path, progress: Progress | None = None
) -> DatasetVersion | None:
    """The latest version of ``name`` when ``path`` holds exactly its content (what an
    add would answer without storing anything), else None. The walk refreshes the stat
    cache, so a full add that follows hashes nothing twice."""
    found = latest(settings, name)
    if found is None:
        return None
    listed = scan_manifest(Path(path), settings.home, progress)
    return found if hash_bytes(listed) == found.manifest_digest else None
