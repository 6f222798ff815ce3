"""Options shared by commands, and how a command opens its client (imported when a
command runs, so ``shipway runs --help`` and usage errors do not load it)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from shipway.config import Settings

if TYPE_CHECKING:
    from shipway.client import Client

Home = Annotated[
    Path | None,
    typer.Option(
        "--home", help="shipway home folder (overrides SHIPWAY_HOME).", show_default=False
    ),
]
Uri = Annotated[
    str | None,
    typer.Option(
        "--tracking-uri",
        help="Server URL (overrides SHIPWAY_TRACKING_URI); default: the local home.",
        show_default=False,
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def settings_for(home: Path | None) -> Settings:
    return Settings.load(overrides={"home": str(home) if home else None})


def client_for(home: Path | None, uri: str | None) -> Client:
    from shipway.client import Client

    settings = settings_for(home)
    return Client(uri if uri is not None else None, settings=settings)
