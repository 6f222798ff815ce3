"""Helpers for the serving tests: a server in a thread, rows as records."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pandas as pd

import shipway as sw
from shipway.client.serving import ClientModelSource
from shipway.serving.app import create_app
from shipway.serving.runtime import Runtime, ServeConfig
from shipway.serving.workers import background_serve


@contextlib.contextmanager
def serving(
    client: sw.Client,
    models: list[str] | None = None,
    deployments: list[str] | None = None,
    **config: Any,
) -> Iterator[tuple[str, Runtime]]:
    """An inference server in a thread of this process; yields (url, runtime)."""
    config.setdefault("log_flush_seconds", 0.2)
    runtime = Runtime(
        ClientModelSource(client),
        models=models or [],
        deployments=deployments or [],
        config=ServeConfig(**config),
    )
    with background_serve(create_app(runtime)) as url:
        yield url, runtime


def records(X: pd.DataFrame, n: int = 2, start: int = 0) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = X.iloc[start : start + n].to_dict(orient="records")
    return out
