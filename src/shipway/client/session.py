"""The one HTTP session a remote client talks through: headers and token, retries with
backoff, error decoding into shipway's errors, streaming and verified downloads.

Connection failures and 502/503/504 answers are retried with exponential backoff
(``SHIPWAY_RETRIES`` attempts starting at ``SHIPWAY_RETRY_BACKOFF`` seconds); after the last
attempt a ``ConnectionFailed`` names the server and what to check.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson

from shipway import errors
from shipway.config import Settings, os_user

RETRY_STATUS = {502, 503, 504}
CHUNK = 1 << 20


class Session:
    def __init__(self, settings: Settings, uri: str, token: str | None = None) -> None:
        if not uri.startswith(("http://", "https://")):
            raise errors.InvalidInput(f"{uri!r} is not a server URL; use http://HOST:PORT")
        self.location = uri.rstrip("/")
        self.retries = max(1, settings.retries)
        self.backoff = settings.retry_backoff
        headers = {"X-Shipway-User": settings.user or os_user(), "User-Agent": "shipway-client"}
        token = token or settings.token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.http = httpx.Client(
            base_url=self.location + "/api/v1",
            headers=headers,
            timeout=httpx.Timeout(60.0, connect=5.0),
        )

    def send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Any = None,
        content: Callable[[], Any] | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """One request, retried on connection failures and 502/503/504; an error answer
        raises the shipway error its body names."""
        body = orjson.dumps(json) if json is not None else None
        delay = self.backoff
        last: str = ""
        for attempt in range(self.retries):
            try:
                request = self.http.build_request(
                    method,
                    path,
                    params=params,
                    content=body if content is None else content(),
                    headers={"Content-Type": "application/json"} if body is not None else None,
                )
                response = self.http.send(request, stream=stream)
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code not in RETRY_STATUS:
                    if response.is_error:
                        if stream:
                            response.read()
                        raise error_from(response)
                    return response
                last = f"HTTP {response.status_code}"
                response.close()
            if attempt + 1 < self.retries:
                time.sleep(delay)
                delay *= 2
        raise errors.ConnectionFailed(
            f"cannot reach the shipway server at {self.location} after {self.retries} attempts "
            f"({last}); is `shipway server` running there? check SHIPWAY_TRACKING_URI"
        )

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.send(method, path, **kwargs)
        return orjson.loads(response.content) if response.content else None

    def download(self, path: str, target: Path, expected: Callable[[httpx.Response], str]) -> None:
        """Stream ``path`` into ``target`` through a temporary file in the same folder; it
        appears only once its BLAKE3 digest equals ``expected(response)``."""
        import blake3

        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".download-", dir=target.parent)
        hasher = blake3.blake3()
        try:
            with os.fdopen(fd, "wb") as fh:
                response = self.send("GET", path, stream=True)
                try:
                    for chunk in response.iter_bytes(CHUNK):
                        hasher.update(chunk)
                        fh.write(chunk)
                except httpx.HTTPError as exc:
                    raise errors.IntegrityError(
                        f"download of {path} broke off ({exc}); the server may have found "
                        "the stored blob corrupt"
                    ) from None
                finally:
                    response.close()
                fh.flush()
                os.fsync(fh.fileno())
            want = expected(response)
            if hasher.hexdigest() != want:
                raise errors.IntegrityError(
                    f"{path} arrived corrupt (got {hasher.hexdigest()[:12]}…, "
                    f"expected {want[:12]}…); retry"
                )
            os.replace(name, target)
        finally:
            Path(name).unlink(missing_ok=True)

    def close(self) -> None:
        self.http.close()


def file_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            yield chunk


def error_from(response: httpx.Response) -> errors.ShipwayError:
    try:
        body = orjson.loads(response.content)
        err = body["error"]
        return errors.error_from_code(err["code"], err["message"], err.get("details"))
    except (orjson.JSONDecodeError, KeyError, TypeError):
        snippet = response.text[:200]
        return errors.ServerError(
            f"the server answered HTTP {response.status_code} without a shipway error body: "
            f"{snippet!r}; is {response.request.url.host} a shipway server?"
        )
