"""The remote face of every declared operation: a surface whose methods turn their
arguments into one HTTP request through the session and decode the answer, by the same
declaration and wire rules the API's routes were generated from.

>>> registry = cast(Registry, RemoteSurface(session, operations_of("registry", Registry)))
>>> registry.rollback("churn", "production")     # POST /models/churn/aliases/production/rollback
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast
from urllib.parse import quote

from shipway.client.session import Session
from shipway.errors import InvalidInput
from shipway.operations import (
    Accounts,
    Contracts,
    Datasets,
    Deployments,
    Monitoring,
    Operation,
    Pipelines,
    Predictions,
    Registry,
    Tracking,
    operations_of,
)
from shipway.operations.wire import decode_result, encode


class RemoteSurface:
    def __init__(self, session: Session, operations: list[Operation]) -> None:
        self._session = session
        self._operations = {o.method: o for o in operations}

    def __getattr__(self, name: str) -> Callable[..., Any]:
        try:
            operation = self._operations[name]
        except KeyError:
            raise AttributeError(name) from None

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._call(operation, args, kwargs)

        call.__name__ = name
        call.__doc__ = operation.doc
        return call

    def __dir__(self) -> list[str]:
        return sorted(self._operations)

    def _call(self, operation: Operation, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            bound = operation.signature.bind(None, *args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{operation.name}(): {exc}") from None
        bound.apply_defaults()
        values = dict(list(bound.arguments.items())[1:])
        route = operation.route
        path = route.path
        query: dict[str, Any] = {}
        body: dict[str, Any] = {}
        for p in operation.params:
            value = values[p.name]
            if p.where == "path" and "{" + p.name + ":path}" in path:
                path = path.replace("{" + p.name + ":path}", quote(str(value), safe="/"))
            elif p.where == "path":
                path = path.replace("{" + p.name + "}", _segment(operation, p.name, value))
            elif p.where == "query":
                if value is not None:
                    query[p.wire] = encode(value)
            else:
                body[p.name] = encode(value)
        send_body = body if route.method in ("POST", "PUT", "PATCH") else None
        if route.media != "application/json":
            response = self._session.send(route.method, path, params=query, json=send_body)
            return response.text
        data = self._session.json(route.method, path, params=query, json=send_body)
        return decode_result(operation, data)


def _segment(operation: Operation, name: str, value: Any) -> str:
    text = str(value)
    if "/" in text or not text.strip():
        raise InvalidInput(
            f"{operation.name}: {name} {text!r} cannot name an object (empty, or with a '/')"
        )
    return quote(text, safe="")


class RemotePlatform:
    """Every declared surface over one session (satisfies ``Platform``)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.tracking = cast(Tracking, _surface(session, "tracking", Tracking))
        self.registry = cast(Registry, _surface(session, "registry", Registry))
        self.accounts = cast(Accounts, _surface(session, "accounts", Accounts))
        self.datasets = cast(Datasets, _surface(session, "datasets", Datasets))
        self.deployments = cast(Deployments, _surface(session, "deployments", Deployments))
        self.predictions = cast(Predictions, _surface(session, "predictions", Predictions))
        self.contracts = cast(Contracts, _surface(session, "contracts", Contracts))
        self.monitoring = cast(Monitoring, _surface(session, "monitoring", Monitoring))
        self.pipelines = cast(Pipelines, _surface(session, "pipelines", Pipelines))


def _surface(session: Session, name: str, protocol: type) -> RemoteSurface:
    return RemoteSurface(session, operations_of(name, protocol))
