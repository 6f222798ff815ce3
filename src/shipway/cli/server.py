"""shipway server, shipway ui"""

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

    background = []
    if settings.scheduler_interval > 0:
        from shipway.runner.scheduler import PipelineScheduler

        background.append(PipelineScheduler(settings, settings.scheduler_interval))
    serve(services, settings.host, settings.port, background=background)


def ui(
    port: Annotated[
        int, typer.Option(help="Port on 127.0.0.1 (0, or a taken one: any free port).")
    ] = 5055,
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the workspace in the default browser.")
    ] = False,
    home: Home = None,
) -> None:
    """Open the web workspace on a local home, with no server to run (127.0.0.1 only).

    The same pages as `shipway server` over the home's services, on this machine only
    (auth off; the monitor loop does not run, so nothing acts on its own). Ctrl-C stops it.

    Example: shipway ui --open
    """
    import socket

    settings = Settings.load(
        overrides={"home": str(home) if home else None, "host": "127.0.0.1", "auth": False}
    )
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            sock.bind(("127.0.0.1", 0))
            if port:
                console.print(f"port {port} is taken; using a free one instead")
        chosen = int(sock.getsockname()[1])
    services = Services.open(settings)
    url = f"http://127.0.0.1:{chosen}/"
    console.print(f"shipway workspace on {url}  (home: {settings.home}; Ctrl-C stops it)")
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    from shipway.api.server import serve

    serve(services, "127.0.0.1", chosen, log_level="warning", monitor=False)
