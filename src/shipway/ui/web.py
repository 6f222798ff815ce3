"""What every page shares: the templates, the security headers, who the visitor is, the
``page`` decorator for pages that read and the ``action`` decorator for forms that write.

A page reads through the services acting as the visitor (``Services.as_caller``, as the
API does); an error it meets becomes an HTML page with the error's status and message
(a 404 for an unknown id, a 403 naming the role needed, a 401 that offers to sign in),
never a traceback. A form posts to an action, which checks the CSRF token, calls one
declared operation as the visitor and redirects back to the page it came from (so a
reload does not post twice); a refusal (a role, a promotion policy) is an error page
with the reasons and a way back.
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
import math
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from shipway import errors
from shipway.accounts import role_allows
from shipway.http_status import status_for
from shipway.operations import all_operations
from shipway.records import Run
from shipway.services import Services
from shipway.ui import markdown, session

CSP = (
    "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; "
    "object-src 'none'"
)
MAX_FORM = 64 * 1024  # bytes of a posted form
ENV = Environment(
    loader=PackageLoader("shipway.ui", "templates"),
    autoescape=select_autoescape(["html"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
ROLE_OF = {o.name: o.route.role for o in all_operations()}  # "contracts.promote" -> role


def _when(ms: int | None) -> str:
    if ms is None:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M")


def _number(value: Any) -> str:
    """A value as a person reads it: floats to 4 significant digits, mappings as
    ``key value`` pairs, lists comma-separated."""
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_number(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_number(v) for v in value)
    return "" if value is None else str(value)


def _duration(run: Run) -> str:
    if run.end_time is None:
        return ""
    seconds = (run.end_time - run.start_time) / 1000
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _filesize(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return str(size)


ENV.filters.update(when=_when, number=_number, filesize=_filesize)
ENV.globals.update(duration=_duration, markdown=markdown.render)


def render(template: str, code: int = 200, **context: Any) -> HTMLResponse:
    """A page with the workspace's security headers, answered with status ``code``.
    ``context`` holds ``request``; the page learns the visitor (``who``), their CSRF
    token (``csrf``) and ``can("surface.operation")``: whether their role may call it."""
    request: Request = context["request"]
    role = getattr(request.state, "role", None)
    context.setdefault("who", getattr(request.state, "user", None))
    context.setdefault("role", role)
    context.setdefault("auth", _auth_on(request))
    context["csrf"] = session.csrf_token(request)
    context["can"] = lambda operation: role is not None and role_allows(role, ROLE_OF[operation])
    response = HTMLResponse(ENV.get_template(template).render(**context), status_code=code)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    session.remember(request, response)
    return response


def caller(request: Request, role: str) -> Services:
    """The services acting as the request's caller, once their role allows ``role``."""
    base: Services = request.app.state.services
    services = base.as_caller(
        session.authorization(request), request.headers.get("x-shipway-user"), role
    )
    request.state.user, request.state.role = services.actor, services.role
    return services


def error_page(request: Request, exc: errors.ShipwayError) -> HTMLResponse:
    status = status_for(exc)
    if isinstance(exc, errors.Unauthenticated):
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return render("signin.html", status, request=request, problem=exc.message, next=here)
    return render(
        "error.html", status, status=status, error=exc, request=request, back=_back(request)
    )


def page(role: str) -> Callable[[Callable[..., HTMLResponse]], Callable[..., HTMLResponse]]:
    """A page handler that gets the services acting as the caller (``role`` at least)
    as its first argument after the request; errors become error pages."""

    def decorate(handler: Callable[..., HTMLResponse]) -> Callable[..., HTMLResponse]:
        @functools.wraps(handler)
        def run(request: Request, *args: Any, **kwargs: Any) -> HTMLResponse:
            try:
                return handler(request, caller(request, role), *args, **kwargs)
            except errors.ShipwayError as exc:
                return error_page(request, exc)

        _hide_services(run, handler)
        return run

    return decorate


Form = dict[str, str]
PAGE = 100  # items a list page shows


def keyset_page(
    items: Sequence[Any], key: Callable[[Any], Any], after: Any
) -> tuple[list[Any], Any]:
    """One page of ``items`` (sorted by ``key``) after the key ``after`` (None: the first),
    and the key to ask for the next page with (None: this is the last)."""
    ordered = sorted(items, key=key)
    rest = ordered if after is None else [i for i in ordered if key(i) > after]
    shown = rest[:PAGE]
    return shown, (key(shown[-1]) if len(rest) > PAGE else None)


def action(
    operation: str,
) -> Callable[[Callable[..., str]], Callable[..., Awaitable[Response]]]:
    """A form handler calling the declared ``operation`` ("contracts.promote"): it gets
    the services acting as the caller (with the role the operation declares) and the
    posted form, after the CSRF check, and returns the path to go back to."""
    role = ROLE_OF[operation]

    def decorate(handler: Callable[..., str]) -> Callable[..., Awaitable[Response]]:
        @functools.wraps(handler)
        async def run(request: Request, *args: Any, **kwargs: Any) -> Response:
            try:
                form = await read_form(request)
                session.check_csrf(request, form)
                services = caller(request, role)
                back = await run_in_threadpool(handler, request, services, form, *args, **kwargs)
            except errors.ShipwayError as exc:
                return error_page(request, exc)
            return RedirectResponse(back, status_code=303)

        _hide_services(run, handler, also=("form",))
        return run

    return decorate


async def read_form(request: Request) -> Form:
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    if kind != "application/x-www-form-urlencoded":
        raise errors.InvalidInput("send the form as application/x-www-form-urlencoded")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM:
            raise errors.InvalidInput(f"the form is larger than {MAX_FORM // 1024} KB")
    try:
        fields = parse_qs(body.decode(), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise errors.InvalidInput("the form is not UTF-8 text") from None
    return {k: v[-1] for k, v in fields.items()}


def field(form: Form, name: str, *, required: bool = True) -> str:
    value = form.get(name, "").strip()
    if required and not value:
        raise errors.InvalidInput(f"fill in {name!r}")
    return value


def number(form: Form, name: str, *, required: bool = True) -> int | None:
    """A whole number from the form (None for an empty optional field)."""
    value = field(form, name, required=required)
    if not value and not required:
        return None
    if not re.fullmatch(r"[0-9]{1,18}", value):
        raise errors.InvalidInput(f"{name!r} must be a whole number, got {value!r}")
    return int(value)


def local_path(path: str) -> str:
    """``path`` if it is a path on this server, else ``/``: where a redirect or a "back"
    link may go (never to another site, not even by ``//host``)."""
    return path if path.startswith("/") and not path.startswith("//") else "/"


def _back(request: Request) -> str:
    """Where an error page's "back" link goes: the page the form was on (same server)."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc and referer.netloc != request.url.netloc:
        return "/"
    return local_path((referer.path or "/") + (f"?{referer.query}" if referer.query else ""))


def _auth_on(request: Request) -> bool:
    services: Services = request.app.state.services
    return bool(services.settings.auth)


def _hide_services(run: Any, handler: Callable[..., Any], also: tuple[str, ...] = ()) -> None:
    """FastAPI reads the parameters from the signature: drop the ones the decorator
    passes itself."""
    signature = inspect.signature(handler)
    hidden = {"services", *also}
    params = [p for name, p in signature.parameters.items() if name not in hidden]
    run.__signature__ = signature.replace(parameters=params)
