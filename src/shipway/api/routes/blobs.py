"""/api/v1/blobs: content-addressed bytes, for pushing and pulling dataset versions.

A client asks which digests the server lacks (never lists the store), uploads those, and
downloads by digest; every upload is hashed on arrival and refused if it does not match.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from shipway.api.auth import DataScientist, Viewer
from shipway.blobs.hashing import check_digest
from shipway.services import Services

router = APIRouter(prefix="/blobs", tags=["blobs"])


class Digests(BaseModel):
    digests: list[str] = Field(max_length=100_000)


@router.post("/missing", summary="Which of these digests the server lacks")
def missing(body: Digests, services: Services = Viewer) -> dict[str, Any]:
    for digest in body.digests:
        check_digest(digest)
    return {"missing": services.datasets.missing(body.digests)}


@router.put("/{digest}", status_code=201, summary="Upload one blob (raw body, verified)")
async def upload(
    digest: str, request: Request, services: Services = DataScientist
) -> dict[str, Any]:
    check_digest(digest)
    spool = services.settings.home / "tmp"
    spool.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".blob-", dir=spool)
    tmp = Path(name)
    try:
        size = 0
        with os.fdopen(fd, "wb") as fh:
            async for chunk in request.stream():
                fh.write(chunk)
                size += len(chunk)
        await run_in_threadpool(services.datasets.receive_blob, tmp, digest)
    finally:
        tmp.unlink(missing_ok=True)
    return {"digest": digest, "size": size}


@router.get("/{digest}", summary="Download one blob (verified while streaming)")
def download(digest: str, services: Services = Viewer) -> StreamingResponse:
    check_digest(digest)
    size = services.blobs.size(digest)
    return StreamingResponse(
        services.blobs.iter_verified(digest),
        media_type="application/octet-stream",
        headers={"Content-Length": str(size), "X-Shipway-Digest": digest},
    )
