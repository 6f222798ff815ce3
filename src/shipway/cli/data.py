"""shipway data add|list|versions|show|diff|get|status|push|pull"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from shipway.cli.common import Home, Json, Uri, client_for, settings_for
from shipway.cli.output import console, print_json, table, when

if TYPE_CHECKING:
    from rich.progress import Progress

    from shipway.client.http import HttpBackend
    from shipway.services import Services

app = typer.Typer(help="Version datasets: snapshot, inspect, compare, fetch.", no_args_is_help=True)

Ref = Annotated[str, typer.Argument(help="NAME@VERSION (or NAME for the latest).")]


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


@app.command()
def add(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    path: Annotated[Path, typer.Argument(help="A file or folder to snapshot.")],
    message: Annotated[str, typer.Option("--message", "-m", help="What this version is.")] = "",
    source: Annotated[str | None, typer.Option(help="Where the data came from (a URI).")] = None,
    link: Annotated[
        bool,
        typer.Option(
            "--link",
            help="Hard-link files into a local store instead of copying (fast; never edit "
            "linked files in place afterwards).",
        ),
    ] = False,
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """Snapshot a file or folder as the next version of a dataset.

    Example: shipway data add churn-train data/train/ -m "March extract"
    """
    from shipway.datasets import quick

    started = time.perf_counter()
    with _progress(json) as bar:
        task = bar.add_task("hashing", total=None)

        def report(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        # unchanged content on the embedded default: answered without opening the platform
        same = None if tracking_uri else quick.unchanged(settings_for(home), name, path, report)
        if same is not None:
            version, created = same, False
        else:
            with client_for(home, tracking_uri) as client:
                version, created = client.backend.dataset_add(
                    name,
                    path,
                    message=message,
                    source=source,
                    run_id=None,
                    git=None,
                    link=link,
                    progress=report,
                )
    took = time.perf_counter() - started
    if json:
        print_json({**version.to_dict(), "created": created, "seconds": round(took, 3)})
        return
    if not created:
        console.print(f"unchanged: {version.ref} already holds this content ({took:.2f}s)")
        return
    console.print(
        f"added [bold]{version.ref}[/]: {version.file_count} file(s), "
        f"{_size(version.total_size)} in {took:.2f}s"
    )
    errors = (version.profile or {}).get("errors", {})
    for rel, why in errors.items():
        console.print(f"[yellow]no profile for {rel}:[/] {why}")


def _progress(quiet: bool) -> Progress:
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=console,
        transient=True,
        disable=quiet or not console.is_terminal,
    )


@app.command("list")
def list_(home: Home = None, tracking_uri: Uri = None, json: Json = False) -> None:
    """List datasets and their latest version.

    Example: shipway data list
    """
    with client_for(home, tracking_uri) as client:
        found = client.datasets.list_datasets()
    if json:
        print_json([d.to_dict() for d in found])
        return
    rows = [(d.name, d.latest or "", d.created_by, when(d.created_at)) for d in found]
    console.print(table(None, ["name", "latest", "created by", "created"], rows))


@app.command()
def versions(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """List the versions of a dataset.

    Example: shipway data versions churn-train
    """
    with client_for(home, tracking_uri) as client:
        found = client.datasets.versions(name)
    if json:
        print_json([v.to_dict() for v in found])
        return
    rows = [
        (v.version, v.file_count, _size(v.total_size), v.created_by, when(v.created_at), v.message)
        for v in found
    ]
    console.print(table(name, ["version", "files", "size", "by", "when", "message"], rows))


@app.command()
def show(
    ref: Ref,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the data sheet.")] = False,
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """Show a version: files, provenance, and the profile of its tables.

    Example: shipway data show churn-train@2 --markdown
    """
    with client_for(home, tracking_uri) as client:
        version = client.datasets.get(ref)
        files = client.backend.dataset_manifest(version.ref)
        used = client.datasets.used_by(version.ref)
    if json:
        print_json(
            {
                **version.to_dict(),
                "files": [f.to_dict() for f in files],
                "used_by": [u.to_dict() for u in used],
            }
        )
        return
    if markdown:
        from shipway.datasets.sheets import profile_to_markdown

        for rel, prof in ((version.profile or {}).get("files") or {}).items():
            print(profile_to_markdown(prof, f"{version.ref}: {rel}"))
        return
    console.print(f"[bold]{version.ref}[/]  {version.message}")
    console.print(
        f"{version.file_count} file(s), {_size(version.total_size)}; added by {version.created_by} "
        f"on {when(version.created_at)} from {version.source or '-'}"
    )
    if version.run_id:
        console.print(f"produced by run {version.run_id} at commit {version.git_commit or '-'}")
    shown = files[:20]
    rows = [(f.path, _size(f.size), (f.digest or f"-> {f.link}")[:16]) for f in shown]
    console.print(table(None, ["path", "size", "digest"], rows))
    if len(files) > len(shown):
        console.print(f"… and {len(files) - len(shown)} more (use --json for all)")
    for rel, prof in ((version.profile or {}).get("files") or {}).items():
        cols = [(c["name"], c["type"], c.get("null_count", 0)) for c in prof["columns"]]
        console.print(table(f"{rel}: {prof['rows']} rows", ["column", "type", "nulls"], cols))
    if used:
        console.print("used by: " + ", ".join(f"{u.run_id} ({u.context})" for u in used))


@app.command()
def diff(
    a: Annotated[str, typer.Argument(help="The older version, NAME@A.")],
    b: Annotated[str, typer.Argument(help="The newer version, NAME@B.")],
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """Compare two versions: files, and for tables schema, rows and statistics.

    Example: shipway data diff churn-train@1 churn-train@2
    """
    with client_for(home, tracking_uri) as client:
        result = client.datasets.diff(a, b)
    if json:
        print_json(result)
        return
    files = result["files"]
    console.print(
        f"{result['from']} -> {result['to']}: {len(files['added'])} added, "
        f"{len(files['removed'])} removed, {len(files['changed'])} changed, "
        f"{files['unchanged']} unchanged"
    )
    for label, key in (("+", "added"), ("-", "removed"), ("~", "changed")):
        for path in files[key][:50]:
            console.print(f"  {label} {path}", highlight=False)
    if result["tables"]:
        from shipway.datasets.sheets import diff_to_markdown

        for rel, change in result["tables"].items():
            console.print(f"\n[bold]{rel}[/]")
            print(diff_to_markdown(change))


@app.command()
def get(
    ref: Ref,
    dest: Annotated[Path, typer.Argument(help="A new or empty folder.")],
    home: Home = None,
    tracking_uri: Uri = None,
) -> None:
    """Write a version's files into a folder, verifying every digest.

    Example: shipway data get churn-train@2 ./train
    """
    with client_for(home, tracking_uri) as client:
        out = client.backend.dataset_materialize(ref, dest)
    console.print(f"wrote {ref} to {out}")


@app.command()
def status(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    path: Annotated[Path, typer.Argument(help="The working file or folder.")],
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """What changed in a working folder since the dataset's latest version.

    Example: shipway data status churn-train data/train/
    """
    from shipway.datasets import quick

    result = None if tracking_uri else quick.status(settings_for(home), name, path)
    if result is None:  # not the embedded default, or nothing to compare with: the full path
        with client_for(home, tracking_uri) as client:
            result = client.backend.dataset_status(name, path)
    if json:
        print_json(result)
        return
    if result["clean"]:
        console.print(f"{path} matches {result['dataset']} ({result['unchanged']} files)")
        return
    console.print(f"{path} differs from {result['dataset']}:")
    for label, key in (("added", "added"), ("removed", "removed"), ("changed", "changed")):
        for p in result[key]:
            console.print(f"  {label}: {p}", highlight=False)
    raise typer.Exit(1)


@contextlib.contextmanager
def _home_and_server(home: Path | None, url: str) -> Iterator[tuple[Services, HttpBackend]]:
    """The local home's services and an HTTP connection to ``url``, both closed after."""
    from shipway.client.http import HttpBackend
    from shipway.services import Services

    settings = settings_for(home)
    local = Services.open(settings)
    try:
        http = HttpBackend(settings, url)
        try:
            yield local, http
        finally:
            http.close()
    finally:
        local.close()


@app.command()
def push(
    ref: Ref,
    to: Annotated[str, typer.Option("--to", help="Server URL, e.g. http://host:5050.")],
    home: Home = None,
) -> None:
    """Send a local version to a server, uploading only the blobs it lacks.

    Example: shipway data push churn-train@2 --to http://127.0.0.1:5050
    """
    from shipway.client import transfer

    with _home_and_server(home, to) as (local, http):
        version, sent, created = transfer.push(local.datasets, http, ref)
    state = "pushed" if created else "already there:"
    console.print(f"{state} {version.ref} ({sent} blob(s) sent)")


@app.command()
def pull(
    ref: Ref,
    from_: Annotated[str, typer.Option("--from", help="Server URL, e.g. http://host:5050.")],
    home: Home = None,
) -> None:
    """Fetch a server's version into the local home, downloading only missing blobs.

    Example: shipway data pull churn-train@2 --from http://127.0.0.1:5050
    """
    from shipway.client import transfer

    with _home_and_server(home, from_) as (local, http):
        version, fetched, created = transfer.pull(http, local.datasets, ref)
    state = "pulled" if created else "already here:"
    console.print(f"{state} {version.ref} ({fetched} blob(s) fetched)")
