"""The platform API's error envelope ``{"error": {"code", "message", "details"}}`` — for
shipway's own errors (their status from the table in :mod:`shipway.http_status`, which the
inference server shares) and for the framework's (malformed JSON, validation errors,
unknown routes, wrong methods)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from shipway import errors
from shipway.api.responses import JSON
from shipway.http_status import status_for
from shipway.ui.web import error_page

log = logging.getLogger("shipway.api")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def envelope(status: int, code: str, message: str, details: Any = None) -> JSON:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSON(
        {"error": {"code": code, "message": message, "details": details}},
        status_code=status,
        headers=headers,
    )


def _validation_details(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    problems = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        problems.append({"field": ".".join(loc), "problem": err.get("msg", "invalid")})
    if any(e.get("type") == "json_invalid" for e in exc.errors()):
        return "the request body is not valid JSON; send a JSON object", problems
    first = problems[0] if problems else {"field": "", "problem": "invalid"}
    where = f"field {first['field']!r}: " if first["field"] else ""
    return f"invalid request: {where}{first['problem']}", problems


def _for_a_browser(request: Request) -> bool:
    """A page of the workspace asked for by a browser (not the API, not a data route)."""
    path = request.url.path
    api = path.startswith(("/api/", "/ui/", "/docs", "/openapi.json"))
    return not api and "text/html" in request.headers.get("accept", "")


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.ShipwayError)
    async def _shipway(_: Request, exc: errors.ShipwayError) -> JSON:
        return envelope(status_for(exc), exc.code, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        message, problems = _validation_details(exc)
        if _for_a_browser(request):  # a page's bad query parameter: an HTML error page
            return error_page(request, errors.InvalidInput(message, details=problems))
        return envelope(400, "invalid_input", message, problems)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if isinstance(exc.__cause__, errors.ShipwayError):  # e.g. a body over the limit
            cause = exc.__cause__
            return envelope(status_for(cause), cause.code, cause.message, cause.details)
        message = str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            if _for_a_browser(request):
                where = request.url.path
                return error_page(request, errors.NotFound(f"there is no page at {where}"))
            message = f"no route {request.method} {request.url.path}; see /docs for the API"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}; see /docs"
        return envelope(exc.status_code, _HTTP_CODES.get(exc.status_code, "http_error"), message)

    @app.exception_handler(OverflowError)
    async def _overflow(_: Request, exc: OverflowError) -> JSON:
        return envelope(400, "invalid_input", f"a number is out of range ({exc}); use 1 … 2^63-1")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSON:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return envelope(
            500, "internal", f"internal error ({type(exc).__name__}); see the server log"
        )
