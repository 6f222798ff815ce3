"""The docs cover every setting, CLI command and API route; these tests fail when one is not.

They also fail when the reference documents a command or a route that no longer exists.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from shipway.api import API_PREFIX, create_app
from shipway.cli.main import app as cli_app
from shipway.config import SETTINGS
from shipway.testing import temporary_home

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
REFERENCE = DOCS / "reference"

CLI_HEADING = re.compile(r"^### `shipway ([a-z][a-z -]*)`\s*$", re.MULTILINE)
ROUTE_HEADING = re.compile(r"^### `([A-Z]+) (/api/v1\S*)`\s*$", re.MULTILINE)
SETTING_ROW = re.compile(r"^\| `(SHIPWAY_[A-Z0-9_]+)` \|", re.MULTILINE)
CONVERTER = re.compile(r"\{(\w+):\w+\}")  # {path:path} is documented as {path}


def read(path: Path) -> str:
    assert path.is_file(), f"{path.relative_to(ROOT)} is missing"
    return path.read_text(encoding="utf-8")


def command_paths(command: Any, prefix: tuple[str, ...] = ()) -> Iterator[str]:
    """Every leaf command of the CLI as 'noun verb', walking nested groups."""
    subcommands = getattr(command, "commands", None)
    if not subcommands:
        yield " ".join(prefix)
        return
    for name, sub in sorted(subcommands.items()):
        if not getattr(sub, "hidden", False):
            yield from command_paths(sub, (*prefix, name))


def api_routes() -> set[tuple[str, str]]:
    """(method, path template) of every route under the API prefix."""
    found: set[tuple[str, str]] = set()
    with temporary_home() as settings:
        app = create_app(settings=settings)
        try:
            for route in app.routes:
                path = getattr(route, "path", None)
                methods = getattr(route, "methods", None)
                if path and methods:
                    found.update((m, path) for m in methods if m != "HEAD")
            # Newer FastAPI keeps included routers nested in app.routes; the schema lists
            # their routes (every route here is in the schema).
            for path, operations in app.openapi()["paths"].items():
                found.update((method.upper(), path) for method in operations)
        finally:
            app.state.services.close()
    return {
        (method, CONVERTER.sub(r"{\1}", path))
        for method, path in found
        if path == API_PREFIX or path.startswith(API_PREFIX + "/")
    }


def test_every_setting_is_documented() -> None:
    text = read(REFERENCE / "settings.md")
    documented = set(SETTING_ROW.findall(text))
    missing = [s.env for s in SETTINGS if s.env not in documented]
    assert not missing, f"add a row for {missing} to docs/reference/settings.md"
    stale = documented - {s.env for s in SETTINGS}
    assert not stale, f"docs/reference/settings.md documents unknown settings {sorted(stale)}"


def test_every_cli_command_is_documented() -> None:
    group = typer.main.get_command(cli_app)
    group.load_all()  # type: ignore[attr-defined]
    commands = set(command_paths(group))
    assert {"server", "runs list", "users set-role"} <= commands, commands
    documented = set(CLI_HEADING.findall(read(REFERENCE / "cli.md")))
    missing = sorted(commands - documented)
    assert not missing, (
        "add a heading '### `shipway <command>`' to docs/reference/cli.md for: "
        + ", ".join(missing)
    )
    stale = sorted(documented - commands)
    assert not stale, f"docs/reference/cli.md documents commands that do not exist: {stale}"


def test_every_api_route_is_documented() -> None:
    routes = api_routes()
    assert ("POST", API_PREFIX + "/runs/search") in routes, routes
    documented = set(ROUTE_HEADING.findall(read(REFERENCE / "http-api.md")))
    missing = sorted(routes - documented)
    assert not missing, (
        "add a heading '### `METHOD /api/v1/…`' to docs/reference/http-api.md for: "
        + ", ".join(f"{m} {p}" for m, p in missing)
    )
    stale = sorted(documented - routes)
    assert not stale, f"docs/reference/http-api.md documents routes that do not exist: {stale}"


@pytest.mark.parametrize("command", ["make demo", "make test"])
def test_readme_quickstart(command: str) -> None:
    assert command in read(ROOT / "README.md")


@pytest.mark.parametrize(
    "page",
    [
        "../README.md",
        "quickstart.md",
        "concepts.md",
        "search.md",
        "datasets.md",
        "models.md",
        "serving.md",
        "contracts.md",
        "monitoring.md",
        "pipelines.md",
        "ui.md",
        "reference/cli.md",
        "reference/http-api.md",
        "reference/settings.md",
        "reference/python.md",
    ],
)
def test_relative_links_resolve(page: str) -> None:
    path = DOCS / page
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", read(path)):
        assert (path.parent / target).exists(), f"{page} links to missing {target}"
