"""shipway experiments list|create|update"""

from __future__ import annotations

from typing import Annotated

import typer

from shipway.cli.common import Home, Json, Uri, client_for
from shipway.cli.output import console, print_json, table, when

app = typer.Typer(help="List, create and update experiments.", no_args_is_help=True)


@app.command("list")
def list_(
    limit: Annotated[int, typer.Option(help="Experiments per page.")] = 100,
    cursor: Annotated[str | None, typer.Option(help="next_cursor of the previous page.")] = None,
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """List experiments.

    Example: shipway experiments list --json
    """
    with client_for(home, tracking_uri) as client:
        page = client.list_experiments(limit, cursor)
    if json:
        print_json({"experiments": [e.to_dict() for e in page], "next_cursor": page.next_cursor})
        return
    rows = [(e.id, e.name, e.created_by, when(e.created_at), e.description) for e in page]
    console.print(table(None, ["id", "name", "created by", "created", "description"], rows))
    if page.next_cursor:
        console.print(f"more: --cursor {page.next_cursor}", highlight=False)


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="Experiment name.")],
    description: Annotated[str, typer.Option(help="What the experiment is for.")] = "",
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """Create an experiment.

    Example: shipway experiments create churn --description "30-day churn"
    """
    with client_for(home, tracking_uri) as client:
        exp = client.create_experiment(name, description)
    if json:
        print_json(exp.to_dict())
    else:
        console.print(f"created experiment {exp.name} (id {exp.id})")


@app.command()
def update(
    ref: Annotated[str, typer.Argument(help="Experiment name or id.")],
    name: Annotated[str | None, typer.Option(help="A new name.")] = None,
    description: Annotated[str | None, typer.Option(help="A new description.")] = None,
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """Rename an experiment or change its description.

    Example: shipway experiments update churn --description "30-day churn, EU only"
    """
    with client_for(home, tracking_uri) as client:
        exp = client.tracking.update_experiment(ref, name=name, description=description)
    if json:
        print_json(exp.to_dict())
    else:
        console.print(f"updated experiment {exp.name} (id {exp.id})")
