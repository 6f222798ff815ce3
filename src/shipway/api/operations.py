"""The platform API's routes, generated from the declared operations: one route per
declaration, its inputs validated by pydantic from the surface's type hints, its caller's
role checked, the service method called as the caller, and its result encoded by the wire
rules both ends share (``shipway.operations.wire``)."""

from __future__ import annotations

import inspect
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, create_model
from starlette.responses import Response

from shipway.api.auth import require
from shipway.api.responses import JSON
from shipway.errors import InvalidInput
from shipway.http_status import STATUS
from shipway.operations import Operation
from shipway.operations.wire import encode_result, strip
from shipway.services import Services


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorEnvelope(BaseModel):
    """Every error answer of the platform API."""

    error: ErrorBody


_MEANING = {
    400: "invalid input: the message names the field, the value and the fix",
    401: "no token, or an unknown or revoked one (servers with authentication on)",
    403: "the caller's role does not allow this",
    404: "no such object (the message says which, and how to list them)",
    409: "conflicts with the current state (the message says what to do instead)",
    413: "the request body is over the server's limit",
}


def add_routes(router: APIRouter, operations: list[Operation]) -> None:
    for operation in operations:
        route = operation.route
        router.add_api_route(
            route.path,
            endpoint(operation),
            methods=[route.method],
            status_code=route.status,
            summary=route.summary or operation.doc.split("\n", 1)[0],
            description=_description(operation),
            tags=[operation.surface],
            name=operation.name,
            operation_id=operation.name.replace(".", "_"),
            responses=_responses(operation),
        )


def endpoint(operation: Operation) -> Any:
    body = _body_model(operation)
    parameters = []
    for p in operation.params:
        if p.where == "path":
            annotation: Any = Annotated[strip(p.hint), Path()]
            parameters.append(inspect.Parameter(p.name, _KW, annotation=annotation))
        elif p.where == "query":
            alias = p.wire if p.wire != p.name else None
            annotation = Annotated[p.hint, Query(alias=alias)]
            default = inspect.Parameter.empty if p.required else p.default
            parameter = inspect.Parameter(p.name, _KW, annotation=annotation, default=default)
            parameters.append(parameter)
    if body is not None:
        optional = all(not p.required for p in operation.params if p.where == "body")
        default = None if optional else inspect.Parameter.empty
        parameters.append(inspect.Parameter("body", _KW, annotation=body, default=default))
    role = Depends(require(operation.route.role))
    parameters.append(inspect.Parameter("services", _KW, annotation=Services, default=role))
    parameters.append(inspect.Parameter("request", _KW, annotation=Request))
    surface, method = operation.surface, operation.method
    known = {p.wire for p in operation.params if p.where == "query"}

    def call(**kwargs: Any) -> Response:
        services: Services = kwargs.pop("services")
        _refuse_unknown(kwargs.pop("request"), known)
        given = kwargs.pop("body", None)
        if given is not None:
            kwargs.update({name: getattr(given, name) for name in type(given).model_fields})
        result = getattr(getattr(services, surface), method)(**kwargs)
        return _response(operation, result)

    call.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    call.__name__ = method
    call.__doc__ = operation.doc
    return call


_KW = inspect.Parameter.KEYWORD_ONLY


def _refuse_unknown(request: Request, known: set[str]) -> None:
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        takes = ", ".join(sorted(known)) or "none"
        raise InvalidInput(
            f"unknown query parameter {unknown[0]!r} for {request.method} {request.url.path}; "
            f"it takes: {takes}",
            details=[{"field": name, "problem": "unknown query parameter"} for name in unknown],
        )


def _body_model(operation: Operation) -> type[BaseModel] | None:
    fields: dict[str, Any] = {
        p.name: (p.hint, ... if p.required else p.default)
        for p in operation.params
        if p.where == "body"
    }
    if not fields:
        return None
    name = "".join(part.title() for part in operation.name.replace(".", "_").split("_"))
    config = ConfigDict(extra="forbid", protected_namespaces=(), arbitrary_types_allowed=True)
    model: type[BaseModel] = create_model(name, __config__=config, **fields)
    return model


def _response(operation: Operation, result: Any) -> Response:
    route = operation.route
    if route.media != "application/json":
        return Response(str(result), status_code=route.status, media_type=route.media)
    return JSON(encode_result(operation, result), status_code=route.status)


def _statuses(operation: Operation) -> set[int]:
    found = {400, 401}
    if operation.route.role != "viewer":
        found.add(403)
    if operation.path_params:
        found.add(404)
    if operation.route.method in ("POST", "PUT", "PATCH"):
        found.add(413)
    for error in operation.route.errors:
        found.add(next((STATUS[c] for c in error.__mro__ if c in STATUS), 500))
    return found


def _responses(operation: Operation) -> dict[int | str, dict[str, Any]]:
    return {
        status: {"model": ErrorEnvelope, "description": _MEANING.get(status, _meaning(status))}
        for status in sorted(_statuses(operation))
    }


def _meaning(status: int) -> str:
    names = [cls.__name__ for cls, code in STATUS.items() if code == status]
    return ", ".join(names) or "error"


def _description(operation: Operation) -> str:
    parts = [operation.doc] if operation.doc else []
    parts.append(f"Needs the **{operation.route.role}** role.")
    if operation.route.event:
        parts.append(f"Records the audit event `{operation.route.event}`.")
    return "\n\n".join(parts)


def document_hand_written(router: APIRouter) -> None:
    """The routes written by hand (streaming bodies, files, HTML) document the error
    statuses they can answer too, each with the envelope's schema. Call it before the
    generated routes are added."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        found = {400, 401}
        methods = route.methods or set()
        if "{" in route.path:
            found.add(404)
        if methods & {"POST", "PUT", "PATCH", "DELETE"}:
            found.update({403, 409})
        if methods & {"POST", "PUT", "PATCH"}:
            found.add(413)
        for status in sorted(found):
            route.responses.setdefault(
                status, {"model": ErrorEnvelope, "description": _MEANING[status]}
            )


def without_framework_422(app: FastAPI) -> None:
    """The platform API answers invalid input with 400 and the error envelope (see
    api/errors.py), never FastAPI's 422 body: drop the 422 FastAPI documents itself."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = build()
            for methods in spec.get("paths", {}).values():
                for operation in methods.values():
                    operation.get("responses", {}).pop("422", None)
            schemas = spec.get("components", {}).get("schemas", {})
            schemas.pop("HTTPValidationError", None)
            schemas.pop("ValidationError", None)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
