"""shipway contract|gate|approve|reject|review|promote: the agreement on a model, enforced."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from shipway.cli.common import Home, Json, Uri, client_for
from shipway.cli.output import console, err_console, print_json, table, when
from shipway.contracts import report as render
from shipway.contracts.spec import parse
from shipway.errors import InvalidInput, NotFound
from shipway.records import GateReport, positive_int
from shipway.registry.service import check_model_name

if TYPE_CHECKING:
    from shipway.client import Client

contract = typer.Typer(help="A model's contract: set, show, diff, history.", no_args_is_help=True)
gate = typer.Typer(help="Gate runs and their reports.", no_args_is_help=True)

Name = Annotated[str, typer.Argument(help="Registered model name.")]
VersionArg = Annotated[str, typer.Argument(help="Model version number, or 'latest'.")]
Role = Annotated[str, typer.Option("--role", help="Contract role, e.g. data-science.")]
Out = Annotated[
    Path | None, typer.Option("--out", help="Write the report to this file.", show_default=False)
]
Format = Annotated[
    str | None,
    typer.Option(
        "--format",
        help="table, json, markdown, junit or html (default: table; with --out, from its suffix).",
        show_default=False,
    ),
]
SUFFIX_FORMAT = {".json": "json", ".md": "markdown", ".xml": "junit", ".html": "html"}
EXIT = {"passed": 0, "failed": 1, "error": 2}


def resolve_version(client: Client, name: str, text: str) -> int:
    if text == "latest":
        return client.resolve(f"models:/{name}").version
    number = positive_int(text)
    if number is None:
        raise InvalidInput(f"version must be a number or 'latest', got {text!r}")
    return number


# contract ------------------------------------------------------------------------------


@contract.command("set")
def contract_set(
    name: Name,
    file: Annotated[Path, typer.Argument(help="The contract.yaml to store.")],
    message: Annotated[str, typer.Option("--message", "-m", help="Why it changed.")] = "",
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """Store a contract file as the model's next contract version (after checking it).

    Example: shipway contract set churn contract.yaml -m "tighter latency budget"
    """
    text = _read(file)
    parse(text, source=str(file), model=name)  # line-numbered errors before any round trip
    with client_for(home, tracking_uri) as client:
        stored, created = client.set_contract(name, text, message)
    if json:
        print_json({**stored.to_dict(), "created": created})
    elif created:
        console.print(
            f"stored contract version {stored.version} of {name}; gate reports under "
            "earlier versions no longer count for promotion"
        )
    else:
        console.print(f"unchanged: {file} is contract version {stored.version} of {name}")


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(
            f"{file} does not exist; write one with `shipway contract init`"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {file}: {exc}") from None


@contract.command("check")
def contract_check(
    file: Annotated[Path, typer.Argument(help="The contract.yaml to check.")],
    model: Annotated[str | None, typer.Option("--model", help="The model it is for.")] = None,
    json: Json = False,
) -> None:
    """Check a contract file without storing it; every problem is listed with its line.

    Example: shipway contract check contract.yaml
    """
    checked = parse(_read(file), source=str(file), model=model)
    if json:
        print_json(checked.spec)
        return
    spec = checked.spec
    console.print(
        f"{file} is valid: {len(spec['gates'])} gate(s), {len(spec['schema'])} schema "
        f"column(s), sign-offs {spec['approvals'] or 'none'}"
    )


TEMPLATE = """\
# The contract for {model}: what the model is for, what it must achieve before it may
# serve production, and who signs off. Store it with `shipway contract set {model} {file}`.
model: {model}
objective: say what the model is for and who uses its predictions
task: binary-classification        # binary-classification | multiclass-classification | regression
label: label                       # the label column of the holdout data
holdout: {model}-holdout@1         # the default dataset version gates are evaluated on
owners:
  data-science: [your-name]
  engineering: [a-developer]
schema:                            # the inputs the serving side may rely on
  feature_a: {{type: float, min: 0}}
  feature_b: {{type: category, values: [x, y]}}
  email: {{type: string, pii: true}}  # never a model input; hashed in the prediction log
privacy:
  forbidden_inputs: [email]
  log: {{hash: [], drop: [email]}}
gates:
  - accuracy >= 0.90
  - f1 >= production - 0.01        # no worse than the version in production
  # - recall >= 0.80 where region = 'EU'
budgets:
  latency: {{p95_ms: 15, p99_ms: 40}}   # measured by serving the version in-process
  package_mb: 200
  memory_mb: 1024
reproducibility: {{clean_git: true, no_notebook: true, environment: true, data_linked: true}}
approvals: {{data-science: 1, engineering: 1}}
monitoring:
  drift: {{share_above: 0.3, window: 1h, for_windows: 3}}
  live: {{accuracy_below: 0.85, window: 1d}}
  latency: {{p95_ms_above: 25, window: 5m}}
  on_breach: none                  # none | rollback | retrain
"""


@contract.command("init")
def contract_init(
    model: Annotated[str, typer.Argument(help="The model the contract is for.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write it.")] = Path("contract.yaml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented contract template to edit.

    Example: shipway contract init churn --out contract.yaml
    """
    from shipway.blobs.atomic import atomic_writer

    check_model_name(model)
    if out.exists() and not force:
        raise InvalidInput(f"{out} exists; pass --force to overwrite it")
    with atomic_writer(out) as fh:
        fh.write(TEMPLATE.format(model=model, file=out.name).encode())
    console.print(f"wrote {out}; edit it, check it with `shipway contract check {out}`")


@contract.command("show")
def contract_show(
    name: Name,
    version: Annotated[int | None, typer.Option("--version", help="Contract version.")] = None,
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """Print a contract version (default: the current one) as written.

    Example: shipway contract show churn --version 2
    """
    with client_for(home, tracking_uri) as client:
        found = client.get_contract(name, version)
    if json:
        print_json(found.to_dict())
        return
    err_console.print(
        f"# {name} contract version {found.version}, by {found.created_by} at "
        f"{when(found.created_at)}{': ' + found.message if found.message else ''}"
    )
    print(found.text, end="" if found.text.endswith("\n") else "\n")


@contract.command("history")
def contract_history(
    name: Name, home: Home = None, tracking_uri: Uri = None, json: Json = False
) -> None:
    """List a model's contract versions.

    Example: shipway contract history churn
    """
    with client_for(home, tracking_uri) as client:
        found = client.contract_history(name)
    if json:
        print_json([c.to_dict() for c in found])
        return
    rows = [
        (c.version, c.created_by, when(c.created_at), len(c.spec["gates"]), c.message)
        for c in found
    ]
    console.print(table(None, ["version", "by", "when", "gates", "message"], rows))


@contract.command("diff")
def contract_diff(
    name: Name,
    a: Annotated[int | None, typer.Option("--from", help="Older version.")] = None,
    b: Annotated[int | None, typer.Option("--to", help="Newer version (default latest).")] = None,
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """Show what changed between two contract versions (default: the last change).

    Example: shipway contract diff churn --from 1 --to 2
    """
    with client_for(home, tracking_uri) as client:
        found = client.diff_contracts(name, a, b)
    if json:
        print_json(found)
        return
    console.print(
        f"contract {name} v{found['from']} -> v{found['to']}: "
        f"sections changed: {', '.join(found['changed']) or 'none (comments or layout only)'}"
    )
    print(found["diff"], end="")


# gates ---------------------------------------------------------------------------------


def _emit(report: GateReport, fmt: str | None, out: Path | None) -> None:
    if fmt is None:
        fmt = SUFFIX_FORMAT.get(out.suffix.lower(), "json") if out else "table"
    if fmt not in render.FORMATS:
        raise InvalidInput(f"--format must be one of {', '.join(render.FORMATS)}, got {fmt!r}")
    if out is not None:
        from shipway.blobs.atomic import atomic_writer

        if fmt == "table":
            raise InvalidInput("--out writes json, markdown, junit or html; pick one with --format")
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_writer(out) as fh:
            fh.write(render.render(report, fmt).encode())
        _print_table(report, console_only=True)
        console.print(f"wrote the {fmt} report to {out}")
    elif fmt == "table":
        _print_table(report)
    else:
        print(render.render(report, fmt), end="")


def _print_table(report: GateReport, console_only: bool = False) -> None:
    rows = [
        (
            render.MARK.get(c.status, "") + " " + c.status,
            c.name,
            render.value_text(c.value),
            render.value_text(c.threshold),
            c.reason,
        )
        for c in report.checks
    ]
    console.print(table(None, ["status", "check", "measured", "threshold", "note"], rows))
    colour = {"passed": "green", "failed": "red", "error": "yellow"}.get(report.status, "white")
    console.print(f"[bold {colour}]{render.headline(report)}[/] (report #{report.id})")


@gate.command("run")
def gate_run(
    name: Name,
    version: VersionArg,
    contract_version: Annotated[
        int | None, typer.Option("--contract-version", help="Default: the current one.")
    ] = None,
    fmt: Format = None,
    out: Out = None,
    home: Home = None,
    tracking_uri: Uri = None,
) -> None:
    """Check a version against its contract and store the report.

    Exit code 0: every check passed; 1: a check failed; 2: the contract, the data or the
    model could not be read (a check has status error).

    Example: shipway gate run churn 4 --format junit --out gate-report.xml
    """
    with client_for(home, tracking_uri) as client:
        number = resolve_version(client, name, version)
        if fmt in (None, "table") and out is None:
            console.print(f"running the gates of {name} v{number} …")
        report = client.run_gates(name, number, contract_version)
    _emit(report, fmt, out)
    raise typer.Exit(EXIT.get(report.status, 1))


@gate.command("report")
def gate_report(
    name: Name,
    version: VersionArg,
    report_id: Annotated[int | None, typer.Option("--id", help="A given report.")] = None,
    fmt: Format = None,
    out: Out = None,
    home: Home = None,
    tracking_uri: Uri = None,
) -> None:
    """Print a stored gate report (default: the version's latest), exiting as `gate run` did.

    Example: shipway gate report churn latest --format markdown >> "$GITHUB_STEP_SUMMARY"
    """
    with client_for(home, tracking_uri) as client:
        number = resolve_version(client, name, version)
        if report_id is not None:
            report = client.get_gate_report(report_id)
        else:
            found = client.gate_reports(name, number)
            if not found:
                raise InvalidInput(
                    f"{name} v{number} has no gate report; run `shipway gate run {name} {number}`"
                )
            report = found[-1]
    _emit(report, fmt, out)
    raise typer.Exit(EXIT.get(report.status, 1))


@gate.command("list")
def gate_list(
    name: Name,
    version: Annotated[str | None, typer.Argument(help="Only this version.")] = None,
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """List gate reports of a model (or of one version).

    Example: shipway gate list churn 4
    """
    with client_for(home, tracking_uri) as client:
        number = None if version is None else resolve_version(client, name, version)
        found = client.gate_reports(name, number)
        current = None
        with contextlib.suppress(NotFound):  # no contract: no report is current
            current = client.get_contract(name).version
    if json:
        print_json([r.to_dict() | {"current": r.contract_version == current} for r in found])
        return
    rows = [
        (
            r.id,
            r.version,
            r.contract_version if r.contract_version == current else f"{r.contract_version} (old)",
            r.status,
            r.created_by,
            when(r.created_at),
        )
        for r in found
    ]
    console.print(table(None, ["report", "version", "contract", "status", "by", "when"], rows))


# sign-offs, reviews, promotion ---------------------------------------------------------


def approve(
    name: Name,
    version: VersionArg,
    role: Role,
    comment: Annotated[str, typer.Option("--comment", help="What you checked.")] = "",
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """Sign off on a version under a contract role (you must be listed under that role).

    Example: shipway approve churn 4 --role engineering --comment "load-tested at 200 rps"
    """
    _decide(name, version, role, "approve", comment, home, tracking_uri, json)


def reject(
    name: Name,
    version: VersionArg,
    role: Role,
    comment: Annotated[str, typer.Option("--comment", help="Why (required).")] = "",
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """Reject a version under a contract role; it blocks promotion until you approve.

    Example: shipway reject churn 4 --role product --comment "recall on EU too low"
    """
    _decide(name, version, role, "reject", comment, home, tracking_uri, json)


def _decide(
    name: str,
    version: str,
    role: str,
    decision: str,
    comment: str,
    home: Path | None,
    uri: str | None,
    json: bool,
) -> None:
    with client_for(home, uri) as client:
        number = resolve_version(client, name, version)
        approval = client.contracts.decide(name, number, role, decision, comment)
    if json:
        print_json(approval.to_dict())
        return
    verb = "approved" if decision == "approve" else "rejected"
    console.print(f"{approval.actor} {verb} {name} v{number} as {role}")


def review(
    name: Name,
    version: VersionArg,
    rating: Annotated[int | None, typer.Option("--rating", min=1, max=5, help="1 to 5.")] = None,
    comment: Annotated[str, typer.Option("--comment", help="Your feedback.")] = "",
    list_: Annotated[bool, typer.Option("--list", help="Show the version's reviews.")] = False,
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """Leave feedback on a version (never counts as a sign-off), or --list it.

    Example: shipway review churn 4 --rating 4 --comment "explanations look sensible"
    """
    with client_for(home, tracking_uri) as client:
        number = resolve_version(client, name, version)
        if list_:
            found = client.reviews(name, number)
            if json:
                print_json([r.to_dict() for r in found])
                return
            rows = [(r.actor, r.rating or "", r.comment, when(r.created_at)) for r in found]
            console.print(table(None, ["by", "rating", "comment", "when"], rows))
            return
        made = client.review(name, number, rating, comment)
    if json:
        print_json(made.to_dict())
    else:
        console.print(f"review by {made.actor} recorded on {name} v{number}")


def promote(
    name: Name,
    version: VersionArg,
    alias: Annotated[str, typer.Option("--alias", help="The alias to move.")] = "production",
    check: Annotated[
        bool, typer.Option("--check", help="Only say what is missing; change nothing.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Admins: promote anyway (needs --reason).")
    ] = False,
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the record).")] = "",
    home: Home = None,
    tracking_uri: Uri = None,
    json: Json = False,
) -> None:
    """Move an alias to a version if its contract allows it; otherwise list what is missing
    (exit 1).

    Example: shipway promote churn 4 --alias production
    """
    with client_for(home, tracking_uri) as client:
        number = resolve_version(client, name, version)
        if check:
            status = client.promotion_status(name, number, alias)
            if json:
                print_json(status)
            elif status["ready"]:
                console.print(f"{name} v{number} may take {alias!r}")
            else:
                console.print(f"{name} v{number} cannot take {alias!r} yet:")
                for item in status["missing"]:
                    console.print(f"  - {item}", highlight=False)
            raise typer.Exit(0 if status["ready"] else 1)
        promotion = client.promote(name, number, alias, force=force, reason=reason)
    if json:
        print_json(promotion.to_dict())
        return
    if promotion.outcome == "forced":
        console.print(f"[bold yellow]forced[/] {name}@{alias} -> v{number}; it lacked:")
        for item in promotion.reasons:
            console.print(f"  - {item}", highlight=False)
    else:
        console.print(f"promoted {name} v{number} to {alias!r}")


# CI ------------------------------------------------------------------------------------

ci = typer.Typer(help="Continuous integration: workflows that run the gates.", no_args_is_help=True)


@ci.command("init")
def ci_init(
    github: Annotated[
        bool, typer.Option("--github", help="Write a GitHub Actions workflow.")
    ] = False,
    gitlab: Annotated[bool, typer.Option("--gitlab", help="Write a .gitlab-ci.yml job.")] = False,
    model: Annotated[str, typer.Option("--model", help="The registered model.")] = "model",
    train: Annotated[
        str, typer.Option("--train", help="The training command.")
    ] = "python train.py",
    install: Annotated[
        str, typer.Option("--install", help="The install command.")
    ] = "pip install -r requirements.txt",
    contract_file: Annotated[
        str, typer.Option("--contract", help="The contract file in the repository.")
    ] = "contract.yaml",
    directory: Annotated[Path, typer.Option("--dir", help="The repository root.")] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
) -> None:
    """Write a CI workflow that installs, trains, stores the contract, runs the gates (JUnit
    report and a Markdown summary) and fails the pipeline when a gate fails.

    Example: shipway ci init --github --model churn --train "python train.py"
    """
    from shipway.blobs.atomic import atomic_writer
    from shipway.contracts.ci import github_workflow, gitlab_pipeline

    if github == gitlab:
        raise InvalidInput("choose one: --github or --gitlab")
    check_model_name(model)
    if github:
        path = directory / ".github" / "workflows" / "shipway-gates.yml"
        text = github_workflow(model, train, install, contract_file)
    else:
        path = directory / ".gitlab-ci.yml"
        text = gitlab_pipeline(model, train, install, contract_file)
    if path.exists() and not force:
        raise InvalidInput(f"{path} exists; pass --force to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(path) as fh:
        fh.write(text.encode())
    console.print(
        f"wrote {path}; set SHIPWAY_TRACKING_URI and SHIPWAY_TOKEN as CI secrets "
        "(see docs/contracts.md#ci)"
    )
