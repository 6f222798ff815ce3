"""A throwaway shipway home, and a real server on it."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shipway.api.server import background_server
from shipway.config import Settings
from shipway.services import Services


@contextlib.contextmanager
def temporary_home(**settings: Any) -> Iterator[Settings]:
    """Settings for a fresh home in a temporary folder (removed afterwards).

    >>> with temporary_home() as settings:
    ...     client = sw.Client(settings=settings)
    """
    with tempfile.TemporaryDirectory(prefix="shipway-home-") as tmp:
        yield Settings.load(overrides={"home": str(Path(tmp)), **settings})


@contextlib.contextmanager
def temporary_server(settings: Settings) -> Iterator[str]:
    """Serve the platform API for ``settings`` on a free loopback port; yields its URL."""
    services = Services.open(settings)
    try:
        with background_server(services) as url:
            yield url
    finally:
        services.close()
