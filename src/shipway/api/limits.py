"""Request size limits, enforced while the body streams in (not after buffering it)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shipway.errors import PayloadTooLarge


class BodyLimit:
    """Reject bodies over ``json_limit`` bytes (``artifact_limit`` for artifact uploads,
    0 meaning none) with 413 and the error envelope."""

    def __init__(self, app: ASGIApp, json_limit: int, artifact_limit: int) -> None:
        self.app = app
        self.json_limit = json_limit
        self.artifact_limit = artifact_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in {"GET", "HEAD", "DELETE", "OPTIONS"}:
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        is_artifact = scope["method"] == "PUT" and ("/artifacts/" in path or "/blobs/" in path)
        limit = self.artifact_limit if is_artifact else self.json_limit
        if not limit:
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await _reject(send, limit)
                return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # raised inside the app, so its error handler answers 413
                    raise PayloadTooLarge(_message(limit), details={"limit_bytes": limit})
            return message

        await self.app(scope, counted, send)


def _message(limit: int) -> str:
    return (
        f"request body is over the limit of {limit} bytes; send smaller batches "
        "or raise SHIPWAY_MAX_REQUEST_MB / SHIPWAY_MAX_ARTIFACT_MB on the server"
    )


async def _reject(send: Send, limit: int) -> None:
    body: dict[str, Any] = {
        "error": {
            "code": "payload_too_large",
            "message": _message(limit),
            "details": {"limit_bytes": limit},
        }
    }
    payload = orjson.dumps(body)
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
