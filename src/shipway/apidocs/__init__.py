"""The API reference page at ``/docs`` of both servers (the platform API and the
inference server): Swagger UI 5.35.0, vendored from the npm registry's
``swagger-ui-dist`` with its licence in ``static/``, so the page works offline. It is
served with a Content-Security-Policy that lets it load nothing from another host.
"""

from __future__ import annotations

import html
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
VERSION = "5.35.0"
ASSETS = "/docs/assets"
# Swagger UI shows its icons as data: images and sets styles from script
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"
)


def page(openapi_url: str, title: str) -> str:
    url, name = html.escape(openapi_url), html.escape(title)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{name}</title>
<link rel="icon" href="{ASSETS}/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="{ASSETS}/swagger-ui-{VERSION}.css">
</head><body><div id="swagger-ui" data-url="{url}"></div>
<script src="{ASSETS}/swagger-ui-bundle-{VERSION}.js"></script>
<script src="{ASSETS}/init.js"></script>
</body></html>"""


def routes(openapi_url: str, title: str) -> list[BaseRoute]:
    """``/docs`` and its assets, for a Starlette or FastAPI app's routes."""
    body = page(openapi_url, title)

    async def docs(_: Request) -> Response:
        return HTMLResponse(
            body, headers={"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"}
        )

    return [
        Route("/docs", docs, methods=["GET"]),
        Mount(ASSETS, StaticFiles(directory=STATIC), name="apidocs"),
    ]
