"""How an operation is declared: a method of a domain's surface (a ``Protocol``) marked
with ``@op``. The surface's signature is the operation's typed inputs and output; ``@op``
adds what the other faces need: the HTTP method and path, the role, the audit event, the
statuses it can answer and how its result travels.

>>> class Registry(Protocol):
...     @op("POST", "/models/{name}/aliases/{alias}/rollback", role="data-scientist",
...         event="move_alias", errors=(NotFound, Conflict))
...     def rollback(self, name: str, alias: str, reason: str = "") -> AliasEvent:
...         "Move an alias back to its previous version."

The service satisfies the surface (mypy checks it where the in-process client is built),
the API registers one route per declaration (``shipway.api.operations``) and the remote
client calls it over one HTTP session (``shipway.client.remote``).
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import typing
from collections.abc import Callable
from typing import Any, TypeVar

from shipway.errors import ShipwayError
from shipway.records import ROLES

F = TypeVar("F", bound=Callable[..., Any])

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_PATH_PARAM = re.compile(r"{(\w+)(?::path)?}")


@dataclasses.dataclass(frozen=True)
class Route:
    """What ``@op`` records about one operation."""

    method: str
    path: str  # under /api/v1; ``{name}`` segments are the path parameters
    role: str  # the least role that may call it (viewer < data-scientist < developer < admin)
    summary: str = ""
    event: str | None = None  # the audit event the service records
    status: int = 200
    errors: tuple[type[ShipwayError], ...] = ()
    key: str | None = None  # a list result travels as {key: [...], "next_cursor": ...}
    extras: tuple[str, ...] = ()  # a (record, x, ...) result travels as {**record, extras...}
    # a query parameter -> its name on the wire (e.g. "a" -> "from"); body fields keep theirs
    wire: dict[str, str] = dataclasses.field(default_factory=dict)
    media: str = "application/json"  # a str result may travel as text/plain or text/markdown


@dataclasses.dataclass(frozen=True)
class Param:
    name: str
    hint: Any  # the resolved annotation (may be typing.Annotated with pydantic constraints)
    default: Any  # inspect.Parameter.empty when required
    where: str  # "path", "query" or "body"
    wire: str  # the name on the wire (a query alias such as "from")

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty


@dataclasses.dataclass(frozen=True)
class Operation:
    surface: str  # the attribute of Services (and of the client) that holds it: "registry"
    method: str  # the method name, the same on the service, the surface and the client
    route: Route
    params: tuple[Param, ...]
    returns: Any
    doc: str
    signature: inspect.Signature

    @property
    def name(self) -> str:
        return f"{self.surface}.{self.method}"

    @property
    def path_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.where == "path")


def op(
    method: str,
    path: str,
    *,
    role: str,
    summary: str = "",
    event: str | None = None,
    status: int = 200,
    errors: tuple[type[ShipwayError], ...] = (),
    key: str | None = None,
    extras: tuple[str, ...] = (),
    wire: dict[str, str] | None = None,
    media: str = "application/json",
) -> Callable[[F], F]:
    """Declare the surface method below as a platform operation (see the module docstring)."""
    if method not in METHODS:
        raise ValueError(f"HTTP method {method!r} is not one of {METHODS}")
    if role not in ROLES:
        raise ValueError(f"role {role!r} is not one of {ROLES}")
    route = Route(
        method, path, role, summary, event, status, errors, key, extras, wire or {}, media
    )

    def mark(fn: F) -> F:
        fn.__shipway_route__ = route  # type: ignore[attr-defined]
        return fn

    return mark


def operations_of(surface_name: str, protocol: type) -> list[Operation]:
    """Every ``@op`` method of ``protocol``, in declaration order."""
    found = []
    for attr, fn in vars(protocol).items():
        route: Route | None = getattr(fn, "__shipway_route__", None)
        if route is None:
            continue
        hints = typing.get_type_hints(fn, include_extras=True)
        in_path = set(_PATH_PARAM.findall(route.path))
        params = []
        for p in list(inspect.signature(fn).parameters.values())[1:]:  # skip self
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise TypeError(f"{surface_name}.{attr}: *args/**kwargs cannot be declared")
            if p.name in in_path:
                where = "path"
            else:
                where = "query" if route.method in ("GET", "DELETE") else "body"
            wire_name = route.wire.get(p.name, p.name)
            params.append(Param(p.name, hints[p.name], p.default, where, wire_name))
        missing = in_path - {p.name for p in params}
        if missing:
            raise TypeError(f"{surface_name}.{attr}: path {route.path} names {sorted(missing)}")
        doc = inspect.getdoc(fn) or ""
        signature = inspect.signature(fn)
        found.append(
            Operation(surface_name, attr, route, tuple(params), hints["return"], doc, signature)
        )
    return found
