"""Moving dataset versions over HTTP: adding from this machine to a server, pushing a
local version up, pulling a server's version down. Only missing blobs travel: the sender
asks the receiver which digests it lacks (in batches), never for a listing."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import blake3

from shipway import errors
from shipway.datasets import manifest as mf
from shipway.datasets.service import DatasetService, profiles
from shipway.datasets.snapshot import Progress
from shipway.datasets.workdir import scan_with_cache, write_tree
from shipway.records import DatasetVersion, GitInfo, ManifestEntry

if TYPE_CHECKING:  # transfer is used by the HTTP backend, which imports it lazily
    from shipway.client.http import HttpBackend
    from shipway.operations import Datasets

BATCH = 10_000


def missing_remote(http: HttpBackend, wanted: Iterable[str]) -> list[str]:
    unique = list(dict.fromkeys(wanted))
    lacking: list[str] = []
    for start in range(0, len(unique), BATCH):
        data = http._json("POST", "/blobs/missing", json={"digests": unique[start : start + BATCH]})
        lacking.extend(data["missing"])
    return lacking


def upload_file(http: HttpBackend, digest: str, path: Path) -> None:
    def chunks() -> Iterable[bytes]:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                yield chunk

    http._json("PUT", f"/blobs/{digest}", content=chunks)


def download(http: HttpBackend, digest: str, target: Path) -> None:
    """Fetch one blob to ``target`` through a temp file, verified before it appears."""
    http.session.download(f"/blobs/{digest}", target, lambda _: digest)


def fetch_bytes(http: HttpBackend, digest: str) -> bytes:
    response = http._send("GET", f"/blobs/{digest}")
    if blake3.blake3(response.content).hexdigest() != digest:
        raise errors.IntegrityError(f"blob {digest[:12]}… arrived corrupt; retry")
    return response.content


def remote_add(
    http: HttpBackend,
    home: Path,
    name: str,
    path: Path,
    *,
    message: str,
    source: str | None,
    run_id: str | None,
    git: GitInfo | None,
    progress: Progress | None = None,
) -> tuple[DatasetVersion, bool]:
    """Hash ``path`` here, upload what the server lacks, then record the version there."""
    snap = scan_with_cache(Path(path), home, progress)
    entries = snap.entries
    lacking = set(missing_remote(http, [e.digest for e in entries if e.digest]))
    sent: set[str] = set()
    for f in snap.walk.files:
        digest = snap.digest_of[f.path]
        if digest in lacking and digest not in sent:
            upload_file(http, digest, Path(f.path))
            sent.add(digest)
    manifest_bytes = mf.encode(entries)
    manifest_digest = blake3.blake3(manifest_bytes).hexdigest()
    http._json("PUT", f"/blobs/{manifest_digest}", content=lambda: manifest_bytes)
    return http.platform.datasets.register(
        name,
        manifest_digest,
        message=message,
        source=source or str(Path(path).resolve()),
        git_commit=git.commit if git else None,
        run_id=run_id,
        profile=profiles(Path(path), entries),
    )


def remote_manifest(http: HttpBackend, ref: str) -> tuple[DatasetVersion, list[ManifestEntry]]:
    version = http.platform.datasets.get(ref)
    entries = mf.decode(fetch_bytes(http, version.manifest_digest))
    return version, entries


def remote_materialize(http: HttpBackend, ref: str, dest: Path) -> Path:
    _, entries = remote_manifest(http, ref)
    return write_tree(entries, Path(dest), lambda digest, target: download(http, digest, target))


def push(local: DatasetService, http: HttpBackend, ref: str) -> tuple[DatasetVersion, int, bool]:
    """Send a local version to the server, keeping its number; returns (version, blobs sent,
    created)."""
    version = local.get(ref)
    entries = local.manifest(version)
    wanted = [version.manifest_digest] + [e.digest for e in entries if e.digest]
    lacking = missing_remote(http, wanted)
    for digest in lacking:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "blob"
            local.blobs.download(digest, path)
            upload_file(http, digest, path)
    recorded, created = record_copy(http.platform.datasets, version)
    return recorded, len(lacking), created


def pull(http: HttpBackend, local: DatasetService, ref: str) -> tuple[DatasetVersion, int, bool]:
    """Fetch a server's version into the local home, keeping its number."""
    version, entries = remote_manifest(http, ref)
    wanted = [version.manifest_digest] + [e.digest for e in entries if e.digest]
    lacking = local.missing(wanted)
    for digest in lacking:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "blob"
            download(http, digest, path)
            local.blobs.put_hashed(path, digest)
    recorded, created = record_copy(local, version)  # no run_id: the run lives on the server
    return recorded, len(lacking), created


def record_copy(target: Datasets, version: DatasetVersion) -> tuple[DatasetVersion, bool]:
    """Record ``version`` (its blobs already sent) on the other side with its number: the
    local service and the remote surface take the same declared call."""
    return target.register(
        version.name,
        version.manifest_digest,
        version=version.version,
        message=version.message,
        source=version.source,
        git_commit=version.git_commit,
        profile=version.profile,
    )
