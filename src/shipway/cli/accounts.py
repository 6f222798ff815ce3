"""shipway users …, shipway tokens …, shipway events list"""

from __future__ import annotations

from typing import Annotated

import typer

from shipway.cli.common import Home, Json, Uri, client_for
from shipway.cli.output import console, print_json, table, when
from shipway.records import ROLES

users = typer.Typer(help="Manage users and their roles.", no_args_is_help=True)
tokens = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)
events = typer.Typer(help="Read the audit trail.", no_args_is_help=True)

Role = Annotated[str, typer.Option("--role", "-r", help=f"One of: {', '.join(ROLES)}.")]


@users.command("create")
def create_user(
    name: Annotated[str, typer.Argument(help="User name.")],
    role: Role = "viewer",
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """Create a user.

    Example: shipway users create alice --role data-scientist
    """
    with client_for(home, tracking_uri) as client:
        user = client.create_user(name, role)
    if json:
        print_json(user.to_dict())
    else:
        console.print(f"created user {user.name} with role {user.role}")
        console.print(f"give them a token with: shipway tokens create {user.name}", highlight=False)


@users.command("set-role")
def set_role(
    name: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[str, typer.Argument(help=f"One of: {', '.join(ROLES)}.")],
    home: Home = None,
    tracking_uri: Uri = None,
) -> None:
    """Change a user's role.

    Example: shipway users set-role alice developer
    """
    with client_for(home, tracking_uri) as client:
        user = client.set_role(name, role)
    console.print(f"{user.name} is now {user.role}")


@users.command("list")
def list_users(home: Home = None, tracking_uri: Uri = None, json: Json = False) -> None:
    """List users.

    Example: shipway users list --json
    """
    with client_for(home, tracking_uri) as client:
        found = client.list_users()
    if json:
        print_json([u.to_dict() for u in found])
        return
    console.print(
        table(
            None, ["name", "role", "created"], [(u.name, u.role, when(u.created_at)) for u in found]
        )
    )


@tokens.command("create")
def create_token(
    user: Annotated[str, typer.Argument(help="The user the token acts as.")],
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """Create a token; its secret is shown once and stored only as a hash.

    Example: shipway tokens create alice
    """
    with client_for(home, tracking_uri) as client:
        token = client.create_token(user)
    if json:
        print_json(token.to_dict())
        return
    console.print(f"token {token.id} for {token.user} (shown once, store it now):", highlight=False)
    print(token.secret)


@tokens.command("list")
def list_tokens(
    user: Annotated[str | None, typer.Option(help="Only this user's tokens.")] = None,
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """List tokens (ids and owners, never secrets).

    Example: shipway tokens list --user alice
    """
    with client_for(home, tracking_uri) as client:
        found = client.list_tokens(user)
    if json:
        print_json([t.to_dict() for t in found])
        return
    rows = [(t.id, t.user, when(t.created_at), "revoked" if t.revoked else "active") for t in found]
    console.print(table(None, ["id", "user", "created", "state"], rows))


@tokens.command("revoke")
def revoke_token(
    token_id: Annotated[str, typer.Argument(help="Token id from `shipway tokens list`.")],
    home: Home = None,
    tracking_uri: Uri = None,
) -> None:
    """Revoke a token at once.

    Example: shipway tokens revoke 1a2b3c4d
    """
    with client_for(home, tracking_uri) as client:
        client.revoke_token(token_id)
    console.print(f"revoked token {token_id}")


@events.command("list")
def list_events(
    object_type: Annotated[
        str | None, typer.Option("--type", help="run, experiment, user, token…")
    ] = None,
    object_id: Annotated[
        str | None, typer.Option("--id", help="Only events on this object.")
    ] = None,
    actor: Annotated[str | None, typer.Option(help="Only events by this user.")] = None,
    limit: Annotated[int, typer.Option(help="Events per page.")] = 100,
    cursor: Annotated[str | None, typer.Option(help="next_cursor of the previous page.")] = None,
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """List audit events, oldest first.

    Example: shipway events list --type run --id 3f2a…
    """
    with client_for(home, tracking_uri) as client:
        page = client.list_events(
            limit, cursor, object_type=object_type, object_id=object_id, actor=actor
        )
    if json:
        print_json({"events": [e.to_dict() for e in page], "next_cursor": page.next_cursor})
        return
    rows = [(when(e.time), e.actor, e.action, e.object_type, e.object_id, e.details) for e in page]
    console.print(table(None, ["when", "who", "action", "type", "object", "details"], rows))
    if page.next_cursor:
        console.print(f"more: --cursor {page.next_cursor}", highlight=False)
