"""What every MLflow route shares: reading its fields, acting as the caller, answering
in MLflow's JSON and MLflow's error shape."""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from shipway import errors
from shipway.records import Experiment
from shipway.services import Services
from shipway.tracking.service import DEFAULT_EXPERIMENT

DEFAULT_ID = "0"  # MLflow's Default experiment
INVALID = "INVALID_PARAMETER_VALUE"
MAX_RESULTS = 50_000
# shipway's error -> MLflow's error_code and HTTP status; the first match wins
CODES: list[tuple[type[errors.ShipwayError], str, int]] = [
    (errors.NotFound, "RESOURCE_DOES_NOT_EXIST", 404),
    (errors.ParamConflict, INVALID, 400),  # a changed param: MLflow's code for it
    (errors.PromotionRefused, "PERMISSION_DENIED", 403),
    (errors.Conflict, "RESOURCE_ALREADY_EXISTS", 400),
    (errors.Unauthenticated, "UNAUTHENTICATED", 401),
    (errors.PermissionDenied, "PERMISSION_DENIED", 403),
    (errors.PayloadTooLarge, INVALID, 400),
    (errors.MissingDependency, "NOT_IMPLEMENTED", 501),
]


CLAUSE = re.compile(
    r"""^(?P<field>name|tags?\.(`[^`]+`|"[^"]+"|[\w.]+))\s*(?P<op>=|!=|LIKE|ILIKE)\s*"""
    r"""(?P<q>['"])(?P<value>.*)(?P=q)$""",
    re.IGNORECASE,
)


class MlflowError(Exception):
    """An error with MLflow's own code (``RESOURCE_DOES_NOT_EXIST``, …)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def not_found(message: str) -> MlflowError:
    return MlflowError("RESOURCE_DOES_NOT_EXIST", message, 404)


def answer(body: dict[str, Any], status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def error(exc: Exception) -> Response:
    if isinstance(exc, MlflowError):
        return answer({"error_code": exc.code, "message": exc.message}, exc.status)
    assert isinstance(exc, errors.ShipwayError)
    code, status = INVALID, 400
    for kind, name, number in CODES:
        if isinstance(exc, kind):
            code, status = name, number
            break
    return answer({"error_code": code, "message": exc.message}, status)


async def read_fields(request: Request) -> dict[str, Any]:
    """The request's fields: the query of a GET (a repeated key is a list), the JSON body
    of the others (DELETE too), and the path's own parameters."""
    fields: dict[str, Any]
    if request.method == "GET":
        fields = {}
        for key, value in request.query_params.multi_items():
            if key in fields:
                old = fields[key]
                fields[key] = [*old, value] if isinstance(old, list) else [old, value]
            else:
                fields[key] = value
    else:
        raw = await request.body()
        try:
            fields = orjson.loads(raw) if raw.strip() else {}
        except orjson.JSONDecodeError:
            raise MlflowError("MALFORMED_REQUEST", "the body is not valid JSON") from None
        if not isinstance(fields, dict):
            raise MlflowError("MALFORMED_REQUEST", "the body must be a JSON object")
    fields.update(request.path_params)
    return fields


def caller(request: Request, fields: dict[str, Any], role: str) -> Services:
    """The services as the caller, who needs ``role``: with auth on, the bearer token (or
    Basic user and token) the client sends; with auth off, the ``user_id`` it names."""
    base: Services = request.app.state.services
    user = fields.get("user_id") if isinstance(fields.get("user_id"), str) else None
    authorization = request.headers.get("authorization")
    basic_user = None
    if authorization and authorization[:6].lower() == "basic ":
        basic_user, token = _basic(authorization[6:])
        authorization = f"Bearer {token}"  # MLFLOW_TRACKING_USERNAME and _PASSWORD
    services = base.as_caller(authorization, user, role)
    if base.settings.auth and basic_user is not None and basic_user != services.actor:
        raise errors.Unauthenticated(
            f"the token given as the password is {services.actor!r}'s, not {basic_user!r}'s"
        )
    return services


def _basic(encoded: str) -> tuple[str, str]:
    try:
        user, sep, token = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        sep = ""
    if not sep:
        raise errors.Unauthenticated(
            "Basic credentials must be base64 of 'user:token' (MLFLOW_TRACKING_USERNAME and "
            "MLFLOW_TRACKING_PASSWORD, a shipway token)"
        )
    return user, token


def route(role: str) -> Callable[..., Callable[[Request], Any]]:
    """A handler getting the services as the caller and the request's fields; errors
    answer in MLflow's shape."""

    def decorate(handler: Callable[[Services, dict[str, Any]], dict[str, Any]]) -> Any:
        async def run(request: Request) -> Response:  # FastAPI reads this signature
            try:
                fields = await read_fields(request)
                services = caller(request, fields, role)
                return answer(await run_in_threadpool(handler, services, fields))
            except (MlflowError, errors.ShipwayError) as exc:
                return error(exc)

        run.__name__ = handler.__name__
        run.__doc__ = handler.__doc__
        return run

    return decorate


class Routes:
    """Plain Starlette routes under ``prefix``: the MLflow handlers read their request
    themselves, so FastAPI's parameter solving would only add time to every call."""

    def __init__(self, app: FastAPI, prefix: str) -> None:
        self.app, self.prefix = app, prefix

    def add(self, method: str, path: str, endpoint: Callable[[Request], Any]) -> None:
        self.app.router.add_route(
            self.prefix + path, endpoint, methods=[method], include_in_schema=False
        )


def mlflow_experiment_id(name: str, experiment_id: int) -> str:
    """The id MLflow's client knows an experiment by: shipway's Default answers to "0"."""
    return DEFAULT_ID if name == DEFAULT_EXPERIMENT else str(experiment_id)


def offset_page(
    items: Sequence[Any], fields: dict[str, Any], key: str, limit: int, show: Callable[[Any], Any]
) -> dict[str, Any]:
    """One page of a list the route holds whole: ``page_token`` is the offset."""
    token = str(fields.get("page_token") or "0")
    start = int(token) if token.isdigit() else 0
    answer: dict[str, Any] = {key: [show(i) for i in items[start : start + limit]]}
    if start + limit < len(items):
        answer["next_page_token"] = str(start + limit)
    return answer


def need(fields: dict[str, Any], name: str) -> Any:
    value = fields.get(name)
    if value in (None, ""):
        raise MlflowError(INVALID, f"Missing value for required parameter '{name}'")
    return value


def number(fields: dict[str, Any], name: str, default: int, most: int) -> int:
    """An integer field (a string in a GET query) within 1..most."""
    raw = fields.get(name)
    try:
        value = default if raw in (None, "") else int(raw)
    except (TypeError, ValueError):
        raise MlflowError(INVALID, f"'{name}' must be an integer, got {raw!r}") from None
    if not 1 <= value <= most:
        raise MlflowError(INVALID, f"'{name}' must be 1 to {most}, got {value}")
    return value


def pairs(items: Any, name: str) -> dict[str, str]:
    """MLflow's ``[{key, value}]`` list as a dict."""
    if items in (None, ""):
        return {}
    if not isinstance(items, list) or not all(isinstance(i, dict) and "key" in i for i in items):
        raise MlflowError(INVALID, f"'{name}' must be a list of {{key, value}}")
    return {str(i["key"]): str(i.get("value", "")) for i in items}


def key_values(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in sorted(values.items())]


def proto_float(value: float) -> float | str:
    """proto3 JSON: NaN and the infinities are strings."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def as_list(value: Any) -> list[Any]:
    if value in (None, ""):
        return []
    return value if isinstance(value, list) else [value]


def experiment_ref(services: Services, experiment_id: Any) -> Experiment:
    text = str(experiment_id)
    if text == DEFAULT_ID:
        return services.tracking.get_or_create_experiment(DEFAULT_EXPERIMENT)
    if not text.isdigit():
        raise MlflowError(INVALID, f"experiment id {text!r} is not a number")
    try:
        return services.tracking.get_experiment(int(text))
    except errors.NotFound:
        raise not_found(f"No Experiment with id={text} exists") from None


def name_filter(text: Any) -> Callable[[str, dict[str, str]], bool]:
    """MLflow's filters on experiments and registered models, as a test of (name, tags):
    clauses on the name (``name = 'x'``, ``!=``, ``LIKE 'x%'``, ``ILIKE``) and on tags
    (``tags.team = 'growth'``, ``tag.`key` != 'v'``), joined by AND."""
    if not text:
        return lambda name, tags: True
    tests = [_clause(c.strip()) for c in re.split(r"\s+AND\s+", str(text), flags=re.I)]
    return lambda name, tags: all(test(name, tags) for test in tests)


def _clause(text: str) -> Callable[[str, dict[str, str]], bool]:
    match = CLAUSE.match(text)
    if not match:
        raise MlflowError(
            INVALID,
            f"filter {text!r}: shipway filters experiments and models on the name and tags "
            "(name = 'churn', name LIKE 'churn%', tags.team = 'growth'), joined by AND",
        )
    field, op, value = match.group("field"), match.group("op").upper(), match.group("value")
    if field.lower() == "name":
        get: Callable[[str, dict[str, str]], str | None] = lambda name, tags: name  # noqa: E731
    else:
        key = field.split(".", 1)[1].strip('`"')
        get = lambda name, tags: tags.get(key)  # noqa: E731
    if op in ("=", "!="):
        return lambda name, tags: (get(name, tags) == value) == (op == "=")
    pattern = re.compile(
        "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in value),
        re.IGNORECASE if op == "ILIKE" else 0,
    )
    return lambda name, tags: (
        (found := get(name, tags)) is not None and bool(pattern.fullmatch(found))
    )
