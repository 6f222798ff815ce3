"""The dataset service: add versions, read them back, compare and materialize them.

A version is written in three steps — blobs, then the manifest blob, then one database
row — so an interrupted add leaves no version behind (only unreferenced blobs, which are
harmless and reused by the next add).
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from shipway.blobs import ContentStore, hash_bytes, hash_file
from shipway.datasets import manifest as mf
from shipway.datasets.snapshot import Progress, store
from shipway.datasets.workdir import folder_status, scan_with_cache, write_tree
from shipway.errors import Conflict, InvalidInput, NotFound
from shipway.records import Dataset, DatasetVersion, GitInfo, ManifestEntry, RunInput, positive_int
from shipway.store import datasets as repo
from shipway.store import events
from shipway.store import runs as runs_repo
from shipway.store.db import Database
from shipway.tracking.validation import check_slug

CONTEXT = re.compile(r"[a-z][a-z0-9_-]{0,63}")
MAX_PROFILED_FILES = 100
MAX_RUNS_ASKED = 1000  # runs in one inputs_of_runs question


def now_ms() -> int:
    return int(time.time() * 1000)


def check_name(name: str) -> str:
    return check_slug("dataset", name)


def parse_ref(ref: str) -> tuple[str, int | None]:
    """``name@3`` -> ("name", 3); ``name`` or ``name@latest`` -> ("name", None)."""
    if not isinstance(ref, str) or not ref:
        raise InvalidInput(f"dataset reference must be NAME@VERSION, got {ref!r}")
    ref = ref.removeprefix("datasets:/")
    name, _, version = ref.partition("@")
    check_name(name)
    if version in ("", "latest"):
        return name, None
    number = positive_int(version)
    if number is None:
        raise InvalidInput(f"version in {ref!r} must be a positive number or 'latest'")
    return name, number


class DatasetService:
    def __init__(self, db: Database, blobs: ContentStore, home: Path, actor: str = "unknown"):
        self.db = db
        self.blobs = blobs
        self.home = Path(home)
        self.actor = actor

    def with_actor(self, actor: str) -> DatasetService:
        other = copy.copy(self)
        other.actor = actor
        return other

    # adding ----------------------------------------------------------------------------

    def add(
        self,
        name: str,
        path: Path,
        *,
        message: str = "",
        source: str | None = None,
        run_id: str | None = None,
        git: GitInfo | None = None,
        link: bool = False,
        progress: Progress | None = None,
    ) -> tuple[DatasetVersion, bool]:
        """Snapshot ``path`` as the next version of ``name``. Returns the version and whether
        it is new (re-adding unchanged content returns the latest version, storing nothing).
        ``link`` hard-links files into a local store instead of copying them (see
        ``datasets.snapshot`` for what that risks)."""
        check_name(name)
        path = Path(path)
        snap = scan_with_cache(path, self.home, progress)
        manifest_bytes = mf.encode(snap.entries)
        manifest_digest = hash_bytes(manifest_bytes)
        with self.db.read() as conn:
            latest = repo.version(conn, name, None)
        if latest is not None and latest.manifest_digest == manifest_digest:
            return latest, False
        store(snap, self.blobs, link=link)
        self.blobs.put_bytes(manifest_bytes)
        profile = profiles(path, snap.entries)
        meta = {
            "manifest_digest": manifest_digest,
            "file_count": len(snap.entries),
            "total_size": sum(e.size for e in snap.entries),
            "message": message,
            "source": source or str(path.resolve()),
            "git_commit": git.commit if git else None,
            "profile": profile,
        }
        return self._insert(name, None, meta, run_id), True

    def _insert(
        self, name: str, number: int | None, meta: dict[str, Any], run_id: str | None
    ) -> DatasetVersion:
        for _ in range(5):  # concurrent adds race for the next number; the loser retries
            try:
                with self.db.write() as conn:
                    ds_id = repo.dataset_id(conn, name) or repo.insert_dataset(
                        conn, name, now_ms(), self.actor
                    )
                    version = number or repo.latest_number(conn, ds_id) + 1
                    run_pk = self._run_pk(conn, run_id) if run_id else None
                    repo.insert_version(
                        conn,
                        {
                            **meta,
                            "dataset_id": ds_id,
                            "version": version,
                            "created_at": now_ms(),
                            "created_by": self.actor,
                            "run_pk": run_pk,
                        },
                    )
                    events.record(
                        conn,
                        self.actor,
                        "add_version",
                        "dataset",
                        name,
                        {"version": version, "files": meta["file_count"]},
                    )
                    found = repo.version(conn, name, version)
                    assert found is not None
                    return found
            except sa.exc.IntegrityError:
                if number is not None:
                    raise Conflict(f"dataset {name}@{number} already exists") from None
                continue
        raise Conflict(f"could not add a version to {name!r}: too many concurrent writers")

    def _run_pk(self, conn: sa.Connection, run_id: str) -> int:
        pk = runs_repo.pk_of(conn, run_id)
        if pk is None:
            raise NotFound(f"no run with id {run_id!r}")
        return pk

    # reading ---------------------------------------------------------------------------

    def get(self, ref: str) -> DatasetVersion:
        name, number = parse_ref(ref)
        with self.db.read() as conn:
            found = repo.version(conn, name, number)
            if found is None:
                if repo.dataset_id(conn, name) is None:
                    raise NotFound(
                        f"no dataset {name!r}; add one with `shipway data add {name} PATH`"
                    )
                latest = repo.latest_number(conn, repo.dataset_id(conn, name) or 0)
                raise NotFound(f"dataset {name!r} has no version {number}; the latest is {latest}")
        return found

    def versions(self, name: str) -> list[DatasetVersion]:
        check_name(name)
        with self.db.read() as conn:
            found = repo.versions(conn, name)
        if not found:
            raise NotFound(f"no dataset {name!r}; `shipway data list` shows them")
        return found

    def list_datasets(self) -> list[Dataset]:
        with self.db.read() as conn:
            return repo.list_datasets(conn)

    def manifest(self, version: DatasetVersion) -> list[ManifestEntry]:
        return mf.decode(self.blobs.get_bytes(version.manifest_digest))

    # comparing -------------------------------------------------------------------------

    def diff(self, a: str, b: str) -> dict[str, Any]:
        from shipway.datasets.profile import diff_profiles

        old, new = self.get(a), self.get(b)
        files = mf.compare(self.manifest(old), self.manifest(new))
        tables: dict[str, Any] = {}
        old_p = (old.profile or {}).get("files", {})
        new_p = (new.profile or {}).get("files", {})
        for rel in sorted(set(old_p) & set(new_p)):
            if old_p[rel] != new_p[rel]:
                tables[rel] = diff_profiles(old_p[rel], new_p[rel])
        return {"from": old.ref, "to": new.ref, "files": files.to_dict(), "tables": tables}

    def status(self, name: str, path: Path) -> dict[str, Any]:
        """What changed in ``path`` since the latest version of ``name`` (nothing is stored)."""
        latest = self.get(name)
        return folder_status(latest.ref, self.manifest(latest), Path(path), self.home)

    # materializing ---------------------------------------------------------------------

    def materialize(self, ref: str, dest: Path) -> Path:
        """Write the version's files under ``dest`` (verified); ``dest`` must be new or empty."""
        return write_tree(self.manifest(self.get(ref)), Path(dest), self.blobs.download)

    def cached_path(self, ref: str) -> Path:
        """The version materialized once in the home's cache (verified when written)."""
        version = self.get(ref)
        target = self.home / "cache" / "datasets" / version.name / str(version.version)
        if not target.exists():
            try:
                self.materialize(version.ref, target)
            except InvalidInput:
                if not target.exists():
                    raise
        return target

    # lineage ---------------------------------------------------------------------------

    def log_input(self, run_id: str, ref: str, context: str = "training") -> RunInput:
        if not CONTEXT.fullmatch(context):
            raise InvalidInput(f"context {context!r} must be a short lowercase word, e.g. training")
        version = self.get(ref)
        with self.db.write() as conn:
            run_pk = self._run_pk(conn, run_id)
            vid = repo.version_id(conn, version.name, version.version)
            assert vid is not None
            repo.add_input(conn, run_pk, vid, context)
            events.record(
                conn,
                self.actor,
                "log_input",
                "run",
                run_id,
                {"dataset": version.ref, "context": context},
            )
        return RunInput(run_id, version.name, version.version, context)

    def inputs(self, run_id: str) -> list[RunInput]:
        with self.db.read() as conn:
            return repo.inputs_of(conn, self._run_pk(conn, run_id))

    def inputs_of_runs(self, run_ids: Sequence[str]) -> list[RunInput]:
        """The dataset versions many runs read, in one query (a runs table's column)."""
        ids = list(dict.fromkeys(run_ids))
        if len(ids) > MAX_RUNS_ASKED:
            raise InvalidInput(f"ask for at most {MAX_RUNS_ASKED} runs at once, got {len(ids)}")
        with self.db.read() as conn:
            return repo.inputs_of_runs(conn, ids)

    def readers(self, name: str) -> list[RunInput]:
        """The runs that read each version of a dataset, in one query."""
        check_name(name)
        with self.db.read() as conn:
            found = repo.readers_of(conn, name)
            if not found and repo.version_id(conn, name, 1) is None:  # versions start at 1
                raise NotFound(f"no dataset {name!r}; `shipway data list` shows them")
            return found

    def used_by(self, ref: str) -> list[RunInput]:
        version = self.get(ref)
        with self.db.read() as conn:
            vid = repo.version_id(conn, version.name, version.version)
            return repo.runs_using(conn, vid or 0)

    # moving between homes --------------------------------------------------------------

    def receive_blob(self, path: Path, digest: str) -> None:
        """Store an uploaded file under ``digest`` once it is shown to hash to it."""
        actual = hash_file(path)
        if actual != digest:
            raise InvalidInput(
                f"uploaded bytes hash to {actual[:12]}…, not {digest[:12]}…; the upload was "
                "damaged or the digest is wrong; nothing was stored"
            )
        self.blobs.put_hashed(path, digest)

    def missing(self, digests: Sequence[str]) -> list[str]:
        """Which of ``digests`` this store lacks (push asks this; nothing is listed)."""
        return [d for d in dict.fromkeys(digests) if not self.blobs.exists(d)]

    def register(
        self,
        name: str,
        manifest_digest: str,
        *,
        version: int | None = None,
        message: str = "",
        source: str | None = None,
        git_commit: str | None = None,
        run_id: str | None = None,
        profile: dict[str, Any] | None = None,
    ) -> tuple[DatasetVersion, bool]:
        """Record a version whose blobs were uploaded first (push, pull, remote add). With
        ``version`` it keeps that number; otherwise it becomes the next version, unless its
        content equals the latest one."""
        check_name(name)
        _check_profile(profile)
        entries = mf.decode(self.blobs.get_bytes(manifest_digest))  # here, intact and safe
        lacking = self.missing([e.digest for e in entries if e.digest])
        if lacking:
            raise InvalidInput(
                f"{name}: {len(lacking)} file blob(s) are missing here, e.g. "
                f"{lacking[0]}; upload them first (shipway data push does)"
            )
        with self.db.read() as conn:
            existing = repo.version(conn, name, version)
        if existing is not None and existing.manifest_digest == manifest_digest:
            return existing, False
        if existing is not None and version is not None:
            raise Conflict(
                f"{name}@{version} already exists here with other content; "
                "versions are immutable, so push it under another dataset name"
            )
        meta = {
            "manifest_digest": manifest_digest,
            "file_count": len(entries),
            "total_size": sum(e.size for e in entries),
            "message": message,
            "source": source,
            "git_commit": git_commit,
            "profile": profile,
        }
        return self._insert(name, version, meta, run_id), True

    def read_table(self, ref: str, file: str | None = None) -> Any:
        """The version's tabular content as a ``pyarrow.Table`` (see ``tables.read_table``)."""
        from shipway.datasets.tables import read_table

        version = self.get(ref)
        return read_table(version.ref, self.manifest(version), self.cached_path(version.ref), file)


def _check_profile(profile: Any) -> None:
    """A profile sent by a client is stored and later read by diffs: check its shape."""
    if profile is None:
        return
    files = profile.get("files") if isinstance(profile, dict) else None
    errors = profile.get("errors", {}) if isinstance(profile, dict) else None
    ok = isinstance(files, dict) and isinstance(errors, dict)
    for item in (files or {}).values() if ok else ():
        if not (
            isinstance(item, dict)
            and isinstance(item.get("rows"), int)
            and isinstance(item.get("columns"), list)
            and all(isinstance(c, dict) and isinstance(c.get("name"), str) for c in item["columns"])
        ):
            ok = False
    if not ok:
        raise InvalidInput(
            'profile must be {"files": {path: {"rows": int, "columns": [{"name": ...}]}}, '
            '"errors": {path: message}} as shipway computes it'
        )


def profiles(root: Path, entries: list[ManifestEntry]) -> dict[str, Any] | None:
    """Profiles of the tabular files (CSV, Parquet, JSON lines); a file that fails to parse
    gets an error entry instead, and the version is recorded all the same."""
    from shipway.datasets.profile import profile_file, table_format

    base = root if root.is_dir() else root.parent
    tabular: list[tuple[ManifestEntry, str]] = []
    for e in entries:
        fmt = table_format(e.path) if e.link is None else None
        if fmt and len(tabular) < MAX_PROFILED_FILES:
            tabular.append((e, fmt))
    if not tabular:
        return None
    files: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for entry, fmt in tabular:
        try:
            files[entry.path] = profile_file(base / entry.path, fmt)
        except InvalidInput as exc:
            errors[entry.path] = exc.message
    return {"files": files, "errors": errors}
