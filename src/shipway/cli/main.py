"""The ``shipway`` command: parse, call one service through the client, format.

Every ShipwayError ends as one line on stderr and an exit code (see ``cli.output``); a
traceback means a bug in shipway.
"""

from __future__ import annotations

import sys

import click
import typer

from shipway import errors
from shipway.cli import accounts, demo, experiments, runs, server
from shipway.cli.output import fail

app = typer.Typer(
    name="shipway",
    help="Carry a model from experiment to a monitored production endpoint.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("server")(server.server)
app.command("demo")(demo.demo)
app.add_typer(experiments.app, name="experiments")
app.add_typer(runs.app, name="runs")
app.add_typer(accounts.users, name="users")
app.add_typer(accounts.tokens, name="tokens")
app.add_typer(accounts.events, name="events")


@app.command("version")
def version() -> None:
    """Print shipway's version."""
    import shipway

    print(shipway.__version__)


def main(argv: list[str] | None = None) -> int:
    try:
        result = app(args=argv, prog_name="shipway", standalone_mode=False)
    except click.exceptions.UsageError as exc:
        exc.show()
        return 2
    except click.exceptions.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        return 130
    except errors.ShipwayError as exc:
        return fail(exc)
    except KeyboardInterrupt:
        return 130
    return result if isinstance(result, int) else 0


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
