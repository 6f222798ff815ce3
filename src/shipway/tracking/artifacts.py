"""Run artifacts: files and folders stored content-addressed, addressed by logical path."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from shipway.blobs import ContentStore
from shipway.errors import Conflict, NotFound
from shipway.records import Artifact
from shipway.store import artifacts as artifacts_repo
from shipway.store import events
from shipway.store.db import Database
from shipway.tracking import validation as check
from shipway.tracking.service import TrackingService, now_ms
from shipway.tracking.validation import files_to_log


class ArtifactService:
    def __init__(self, db: Database, blobs: ContentStore, actor: str = "unknown") -> None:
        self.db = db
        self.blobs = blobs
        self.actor = actor
        self._runs = TrackingService(db, actor)

    def with_actor(self, actor: str) -> ArtifactService:
        other = copy.copy(self)
        other.actor = actor
        other._runs = self._runs.with_actor(actor)
        return other

    def log_path(
        self, run_id: str, local: Path, artifact_path: str | None = None
    ) -> list[Artifact]:
        """Log a file (under ``artifact_path``) or a folder (as ``artifact_path/<folder>/…``)."""
        return [self.log_file(run_id, f, dest) for f, dest in files_to_log(local, artifact_path)]

    def log_file(self, run_id: str, local: Path, path: str) -> Artifact:
        path = check.artifact_path(path)
        self._check_run(run_id)
        digest, size = self.blobs.put_file(local)
        return self._record(run_id, path, digest, size)

    def log_stream(self, run_id: str, path: str, chunks: Iterable[bytes]) -> Artifact:
        path = check.artifact_path(path)
        self._check_run(run_id)
        digest, size = self.blobs.put_stream(chunks)
        return self._record(run_id, path, digest, size)

    def list(self, run_id: str, prefix: str | None = None) -> list[Artifact]:
        clean = check.artifact_path(prefix) if prefix else ""
        with self.db.read() as conn:
            return artifacts_repo.under(conn, self._runs._run_pk(conn, run_id), clean)

    def get(self, run_id: str, path: str) -> Artifact:
        clean = check.artifact_path(path)
        for artifact in self.list(run_id, clean):
            if artifact.path == clean:
                return artifact
        raise NotFound(f"run {run_id} has no artifact file {clean!r}; list them with the API")

    def open(self, run_id: str, path: str) -> tuple[Artifact, Iterator[bytes]]:
        artifact = self.get(run_id, path)
        return artifact, self.blobs.iter_verified(artifact.digest)

    def download(self, run_id: str, path: str | None, dest: Path) -> Path:
        """Copy an artifact file (to ``dest/<name>``) or folder (keeping its layout) to disk."""
        found = self.list(run_id, path)
        if not found:
            raise NotFound(f"run {run_id} has no artifact {path!r}")
        dest = Path(dest)
        clean = check.artifact_path(path) if path else ""
        parent = clean.rsplit("/", 1)[0] if "/" in clean else ""
        for artifact in found:
            rel = artifact.path[len(parent) + 1 :] if parent else artifact.path
            self.blobs.download(artifact.digest, dest / rel)
        return dest / (clean.rsplit("/", 1)[-1] if clean else "")

    def check_run(self, run_id: str) -> None:
        """Raise unless ``run_id`` exists and is not deleted."""
        self._check_run(run_id)

    def _check_run(self, run_id: str) -> None:
        with self.db.read() as conn:
            self._runs._writable_run_pk(conn, run_id)

    def _record(self, run_id: str, path: str, digest: str, size: int) -> Artifact:
        with self.db.write() as conn:
            pk = self._runs._writable_run_pk(conn, run_id)
            _check_no_clash(conn, pk, run_id, path)
            artifacts_repo.upsert(conn, pk, path, digest, size, now_ms())
            events.record(
                conn, self.actor, "log_artifact", "run", run_id, {"path": path, "size": size}
            )
        return Artifact(path=path, size=size, digest=digest)


def _check_no_clash(conn: Any, run_pk: int, run_id: str, path: str) -> None:
    """A path cannot be both a file and a folder: ``d`` and ``d/f`` could not both be
    downloaded."""
    parts = path.split("/")
    for depth in range(1, len(parts)):
        parent = "/".join(parts[:depth])
        if any(a.path == parent for a in artifacts_repo.under(conn, run_pk, parent)):
            raise Conflict(
                f"run {run_id} has a file artifact {parent!r}, so {path!r} cannot be a "
                "file inside it; pick another path"
            )
    inside = [a for a in artifacts_repo.under(conn, run_pk, path) if a.path != path]
    if inside:
        raise Conflict(
            f"run {run_id} has artifacts inside the folder {path!r} (e.g. {inside[0].path!r}), "
            "so it cannot also be a file; pick another path"
        )
