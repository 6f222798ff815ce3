"""/api/v1/runs/{run_id}/artifacts: streamed upload, listing and verified download."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from shipway.api.auth import DataScientist, Viewer
from shipway.api.pagination import body, page
from shipway.records import Artifact
from shipway.services import Services
from shipway.tracking.validation import artifact_path

router = APIRouter(prefix="/runs/{run_id}/artifacts", tags=["artifacts"])


@router.get("", summary="List artifacts, optionally under a folder")
def list_(
    run_id: str,
    path: str | None = None,
    limit: int = 1000,
    cursor: str | None = None,
    services: Services = Viewer,
) -> dict[str, Any]:
    items, next_cursor = page(services.artifacts.list(run_id, path), limit, cursor)
    return body("artifacts", items, next_cursor)


@router.put(
    "/{path:path}",
    status_code=201,
    summary="Upload one artifact file (raw body, streamed to disk, never held in memory)",
)
async def upload(
    run_id: str, path: str, request: Request, services: Services = DataScientist
) -> dict[str, Any]:
    return (await store_upload(services, request, run_id, path)).to_dict()


async def store_upload(services: Services, request: Request, run_id: str, path: str) -> Artifact:
    """The request's body as the run's artifact at ``path``: checked before the body is
    read, spooled to disk (never held in memory), then stored content-addressed."""
    clean = artifact_path(path)
    await run_in_threadpool(services.artifacts.check_run, run_id)  # before reading the body
    fd, name = tempfile.mkstemp(prefix=".upload-", dir=_spool_dir(services))
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            async for chunk in request.stream():
                fh.write(chunk)
        return await run_in_threadpool(services.artifacts.log_file, run_id, tmp, clean)
    finally:
        tmp.unlink(missing_ok=True)


@router.get("/{path:path}", summary="Download one artifact file; X-Shipway-Digest is its BLAKE3")
def download(run_id: str, path: str, services: Services = Viewer) -> StreamingResponse:
    artifact, chunks = services.artifacts.open(run_id, path)
    return StreamingResponse(
        chunks,
        media_type="application/octet-stream",
        headers={
            "Content-Length": str(artifact.size),
            "X-Shipway-Digest": artifact.digest,
            "Content-Disposition": _disposition(artifact.path),
        },
    )


def _spool_dir(services: Services) -> str:
    spool = services.settings.home / "tmp"
    spool.mkdir(parents=True, exist_ok=True)
    return str(spool)


def _disposition(path: str) -> str:
    """RFC 6266 filename*: header values are latin-1, artifact names may be any Unicode."""
    return "attachment; filename*=UTF-8''" + quote(Path(path).name)
