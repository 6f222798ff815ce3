"""shipway server"""

from __future__ import annotations

from typing import Annotated

import typer

from shipway.cli.common import Home
from shipway.cli.output import console
from shipway.config import Settings
from shipway.services import Services


def server(
    host: Annotated[
        str | None,
        typer.Option(help="Interface to listen on (default 127.0.0.1, or SHIPWAY_HOST)."),
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port to listen on (default 5050, or SHIPWAY_PORT).")
    ] = None,
    auth: Annotated[
        bool | None, typer.Option("--auth/--no-auth", help="Require bearer tokens (SHIPWAY_AUTH).")
    ] = None,
    home: Home = None,
) -> None:
    """Serve the platform API (docs at /docs) and the web workspace (at /) on the home.

    Example: shipway server --port 5050 --auth
    """
    settings = Settings.load(
        overrides={"home": str(home) if home else None, "host": host, "port": port, "auth": auth}
    )
    services = Services.open(settings)
    if settings.auth and not services.accounts.list_users():
        console.print(
            "[yellow]auth is on but there are no users yet:[/] "
            "shipway users create admin --role admin && shipway tokens create admin"
        )
    url = f"http://{settings.host}:{settings.port}"
    console.print(
        f"shipway server on {url}  (workspace: {url}/, API docs: {url}/docs, home: {settings.home})"
    )
    from shipway.api.server import serve

    serve(services, settings.host, settings.port)
