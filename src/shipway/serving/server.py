"""What every protocol of the inference server shares: the prediction path (body limit,
access check, traffic routing, the model call, the prediction log, metrics and the access
log), health, the platform's error envelope, and how a protocol plugs in.

A protocol module under :mod:`shipway.serving.protocols` gives the prediction path an
:class:`Adapter` (its name, decoding, encoding and error shape) and its own routes;
:func:`shipway.serving.app.create_app` assembles them.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import numpy as np
import orjson
from starlette.applications import Starlette
from starlette.datastructures import URLPath
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import Receive, Scope, Send

from shipway import errors
from shipway.http_status import status_for
from shipway.serving.codecs import Rows
from shipway.serving.runtime import Endpoint, PredictionFailed, Runtime, Slot

access_log = logging.getLogger("shipway.access")
log = logging.getLogger("shipway.serving")

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")
_TOKEN_TTL = 30.0
INTERNAL = "internal server error; see the server log"

Parsed = TypeVar("Parsed")


class Adapter(Protocol[Parsed]):
    """What a protocol gives the shared prediction path.

    ``name`` is the ``protocol`` label of the metrics, the access log and the prediction
    log. ``decode`` turns a body into rows and what the answer needs of the request
    (``Parsed``); ``encode`` writes the answer; ``error`` is the protocol's error shape.
    """

    name: str

    def decode(self, request: Request, slot: Slot, body: bytes) -> tuple[Rows, Parsed]: ...

    def wants_proba(self, parsed: Parsed) -> bool: ...

    def encode(
        self, slot: Slot, request_id: str, parsed: Parsed, predictions: Any, proba: Any
    ) -> Response: ...

    def error(self, status: int, code: str, message: str, details: Any) -> Response: ...


@dataclass
class _Call:
    """One prediction request on its way through :meth:`Server.predict`."""

    request: Request
    protocol: str
    name: str
    request_id: str
    started: float  # wall clock, for the log
    t0: float  # perf counter, for latencies
    label: tuple[str, str] = ("", "")  # (model, version) once a slot is chosen
    failed_in_model: bool = False  # the model raised (counted as an error; bad input is not)


class Server:
    """The handlers and the prediction path bound to one runtime."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.metrics = runtime.metrics
        self.config = runtime.config
        self._tokens: dict[str, tuple[float, str | None]] = {}
        self._shadows: set[asyncio.Task[None]] = set()  # shadow calls under way

    # plumbing ---------------------------------------------------------------------------

    async def body(self, request: Request) -> bytes:
        limit = self.config.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise errors.PayloadTooLarge(
                f"the request body is {declared} bytes; this server takes at most {limit}",
                details={"limit": limit},
            )
        chunks = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise errors.PayloadTooLarge(
                    f"the request body is over {limit} bytes, the most this server takes",
                    details={"limit": limit},
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def check_access(self, request: Request, endpoint_name: str | None) -> None:
        if not self.runtime.auth:
            return
        key = request.headers.get("x-api-key")
        if key and endpoint_name is not None:
            endpoint = self.runtime.endpoints.get(endpoint_name)
            deployment = None if endpoint is None else endpoint.deployment
            if deployment is not None and self._key_valid(deployment, key):
                return
            raise errors.Unauthenticated("the API key is not valid for this deployment")
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise errors.Unauthenticated(
                "this server requires a token: send 'Authorization: Bearer <token>' "
                "(shipway tokens create) or the deployment's 'X-API-Key'"
            )
        role = self._cached(f"token:{token}", lambda: self.runtime.source.authenticate(token))
        if role is None:
            raise errors.Unauthenticated("the token is unknown or revoked")

    def _key_valid(self, deployment: str, key: str) -> bool:
        def lookup() -> str | None:
            return "viewer" if self.runtime.source.check_api_key(deployment, key) else None

        return self._cached(f"key:{deployment}:{key}", lookup) is not None

    def _cached(self, key: str, lookup: Callable[[], str | None]) -> str | None:
        now = time.monotonic()
        hit = self._tokens.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = lookup()
        if len(self._tokens) > 10_000:
            self._tokens.clear()
        self._tokens[key] = (now + _TOKEN_TTL, value)
        return value

    # prediction -------------------------------------------------------------------------

    async def predict(
        self, request: Request, adapter: Adapter[Parsed], name: str, version: int | None
    ) -> Response:
        """Answer one prediction request in ``adapter``'s protocol; every error becomes an
        answer in its error shape, counted and logged like a success."""
        t0 = time.perf_counter()
        call = _Call(request, adapter.name, name, request_id(request), time.time(), t0)
        try:
            response = await self._predict(call, adapter, version)
        except errors.ShipwayError as exc:
            call.failed_in_model = isinstance(exc, PredictionFailed)
            response = adapter.error(status_for(exc), exc.code, exc.message, exc.details)
        except Exception:  # a bug: log it whole, answer with the envelope, not a traceback
            log.exception("unexpected error in %s %s", request.method, request.url.path)
            response = adapter.error(500, "internal_error", INTERNAL, None)
        self._observe(call, response.status_code)
        response.headers["x-request-id"] = call.request_id
        return response

    async def _predict(
        self, call: _Call, adapter: Adapter[Parsed], version: int | None
    ) -> Response:
        self.check_access(call.request, call.name)  # first: a 404 would name what is served
        endpoint = self.runtime.endpoint(call.name)
        body = await self.body(call.request)
        if version is None:
            slot, arm, mirror = endpoint.route(call.request.headers.get("x-traffic-key"))
        else:
            slot, arm, mirror = endpoint.slot(version), "pinned", None
        call.label = (slot.name, slot.label)
        rows, parsed = adapter.decode(call.request, slot, body)
        wants = adapter.wants_proba(parsed) and slot.has_proba
        predictions, proba = await slot.run(rows, wants)
        response = adapter.encode(slot, call.request_id, parsed, predictions, proba)
        latency = time.perf_counter() - call.t0
        self.runtime.log_prediction(
            endpoint,
            slot,
            arm,
            call.protocol,
            call.request_id,
            call.started,
            latency,
            rows,
            predictions,
            proba,
        )
        if mirror is not None:
            task = asyncio.get_running_loop().create_task(
                self._shadow(endpoint, mirror, call.protocol, call.request_id, rows, wants)
            )
            self._shadows.add(task)  # the loop keeps only a weak reference to a task
            task.add_done_callback(self._shadows.discard)
        return response

    def _observe(self, call: _Call, status: int) -> None:
        model, version = call.label
        if model and (status >= 500 or call.failed_in_model):
            self.runtime.count_error(model, version)
        elapsed = time.perf_counter() - call.t0
        self.metrics.requests.labels(model or call.name, version, call.protocol, str(status)).inc()
        self.metrics.latency.labels(model or call.name, version, call.protocol).observe(elapsed)
        if not self.config.access_log:
            return
        line = {
            "time": call.started,
            "request_id": call.request_id,
            "method": call.request.method,
            "path": call.request.url.path,
            "status": status,
            "latency_ms": round(elapsed * 1000, 3),
            "protocol": call.protocol,
            "model": model or call.name,
            "version": version or None,
        }
        access_log.info("%s", orjson.dumps(line).decode())

    async def _shadow(
        self,
        endpoint: Endpoint,
        slot: Slot,
        protocol: str,
        request_id: str,
        rows: Rows,
        wants: bool,
    ) -> None:
        started = time.time()
        t0 = time.perf_counter()
        try:
            predictions, proba = await slot.run(rows, wants)
        except Exception as exc:  # the candidate failing must never touch the answer
            log.warning(
                "shadow %s/%s failed on request %s: %s", slot.name, slot.label, request_id, exc
            )
            return
        latency = time.perf_counter() - t0
        self.runtime.log_prediction(
            endpoint,
            slot,
            "shadow",
            protocol,
            request_id,
            started,
            latency,
            rows,
            predictions,
            proba,
        )

    # health -----------------------------------------------------------------------------

    async def live(self, request: Request) -> Response:
        return Response(b'{"live":true}', 200, media_type="application/json")

    async def ready(self, request: Request) -> Response:
        """200 once every model is loaded; ``NotReady`` (503) in the route's error shape."""
        if self.runtime.ready:
            return Response(b'{"ready":true}', 200, media_type="application/json")
        loading = sorted(set(self.runtime.expected) - set(self.runtime.endpoints))
        raise errors.NotReady(f"still loading: {', '.join(loading)}", details={"loading": loading})


# the platform's error envelope, and the pieces the protocols' answers share -----------------


def envelope(status: int, code: str, message: str, details: Any = None) -> Response:
    """The platform's error body ``{"error": {"code", "message", "details"}}``."""
    return json_error({"error": {"code": code, "message": message, "details": details}}, status)


def json_error(body: Any, status: int) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return Response(dumps(body), status, headers=headers, media_type="application/json")


def http_error(request: Request, exc: HTTPException) -> tuple[int, str, str]:
    """``(status, code, message)`` for a framework error: no route, wrong method, …"""
    if exc.status_code == 405:
        return 405, "method_not_allowed", f"{request.method} is not allowed on {request.url.path}"
    if exc.status_code == 404:
        return (
            404,
            "not_found",
            f"no route {request.url.path}; see /docs (native), /v2 (Open Inference Protocol) "
            "or POST /invocations",
        )
    return exc.status_code, "http_error", str(exc.detail)


def dumps(content: Any) -> bytes:
    return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


def json_response(content: Any) -> Response:
    return Response(dumps(content), 200, media_type="application/json")


def plain(array: Any) -> Any:
    """``array`` as orjson writes it: numbers stay an array, strings and dates become lists."""
    array = np.asarray(array)
    if array.dtype.kind in "OUSMm":
        return array.astype(object).tolist() if array.dtype.kind != "O" else array.tolist()
    return array


def parse_version(text: str | None) -> int | None:
    if text is None:
        return None
    if text.isascii() and text.isdigit() and 0 < int(text) < 2**63:
        return int(text)
    raise errors.InvalidInput(f"model version {text!r} must be a positive number")


def request_id(request: Request) -> str:
    given = request.headers.get("x-request-id")
    if given and _REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


class Prefix(BaseRoute):
    """Every request for ``prefix`` or a path under it goes to ``app``, whose routes are
    written in full (``/v2/models/…``), with its own exception handlers: a protocol with
    its own error shape is a sub-app under its prefix. Unlike a ``Mount``, it also takes
    the bare prefix (``GET /v2`` is a route of the protocol)."""

    def __init__(self, prefix: str, app: Starlette) -> None:
        self.prefix = prefix.rstrip("/")
        self.app = app

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http":
            path = scope["path"].removeprefix(scope.get("root_path", ""))
            if path == self.prefix or path.startswith(self.prefix + "/"):
                return Match.FULL, {"endpoint": self.app}
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        return self.app.router.url_path_for(name, **path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
