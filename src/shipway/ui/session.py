"""Browser sessions: who a page's visitor is, and the CSRF check on every form.

Signing in (with auth on) stores the visitor's API token in the ``shipway_session``
cookie: HttpOnly (no script can read it), SameSite=Strict (no other site's page can make
the browser send it) and Secure when the server is reached over HTTPS. A request with an
``Authorization`` header (a script, the CLI) is answered as that token's user instead.

Every form also carries a CSRF token, checked against the ``shipway_csrf`` cookie (the
double-submit pattern): a page on another site cannot read the cookie, so it cannot
forge the field; and a form posted from another origin (``Origin``, ``Sec-Fetch-Site``)
is refused outright, since a page on another port of the same host could set the
cookie. The checks apply with auth off too, where any visitor is trusted: a hostile page
must not be able to promote a model through a browser on localhost.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from shipway.errors import PermissionDenied

SESSION = "shipway_session"
CSRF = "shipway_csrf"
FIELD = "csrf"  # the form field holding the CSRF token
HEADER = "x-csrf-token"  # or this header (scripts' requests)


def authorization(request: Request) -> str | None:
    """The request's credentials as an ``Authorization`` value: its header, else the
    session cookie's token."""
    header = request.headers.get("authorization")
    if header:
        return header
    token = request.cookies.get(SESSION)
    return f"Bearer {token}" if token else None


def csrf_token(request: Request) -> str:
    """This visitor's CSRF token (a new one when the browser has none yet; ``remember``
    sets its cookie on the response)."""
    token = getattr(request.state, "csrf", None) or request.cookies.get(CSRF)
    if not token:
        token = secrets.token_urlsafe(32)
    request.state.csrf = token
    return str(token)


def remember(request: Request, response: Response) -> None:
    """Set the CSRF cookie on ``response`` if the browser does not have it yet."""
    token = getattr(request.state, "csrf", None)
    if token and request.cookies.get(CSRF) != token:
        response.set_cookie(CSRF, token, **_cookie_flags(request))


def check_csrf(request: Request, form: Any) -> None:
    """Refuse a form posted from another origin (a browser says where a request comes
    from in ``Sec-Fetch-Site`` and ``Origin``: another port of the same host is another
    origin, though cookies do not tell them apart), or whose CSRF token is missing or is
    not the browser's."""
    site = request.headers.get("sec-fetch-site")
    here = f"{request.url.scheme}://{request.url.netloc}"
    origin = request.headers.get("origin")
    if (site and site not in ("same-origin", "none")) or (origin and origin != here):
        raise PermissionDenied(
            f"this form was posted from another site ({origin or site}); "
            "only the workspace's own pages may post its forms"
        )
    sent = str(form.get(FIELD) or request.headers.get(HEADER) or "")
    expected = request.cookies.get(CSRF) or ""
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        raise PermissionDenied(
            "this form's CSRF token is missing or stale: reload the page and submit it again"
        )


def sign_in(request: Request, response: Response, token: str) -> None:
    response.set_cookie(SESSION, token, **_cookie_flags(request))


def sign_out(request: Request, response: Response) -> None:
    flags = _cookie_flags(request)
    response.delete_cookie(SESSION, path="/", secure=flags["secure"], httponly=True)


def _cookie_flags(request: Request) -> dict[str, Any]:
    return {
        "httponly": True,
        "samesite": "strict",
        "secure": request.url.scheme == "https",
        "path": "/",
    }
