"""The ``shipway`` command: parse, call one service through the client, format.

Every ShipwayError ends as one line on stderr and an exit code (see ``cli.output``); a
traceback means a bug in shipway.
"""

from __future__ import annotations

import gc
import importlib
import sys
from collections.abc import MutableMapping
from difflib import get_close_matches
from typing import Any

import typer
from typer import _click
from typer.core import TyperCommand, TyperGroup

from shipway import errors

# name -> (module, attribute, one-line help). Listing the commands (``shipway --help``)
# reads only this table; running one imports its module alone. The attribute is a
# command function or a ``typer.Typer`` group; tests check the help against the command.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "server": (
        "shipway.cli.server",
        "server",
        "Serve the platform API (docs at /docs) and the web workspace (at /) on the home.",
    ),
    "ui": (
        "shipway.cli.server",
        "ui",
        "Open the web workspace on a local home, with no server to run (127.0.0.1 only).",
    ),
    "demo": (
        "shipway.demo.command",
        "demo",
        "Run the getting-started scenario: a server, tracked models, data versions, serving,\n"
        "and a contract enforced on two churn candidates.",
    ),
    "serve": (
        "shipway.cli.serving",
        "serve",
        "Serve models over REST (native, Open Inference Protocol v2, MLflow /invocations).",
    ),
    "approve": (
        "shipway.cli.contracts",
        "approve",
        "Sign off on a version under a contract role (you must be listed under that role).",
    ),
    "reject": (
        "shipway.cli.contracts",
        "reject",
        "Reject a version under a contract role; it blocks promotion until you approve.",
    ),
    "review": (
        "shipway.cli.contracts",
        "review",
        "Leave feedback on a version (never counts as a sign-off), or --list it.",
    ),
    "promote": (
        "shipway.cli.contracts",
        "promote",
        "Move an alias to a version if its contract allows it; otherwise list what is missing\n"
        "(exit 1).",
    ),
    "version": ("shipway.cli.main", "version", "Print shipway's version."),
    "experiments": ("shipway.cli.experiments", "app", "List, create and update experiments."),
    "runs": ("shipway.cli.runs", "app", "Inspect, compare and delete runs."),
    "data": ("shipway.cli.data", "app", "Version datasets: snapshot, inspect, compare, fetch."),
    "models": (
        "shipway.cli.models",
        "app",
        "The model registry: versions, aliases, lineage, cards.",
    ),
    "pipelines": (
        "shipway.cli.pipelines",
        "app",
        "Pipelines on Dask: cached, tracked steps from data to a promoted model.",
    ),
    "predict": (
        "shipway.cli.pipelines",
        "predict",
        "Score a Parquet/CSV file or a dataset with a model, partitioned on Dask.",
    ),
    "sweep": (
        "shipway.cli.pipelines",
        "sweep",
        "Run a sweep: trials over a search space in parallel on Dask, Optuna choosing.",
    ),
    "deployments": (
        "shipway.cli.serving",
        "deployments",
        "Deployments: what an inference server serves, and its traffic policy.",
    ),
    "predictions": (
        "shipway.cli.serving",
        "predictions",
        "The prediction log written by inference servers.",
    ),
    "contract": (
        "shipway.cli.contracts",
        "contract",
        "A model's contract: set, show, diff, history.",
    ),
    "gate": ("shipway.cli.contracts", "gate", "Gate runs and their reports."),
    "ci": ("shipway.cli.contracts", "ci", "Continuous integration: workflows that run the gates."),
    "monitor": (
        "shipway.cli.monitoring",
        "monitor",
        "Monitoring: evaluate the rules, write reports.",
    ),
    "feedback": ("shipway.cli.monitoring", "feedback", "Ground truth for logged predictions."),
    "alerts": ("shipway.cli.monitoring", "alerts", "Alerts the monitor raised."),
    "users": ("shipway.cli.accounts", "users", "Manage users and their roles."),
    "tokens": ("shipway.cli.accounts", "tokens", "Create, list and revoke API tokens."),
    "import": ("shipway.cli.imports", "app", "Import another tool's history (MLflow)."),
    "events": ("shipway.cli.accounts", "events", "Read the audit trail."),
}


def load_command(name: str) -> _click.Command:
    """Import the module of command ``name`` and build its click command."""
    module, attribute, _ = COMMANDS[name]
    target: Any = getattr(importlib.import_module(module), attribute)
    if isinstance(target, typer.Typer):
        command: _click.Command = typer.main.get_group(target)
    else:
        single = typer.Typer(add_completion=False)
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


class LazyGroup(TyperGroup):
    """The top-level group: lists the commands from ``COMMANDS`` and imports a command's
    module only when that command runs (or its own help is asked for)."""

    _listing = False

    def list_commands(self, ctx: _click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        if self._listing:  # a stand-in that carries the help line, nothing imported
            return TyperCommand(cmd_name, help=COMMANDS[cmd_name][2])
        self.commands[cmd_name] = load_command(cmd_name)
        if not gc.isenabled():  # see entry(): the command itself runs with collection on
            gc.freeze()
            gc.enable()
        return self.commands[cmd_name]

    def load_all(self) -> MutableMapping[str, _click.Command]:
        """Every command, loaded (for tests and docs that walk the whole CLI)."""
        for name in COMMANDS:
            self.get_command(_click.Context(self), name)
        return self.commands

    def resolve_command(
        self, ctx: _click.Context, args: list[str]
    ) -> tuple[str | None, _click.Command | None, list[str]]:
        try:
            return self._click_resolve_command(ctx, args)
        except _click.exceptions.UsageError as e:  # Typer's suggestions, from the table
            matches = get_close_matches(args[0], self.list_commands(ctx)) if args else []
            if matches:
                suggestions = ", ".join(f"{m!r}" for m in matches)
                e.message = f"{e.message.rstrip('.')}. Did you mean {suggestions}?"
            raise

    def format_help(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    name="shipway",
    cls=LazyGroup,
    help="Carry a model from experiment to a monitored production endpoint.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """(A callback keeps ``app`` a group: its other commands are not registered on it.)"""


def version() -> None:
    """Print shipway's version."""
    import shipway

    print(shipway.__version__)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code. Usage errors are Typer's (exit 2)."""
    try:
        app(args=argv, prog_name="shipway")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except errors.ShipwayError as exc:
        from shipway.cli.output import fail

        return fail(exc)
    except KeyboardInterrupt:
        return 130
    return 0


def entry() -> None:
    # A command is a short process, or a server: collecting garbage while hundreds of
    # modules import, and once more over the whole heap at exit, cost a quarter of
    # `runs list`. Collection stays off until the command's module is loaded; what exists
    # then is frozen (never scanned again) and collection resumes for the command, however
    # long it runs. At exit the heap is frozen too: the interpreter does not scan it again
    # (atexit handlers, buffered output and threads are finished as usual).
    gc.disable()
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    entry()
