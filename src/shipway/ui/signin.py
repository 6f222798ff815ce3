"""Sign-in and sign-out: with auth on, a visitor signs in with an API token (an admin
makes one with ``shipway tokens create USER``); it is kept in an HttpOnly, SameSite=Strict
cookie (``session.py``). With auth off there is nothing to sign in to."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shipway import errors
from shipway.services import Services
from shipway.ui import session
from shipway.ui.web import error_page, local_path, read_form, render

router = APIRouter(include_in_schema=False)


@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request, next: str = "/") -> HTMLResponse:
    return render("signin.html", request=request, next=local_path(next), problem=None)


@router.post("/signin")
async def signin(request: Request) -> Response:
    try:
        form = await read_form(request)
        session.check_csrf(request, form)
        services: Services = request.app.state.services
        back = local_path(form.get("next", "/"))
        if not services.settings.auth:
            return RedirectResponse(back, status_code=303)
        token = form.get("token", "").strip()
        if not token:
            raise errors.InvalidInput("paste your API token (`shipway tokens create USER`)")
        if services.accounts.authenticate(token) is None:
            raise errors.Unauthenticated(
                "the token is unknown or revoked; ask an admin for a new one"
            )
    except errors.Unauthenticated as exc:
        return render("signin.html", 401, request=request, problem=exc.message, next="/")
    except errors.ShipwayError as exc:
        return error_page(request, exc)
    response = RedirectResponse(back, status_code=303)
    session.sign_in(request, response, token)
    return response


@router.post("/signout")
async def signout(request: Request) -> Response:
    try:
        session.check_csrf(request, await read_form(request))
    except errors.ShipwayError as exc:
        return error_page(request, exc)
    response = RedirectResponse("/signin", status_code=303)
    session.sign_out(request, response)
    return response
