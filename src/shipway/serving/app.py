"""The inference server's ASGI app: three protocols on one port.

- native: ``POST /v1/models/{name}/predict`` (``/versions/{v}/predict`` pins a version),
  typed by the model's signature in ``/openapi.json``;
- the Open Inference Protocol v2 under ``/v2`` (tritonclient, KServe, MLServer clients);
- MLflow-style ``POST /invocations`` with ``/ping`` and ``/health``.

Plus ``/health/live``, ``/health/ready``, ``/metrics`` (Prometheus) and ``/docs``.

Errors use the platform's envelope ``{"error": {"code", "message", "details"}}``, except
under ``/v2``, where the protocol's ``{"error": "message"}`` is what clients read.
Plain Starlette, not FastAPI: the request path is a handful of function calls, and the
OpenAPI document is generated from the models' signatures instead of Python types.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import numpy as np
import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from shipway import errors
from shipway._version import __version__
from shipway.http_status import status_for
from shipway.serving import oip
from shipway.serving.codecs import Rows, parse_json
from shipway.serving.openapi import openapi_document, swagger_html
from shipway.serving.runtime import Endpoint, PredictionFailed, Runtime, Slot

access_log = logging.getLogger("shipway.access")
log = logging.getLogger("shipway.serving")

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")
_TOKEN_TTL = 30.0


def _dumps(content: Any) -> bytes:
    return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


def envelope(
    status: int, code: str, message: str, details: Any = None, *, v2: bool = False
) -> Response:
    body = (
        {"error": message}
        if v2
        else {"error": {"code": code, "message": message, "details": details}}
    )
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return Response(_dumps(body), status, headers=headers, media_type="application/json")


class Server:
    """Handlers bound to one runtime."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.metrics = runtime.metrics
        self.config = runtime.config
        self._tokens: dict[str, tuple[float, str | None]] = {}

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
        self,
        request: Request,
        protocol: str,
        name: str,
        version: int | None,
        decode: Callable[[Slot, bytes], tuple[Rows, Any]],
        encode: Callable[[Endpoint, Slot, str, Any, Any, Any], Response],
        want_proba: Callable[[Any], bool],
    ) -> Response:
        started = time.time()
        t0 = time.perf_counter()
        request_id = _request_id(request)
        v2 = protocol == "v2"
        status = 500
        label = ("", "")
        failed_in_model = False  # the model raised (counted as an error; bad input is not)
        try:
            endpoint = self.runtime.endpoint(name)
            self.check_access(request, name)
            body = await self.body(request)
            if version is None:
                slot, arm, mirror = endpoint.route(request.headers.get("x-traffic-key"))
            else:
                slot, arm, mirror = endpoint.slot(version), "pinned", None
            label = (slot.name, slot.label)
            rows, parsed = decode(slot, body)
            wants = want_proba(parsed) and slot.has_proba
            predictions, proba = await slot.run(rows, wants)
            response = encode(endpoint, slot, request_id, parsed, predictions, proba)
            status = response.status_code
            latency = time.perf_counter() - t0
            self.runtime.log_prediction(
                endpoint,
                slot,
                arm,
                protocol,
                request_id,
                started,
                latency,
                rows,
                predictions,
                proba,
            )
            if mirror is not None:
                asyncio.get_running_loop().create_task(
                    self._shadow(endpoint, mirror, protocol, request_id, rows, wants)
                )
        except errors.ShipwayError as exc:
            status = status_for(exc)
            failed_in_model = isinstance(exc, PredictionFailed)
            response = envelope(status, exc.code, exc.message, exc.details, v2=v2)
        except Exception:  # a bug: log it whole, answer with the envelope, not a traceback
            log.exception("unexpected error in %s %s", request.method, request.url.path)
            response = envelope(
                500, "internal_error", "internal server error; see the server log", v2=v2
            )
        if label[0] and (status >= 500 or failed_in_model):
            self.runtime.count_error(label[0], label[1])
        elapsed = time.perf_counter() - t0
        response.headers["x-request-id"] = request_id
        self.metrics.requests.labels(label[0] or name, label[1], protocol, str(status)).inc()
        self.metrics.latency.labels(label[0] or name, label[1], protocol).observe(elapsed)
        if self.config.access_log:
            access_log.info(
                "%s",
                orjson.dumps(
                    {
                        "time": started,
                        "request_id": request_id,
                        "method": request.method,
                        "path": request.url.path,
                        "status": status,
                        "latency_ms": round(elapsed * 1000, 3),
                        "protocol": protocol,
                        "model": label[0] or name,
                        "version": label[1] or None,
                    }
                ).decode(),
            )
        return response

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

    # native ----------------------------------------------------------------------------

    async def native(self, request: Request) -> Response:
        name = request.path_params["name"]
        version = _version(request.path_params.get("version"))

        def decode(slot: Slot, body: bytes) -> tuple[Rows, Any]:
            data = parse_json(body)
            if not isinstance(data, dict):
                raise errors.InvalidInput(
                    "the body must be a JSON object with 'records' (a list of rows) or "
                    "'columns' (name -> list of values)",
                    details={"field": "body"},
                )
            unknown = [k for k in data if k not in ("records", "columns", "probabilities")]
            if unknown:
                raise errors.InvalidInput(
                    f"unknown field{'s' if len(unknown) > 1 else ''} "
                    f"{', '.join(map(repr, unknown))}; "
                    "the body takes 'records' or 'columns', and 'probabilities' (true/false)",
                    details={"field": unknown[0]},
                )
            proba = data.get("probabilities", False)
            if not isinstance(proba, bool):
                raise errors.InvalidInput(
                    "'probabilities' must be true or false", details={"field": "probabilities"}
                )
            if ("records" in data) == ("columns" in data):
                raise errors.InvalidInput(
                    "give exactly one of 'records' (a list of rows) or 'columns' "
                    "(name -> list of values)",
                    details={"field": "records"},
                )
            if "records" in data:
                return slot.codec.from_records(data["records"]), data
            return slot.codec.from_columns(data["columns"]), data

        def encode(
            endpoint: Endpoint, slot: Slot, rid: str, parsed: Any, preds: Any, proba: Any
        ) -> Response:
            out: dict[str, Any] = {
                "model": slot.name,
                "version": slot.number,
                "request_id": rid,
                "predictions": _plain(preds),
            }
            if proba is not None:
                out["probabilities"] = _plain(proba)
                out["classes"] = slot.codec.classes
            return Response(_dumps(out), 200, media_type="application/json")

        return await self.predict(
            request,
            "native",
            name,
            version,
            decode,
            encode,
            lambda parsed: bool(parsed.get("probabilities")),
        )

    # Open Inference Protocol v2 ---------------------------------------------------------

    async def v2_infer(self, request: Request) -> Response:
        name = request.path_params["name"]
        version = _version(request.path_params.get("version"))
        header = request.headers.get("inference-header-content-length")

        def decode(slot: Slot, body: bytes) -> tuple[Rows, Any]:
            rows, parsed = oip.decode_request(slot.codec, body, header)
            available = ["predict", "predict_proba"] if slot.has_proba else ["predict"]
            parsed["_wanted"] = oip.wanted_outputs(parsed, available)
            return rows, parsed

        def encode(
            endpoint: Endpoint, slot: Slot, rid: str, parsed: Any, preds: Any, proba: Any
        ) -> Response:
            results = {"predict": preds, "predict_proba": proba}
            req_id = parsed.get("id") if isinstance(parsed.get("id"), str) else None
            body, headers = oip.encode_response(
                slot.name, slot.number, req_id, results, parsed["_wanted"]
            )
            media = "application/octet-stream" if headers else "application/json"
            return Response(body, 200, headers=headers, media_type=media)

        return await self.predict(
            request,
            "v2",
            name,
            version,
            decode,
            encode,
            lambda parsed: any(n == "predict_proba" for n, _ in parsed["_wanted"]),
        )

    async def v2_model(self, request: Request) -> Response:
        name = request.path_params["name"]
        try:
            version = _version(request.path_params.get("version"))
            self.check_access(request, name)
            endpoint = self.runtime.endpoint(name)
            slot = endpoint.slot(version)
        except errors.ShipwayError as exc:
            return envelope(status_for(exc), exc.code, exc.message, v2=True)
        inputs = (
            [
                {"name": c.name, "datatype": oip.column_datatype(c.type), "shape": [-1]}
                for c in slot.codec.specs
            ]
            if slot.codec.tensor is None
            else [
                {
                    "name": "input",
                    "datatype": oip.datatype_of(np.zeros(0, slot.codec.tensor.dtype)),
                    "shape": list(slot.codec.tensor.shape),
                }
            ]
        )
        outputs = [{"name": "predict", "datatype": _predict_datatype(slot), "shape": [-1]}]
        if slot.has_proba:
            width = len(slot.codec.classes or []) or -1
            outputs.append({"name": "predict_proba", "datatype": "FP64", "shape": [-1, width]})
        body = {
            "name": name,
            "versions": [str(v) for v in sorted(endpoint.slots)],
            "platform": f"shipway_{slot.model.flavor}",
            "inputs": inputs,
            "outputs": outputs,
        }
        return Response(_dumps(body), 200, media_type="application/json")

    async def v2_model_ready(self, request: Request) -> Response:
        name = request.path_params["name"]
        try:
            version = _version(request.path_params.get("version"))
            endpoint = self.runtime.endpoint(name)
            endpoint.slot(version)
        except errors.ShipwayError as exc:
            return envelope(status_for(exc), exc.code, exc.message, v2=True)
        return Response(_dumps({"name": name, "ready": True}), 200, media_type="application/json")

    async def v2_server(self, request: Request) -> Response:
        body = {"name": "shipway", "version": __version__, "extensions": ["binary_tensor_data"]}
        return Response(_dumps(body), 200, media_type="application/json")

    # MLflow ------------------------------------------------------------------------------

    async def invocations(self, request: Request) -> Response:
        served = sorted(self.runtime.expected)
        name = request.query_params.get("model")
        if name is None:
            if len(served) != 1:
                return envelope(
                    400,
                    "invalid_input",
                    f"this server serves several models ({', '.join(served)}); choose one with "
                    "?model=NAME",
                    {"field": "model", "served": served},
                )
            name = served[0]
        content_type = request.headers.get("content-type", "application/json")

        def decode(slot: Slot, body: bytes) -> tuple[Rows, Any]:
            return slot.codec.from_invocations(body, content_type), None

        def encode(
            endpoint: Endpoint, slot: Slot, rid: str, parsed: Any, preds: Any, proba: Any
        ) -> Response:
            return Response(
                _dumps({"predictions": _plain(preds)}), 200, media_type="application/json"
            )

        return await self.predict(
            request, "mlflow", name, None, decode, encode, lambda parsed: False
        )

    # health, metrics, docs ------------------------------------------------------------------

    async def live(self, request: Request) -> Response:
        return Response(b'{"live":true}', 200, media_type="application/json")

    async def ready(self, request: Request) -> Response:
        v2 = request.url.path.startswith("/v2")
        if self.runtime.ready:
            return Response(b'{"ready":true}', 200, media_type="application/json")
        loading = sorted(set(self.runtime.expected) - set(self.runtime.endpoints))
        return envelope(
            503, "not_ready", f"still loading: {', '.join(loading)}", {"loading": loading}, v2=v2
        )

    async def metrics_route(self, request: Request) -> Response:
        body, content_type = self.metrics.exposition()
        return Response(body, 200, media_type=content_type)

    async def models(self, request: Request) -> Response:
        out = []
        for name in sorted(self.runtime.expected):
            endpoint = self.runtime.endpoints.get(name)
            if endpoint is None:
                out.append({"name": name, "ready": False})
                continue
            out.append(
                {
                    "name": name,
                    "ready": True,
                    "model": endpoint.primary.name,
                    "version": endpoint.primary.number,
                    "mode": endpoint.target.mode,
                    "candidate": None
                    if endpoint.candidate is None
                    else {
                        "model": endpoint.candidate.name,
                        "version": endpoint.candidate.number,
                        "percent": endpoint.target.percent,
                    },
                    "signature": None
                    if endpoint.primary.model.signature is None
                    else endpoint.primary.model.signature.to_dict(),
                }
            )
        return Response(_dumps({"models": out}), 200, media_type="application/json")

    async def openapi(self, request: Request) -> Response:
        return Response(_dumps(openapi_document(self.runtime)), 200, media_type="application/json")

    async def docs(self, request: Request) -> Response:
        return HTMLResponse(swagger_html("/openapi.json"))


def _plain(array: Any) -> Any:
    array = np.asarray(array)
    if array.dtype.kind in "OUSMm":
        return array.astype(object).tolist() if array.dtype.kind != "O" else array.tolist()
    return array


def _predict_datatype(slot: Slot) -> str:
    outputs = slot.model.signature.outputs if slot.model.signature is not None else ()
    kinds = {"int": "INT64", "float": "FP64", "bool": "BOOL"}
    for o in outputs:
        if o.name == "prediction":
            return kinds.get(o.type, "BYTES")
    return "FP64"


def _version(text: str | None) -> int | None:
    if text is None:
        return None
    if text.isascii() and text.isdigit() and 0 < int(text) < 2**63:
        return int(text)
    raise errors.InvalidInput(f"model version {text!r} must be a positive number")


def _request_id(request: Request) -> str:
    given = request.headers.get("x-request-id")
    if given and _REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


def create_app(runtime: Runtime) -> Starlette:
    """The ASGI app; models load (and warm up) during the lifespan start-up."""
    server = Server(runtime)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    def guarded(
        handler: Callable[[Request], Awaitable[Response]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def call(request: Request) -> Response:
            try:
                return await handler(request)
            except errors.ShipwayError as exc:
                v2 = request.url.path.startswith("/v2")
                return envelope(status_for(exc), exc.code, exc.message, exc.details, v2=v2)

        return call

    routes = [
        Route("/v1/models", server.models, methods=["GET"]),
        Route("/v1/models/{name}/predict", guarded(server.native), methods=["POST"]),
        Route(
            "/v1/models/{name}/versions/{version}/predict", guarded(server.native), methods=["POST"]
        ),
        Route("/v2", server.v2_server, methods=["GET"]),
        Route("/v2/health/live", server.live, methods=["GET"]),
        Route("/v2/health/ready", server.ready, methods=["GET"]),
        Route("/v2/models/{name}", server.v2_model, methods=["GET"]),
        Route("/v2/models/{name}/versions/{version}", server.v2_model, methods=["GET"]),
        Route("/v2/models/{name}/ready", server.v2_model_ready, methods=["GET"]),
        Route("/v2/models/{name}/versions/{version}/ready", server.v2_model_ready, methods=["GET"]),
        Route("/v2/models/{name}/infer", guarded(server.v2_infer), methods=["POST"]),
        Route(
            "/v2/models/{name}/versions/{version}/infer", guarded(server.v2_infer), methods=["POST"]
        ),
        Route("/invocations", server.invocations, methods=["POST"]),
        Route("/ping", server.ready, methods=["GET"]),
        Route("/health", server.ready, methods=["GET"]),
        Route("/health/live", server.live, methods=["GET"]),
        Route("/health/ready", server.ready, methods=["GET"]),
        Route("/metrics", server.metrics_route, methods=["GET"]),
        Route("/openapi.json", server.openapi, methods=["GET"]),
        Route("/docs", server.docs, methods=["GET"]),
    ]

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        v2 = request.url.path.startswith("/v2")
        if exc.status_code == 405:
            return envelope(
                405,
                "method_not_allowed",
                f"{request.method} is not allowed on {request.url.path}",
                v2=v2,
            )
        if exc.status_code == 404:
            return envelope(
                404,
                "not_found",
                f"no route {request.url.path}; see /docs (native), /v2 (Open Inference Protocol) "
                "or POST /invocations",
                v2=v2,
            )
        return envelope(exc.status_code, "http_error", str(exc.detail), v2=v2)

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)
        return envelope(
            500,
            "internal_error",
            "internal server error; see the server log",
            v2=request.url.path.startswith("/v2"),
        )

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )
    app.state.runtime = runtime
    return app
