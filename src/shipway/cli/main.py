"""The ``shipway`` command: parse, call one service through the client, format.

Every ShipwayError ends as one line on stderr and an exit code (see ``cli.output``); a
traceback means a bug in shipway.
"""

from __future__ import annotations

import sys

import typer

from shipway import errors
from shipway.cli import (
    accounts,
    contracts,
    data,
    demo,
    experiments,
    models,
    monitoring,
    runs,
    server,
    serving,
)
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
app.add_typer(data.app, name="data")
app.add_typer(models.app, name="models")
app.command("serve")(serving.serve)
app.add_typer(serving.deployments, name="deployments")
app.add_typer(serving.predictions, name="predictions")
app.add_typer(contracts.contract, name="contract")
app.add_typer(contracts.gate, name="gate")
app.command("approve")(contracts.approve)
app.command("reject")(contracts.reject)
app.command("review")(contracts.review)
app.command("promote")(contracts.promote)
app.add_typer(contracts.ci, name="ci")
app.add_typer(monitoring.monitor, name="monitor")
app.add_typer(monitoring.feedback, name="feedback")
app.add_typer(monitoring.alerts, name="alerts")
app.add_typer(accounts.users, name="users")
app.add_typer(accounts.tokens, name="tokens")
app.add_typer(accounts.events, name="events")


@app.command("version")
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
        return fail(exc)
    except KeyboardInterrupt:
        return 130
    return 0


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
