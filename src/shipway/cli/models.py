"""shipway models list|show|versions|register|alias|rollback|history|lineage|card|env"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from shipway.cli.common import Home, Json, Uri, client_for
from shipway.cli.output import console, print_json, table, when
from shipway.errors import InvalidInput
from shipway.records import AliasEvent
from shipway.registry import card as card_builder

app = typer.Typer(
    help="The model registry: versions, aliases, lineage, cards.", no_args_is_help=True
)

Name = Annotated[str, typer.Argument(help="Registered model name.")]
Version = Annotated[int, typer.Argument(help="Version number.")]
Reason = Annotated[str, typer.Option("--reason", help="Why (kept in the history).")]


@app.command("list")
def list_(home: Home = None, tracking_uri: Uri = None, json: Json = False) -> None:
    """List registered models with their latest version and aliases.

    Example: shipway models list
    """
    with client_for(home, tracking_uri) as client:
        found = client.list_registered_models()
    if json:
        print_json([m.to_dict() for m in found])
        return
    rows = [
        (
            m.name,
            m.latest_version or "",
            ", ".join(f"{a}→v{v}" for a, v in m.aliases.items()),
            ", ".join(m.owners),
            m.description,
        )
        for m in found
    ]
    console.print(table(None, ["name", "latest", "aliases", "owners", "description"], rows))


@app.command()
def show(name: Name, home: Home = None, tracking_uri: Uri = None, json: Json = False) -> None:
    """Show a registered model and its versions.

    Example: shipway models show churn
    """
    with client_for(home, tracking_uri) as client:
        model = client.get_registered_model(name)
        versions = client.list_model_versions(name)
    if json:
        print_json({**model.to_dict(), "versions": [v.to_dict() for v in versions]})
        return
    console.print(f"[bold]{model.name}[/]  {model.description}")
    if model.owners:
        console.print(f"owners: {', '.join(model.owners)}")
    _print_versions(versions)


def _print_versions(versions: list) -> None:  # type: ignore[type-arg]
    rows = [
        (
            v.version,
            ", ".join(v.aliases),
            v.flavor,
            v.run_id,
            v.created_by,
            when(v.created_at),
            v.description,
        )
        for v in versions
    ]
    console.print(
        table(None, ["version", "aliases", "flavor", "run", "by", "when", "description"], rows)
    )


@app.command()
def versions(name: Name, home: Home = None, tracking_uri: Uri = None, json: Json = False) -> None:
    """List a model's versions.

    Example: shipway models versions churn
    """
    with client_for(home, tracking_uri) as client:
        found = client.list_model_versions(name)
    if json:
        print_json([v.to_dict() for v in found])
        return
    _print_versions(found)


@app.command()
def register(
    source: Annotated[str, typer.Argument(help="The package: runs:/RUN_ID/PATH.")],
    name: Name,
    description: Annotated[str, typer.Option(help="What this version is.")] = "",
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """Register a logged model package as a new version (or find its existing one).

    Example: shipway models register runs:/3f2a…/model churn
    """
    with client_for(home, tracking_uri) as client:
        version, created = client.registry.register(source, name, description=description)
    if json:
        print_json({**version.to_dict(), "created": created})
    elif created:
        console.print(f"registered {version.uri} from {version.source}")
    else:
        console.print(f"already registered as {version.uri}")


@app.command()
def alias(
    name: Name,
    alias: Annotated[str, typer.Argument(help="Alias, e.g. production, staging, champion.")],
    version: Annotated[int | None, typer.Argument(help="Version to point it at.")] = None,
    delete: Annotated[bool, typer.Option("--delete", help="Remove the alias.")] = False,
    reason: Reason = "",
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """Point an alias at a version (or remove it); every move is recorded.

    Example: shipway models alias churn staging 3 --reason "passes offline eval"
    """
    if delete == (version is not None):
        raise InvalidInput("give a VERSION to point the alias at, or --delete (not both)")
    with client_for(home, tracking_uri) as client:
        if delete:
            event = client.delete_alias(name, alias, reason)
        else:
            assert version is not None
            event = client.set_alias(name, version, alias, reason)
    _print_event(event, json)


def _print_event(event: AliasEvent, json: bool) -> None:
    if json:
        print_json(event.to_dict())
        return
    old = f"v{event.from_version}" if event.from_version else "nothing"
    new = f"v{event.to_version}" if event.to_version else "nothing (removed)"
    console.print(f"{event.model}@{event.alias}: {old} -> {new}")


@app.command()
def rollback(
    name: Name,
    alias: Annotated[str, typer.Option("--alias", help="The alias to move back.")] = "production",
    reason: Reason = "",
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """Move an alias back to the version it pointed at before its last move.

    Example: shipway models rollback churn --alias production
    """
    with client_for(home, tracking_uri) as client:
        event = client.rollback(name, alias, reason)
    if json:
        print_json(event.to_dict())
        return
    console.print(f"rolled back {name}@{alias} from v{event.from_version} to v{event.to_version}")


@app.command()
def history(
    name: Name,
    alias: Annotated[str | None, typer.Option("--alias", help="Only this alias.")] = None,
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """Every alias move: who, when, from, to and why.

    Example: shipway models history churn --alias production
    """
    with client_for(home, tracking_uri) as client:
        found = client.alias_history(name, alias)
    if json:
        print_json([e.to_dict() for e in found])
        return
    rows = [
        (when(e.time), e.actor, e.alias, e.from_version or "-", e.to_version or "-", e.reason)
        for e in found
    ]
    console.print(
        table(f"{name}: alias history", ["when", "who", "alias", "from", "to", "why"], rows)
    )


@app.command()
def lineage(
    name: Annotated[str | None, typer.Argument(help="Registered model name.")] = None,
    version: Annotated[int | None, typer.Argument(help="Version number.")] = None,
    dataset: Annotated[str | None, typer.Option(help="Versions trained on NAME@VERSION.")] = None,
    commit: Annotated[str | None, typer.Option(help="Versions built from this git commit.")] = None,
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """Walk a version back to its run, code, data and parent runs — or ask the reverse:
    which versions came from a dataset version or a commit.

    Example: shipway models lineage churn 3   |   shipway models lineage --dataset churn-train@2
    """
    with client_for(home, tracking_uri) as client:
        if dataset or commit:
            found = (
                client.registry.versions_trained_on(dataset)
                if dataset
                else client.registry.versions_from_commit(commit or "")
            )
            if json:
                print_json([v.to_dict() for v in found])
            else:
                _print_versions(found)
            return
        if name is None or version is None:
            raise InvalidInput("give NAME VERSION, or --dataset NAME@VERSION, or --commit SHA")
        data = client.get_lineage(name, version)
    if json:
        print_json(data)
        return
    run, git = data["run"], data["git"]
    console.print(f"[bold]{data['model']['uri']}[/]  ({data['model']['flavor']})")
    console.print(f"└─ run {run['id']} '{run['name']}' in {run['experiment']} by {run['user']}")
    if git.get("commit"):
        dirty = " + uncommitted changes" if git.get("dirty") else ""
        console.print(f"   ├─ code {git['commit'][:12]} on {git.get('branch')}{dirty}")
    for item in data["inputs"]:
        console.print(f"   ├─ data {item['dataset']} ({item['context']})")
    for parent in data["parents"]:
        console.print(f"   └─ parent run {parent['id']} '{parent['name']}'")


@app.command()
def card(
    name: Name,
    version: Version,
    format: Annotated[str, typer.Option("--format", help="md or json.")] = "md",
    out: Annotated[
        Path | None, typer.Option("--out", help="Write to FILE (keeps its user sections).")
    ] = None,
    section: Annotated[
        list[str] | None,
        typer.Option("--section", help="Add or replace a user section: 'Title=Text'."),
    ] = None,
    home: Home = None,
    tracking_uri: Uri = None,
) -> None:
    """The model card: generated facts plus user-written sections, which are kept.

    Example: shipway models card churn 3 --out CARD.md --section "Limitations=Not for new customers"
    """
    if format not in ("md", "json"):
        raise InvalidInput(f"--format must be md or json, not {format!r}")
    with client_for(home, tracking_uri) as client:
        edits = card_builder.user_sections(out.read_text()) if out and out.exists() else {}
        for item in section or []:
            title, sep, body = item.partition("=")
            if not sep:
                raise InvalidInput(f"--section {item!r} must look like 'Title=Text'")
            edits[title.strip()] = body.strip()
        for title, body in edits.items():
            client.registry.set_card_section(name, version, title, body)
        data = client.get_model_card(name, version)
    text = card_builder.markdown(data) if format == "md" else None
    if out is not None:
        import orjson

        out.write_text(
            text if text is not None else orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()
        )
        console.print(f"wrote the card of {name} v{version} to {out}")
    elif text is not None:
        print(text)
    else:
        print_json(data)


@app.command()
def env(
    uri: Annotated[str, typer.Argument(help="models:/NAME/VERSION or models:/NAME@ALIAS.")],
    format: Annotated[
        str,
        typer.Option(
            "--format", "-f", help="requirements, conda (environment.yml), pyproject or json."
        ),
    ] = "requirements",
    check: Annotated[
        bool,
        typer.Option(
            "--check", help="Check an environment against the pins instead (exit 1 if off)."
        ),
    ] = False,
    python: Annotated[
        str | None,
        typer.Option(help="With --check: the interpreter of the environment (default: this one)."),
    ] = None,
    home: Home = None,
    tracking_uri: Uri = None,
) -> None:
    """Print a version's pinned environment, or check an environment against it.

    --format requirements (a requirements.txt), conda (an environment.yml: Python from
    conda, the packages through its pip section), pyproject (a [project] fragment) or
    json. --check lists what the environment of --python (default: this interpreter)
    lacks or has at another version, and exits 1 if anything is off.

    Example: shipway models env models:/churn@production --format conda > environment.yml
    """
    import orjson

    from shipway.models.environment import Requirements, environment_differences

    with client_for(home, tracking_uri) as client:
        version = client.resolve(uri)
        wanted: Any = "json" if check else format  # the service names a wrong format
        text = client.registry.requirements(version.name, version.version, wanted)
    if not check:
        print(text, end="")
        return
    pinned = Requirements.from_dict(orjson.loads(text))
    installed, found_python = _environment(python)
    problems = environment_differences(pinned, installed, found_python)
    where = python or sys.executable
    if not problems:
        console.print(
            f"{where} fits {version.name} v{version.version}: Python {found_python}, "
            f"{len(pinned.packages)} pinned package(s)"
        )
        return
    console.print(f"{where} differs from {version.name} v{version.version}'s pins:")
    for line in problems:
        console.print(f"  {line}", highlight=False, markup=False)
    raise typer.Exit(1)


_LIST_ENV = (
    "import importlib.metadata as m, json, platform; "
    "print(json.dumps({'python': platform.python_version(), 'packages': "
    "{d.metadata['Name']: d.version for d in m.distributions() if d.metadata['Name']}}))"
)


def _environment(python: str | None) -> tuple[dict[str, str], str]:
    """(distribution -> version, Python version) of an interpreter's environment."""
    import subprocess

    import orjson

    command = [python or sys.executable, "-c", _LIST_ENV]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    except OSError as exc:
        raise InvalidInput(
            f"cannot run {command[0]}: {exc.strerror}; give a Python interpreter"
        ) from None
    if done.returncode != 0:
        raise InvalidInput(
            f"{command[0]} could not list its packages: {done.stderr.strip()[-300:]}"
        )
    data = orjson.loads(done.stdout)
    return dict(data["packages"]), str(data["python"])
