"""``shipway demo``: parse the options and run the scenario.

The command lives with the demo, not in ``cli/``: the demo prints with the CLI's
formatters, so the CLI must not import it (that would be a cycle); ``cli.main`` lists it
in its table of commands by module name, like every other command.
"""

from __future__ import annotations

from typing import Annotated

import typer

from shipway.cli.common import Home, settings_for


def demo(
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Exit when the scenario is done.")
    ] = False,
    port: Annotated[
        int, typer.Option(help="Port for the platform server (0: any free one).")
    ] = 5050,
    home: Home = None,
) -> None:
    """Run the getting-started scenario: a server, tracked models, data versions, serving,
    and a contract enforced on two churn candidates.

    Example: shipway demo --no-wait
    """
    from shipway.demo import scenario

    scenario.run(settings_for(home), port=port, wait=not no_wait)
