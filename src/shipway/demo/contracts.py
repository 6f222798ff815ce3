"""The demo's contract act: the agreement on ``churn``, enforced.

Two candidates are trained on a synthetic churn table; a contract is stored; the gates run
on both (the one-split tree fails its roc_auc gate and is refused promotion, with every
reason printed); a data scientist and an engineer sign off on the other, which is then
promoted; its Markdown gate report is printed.
"""

from __future__ import annotations

from pathlib import Path

import shipway as sw
from shipway.cli.output import console, table
from shipway.config import Settings
from shipway.contracts.report import headline, to_markdown, value_text
from shipway.demo.churn import FEATURES, churn_frame, contract_text, good_model, weak_model
from shipway.errors import PromotionRefused
from shipway.records import ModelVersion

MODEL = "churn"


def as_user(user: str, url: str, settings: Settings) -> sw.Client:
    """A client acting as ``user`` (the demo server has auth off, so the client names
    itself; with auth on, the token decides who signs)."""
    named = Settings.load(overrides={"home": str(settings.home), "user": user})
    return sw.Client(url, settings=named)


def run(client: sw.Client, url: str, folder: Path) -> None:
    console.print("\n[bold]contracts[/]: the agreement on churn, enforced")
    folder.mkdir(parents=True, exist_ok=True)
    train, holdout = churn_frame(4000, seed=1), churn_frame(1500, seed=2)
    train.to_csv(folder / "churn-train.csv", index=False)
    holdout.to_csv(folder / "churn-holdout.csv", index=False)
    train_v = sw.datasets.add("churn-train", folder / "churn-train.csv", client=client)
    holdout_v = sw.datasets.add("churn-holdout", folder / "churn-holdout.csv", client=client)
    versions = {}
    for name, fit in (("one-split tree", weak_model), ("logistic regression", good_model)):
        with sw.start_run(experiment="churn", name=name, client=client) as run:
            run.log_input(train_v, context="training")
            run.log_input(holdout_v, context="holdout")
            version = run.log_model(
                fit(train),
                input_example=train[FEATURES].head(3),
                register=MODEL,
                description=name,
            )
        assert isinstance(version, ModelVersion)
        versions[name] = version.version
    weak, good = versions["one-split tree"], versions["logistic regression"]
    console.print(f"registered {MODEL} v{weak} (one-split tree) and v{good} (logistic regression)")

    contract_file = folder / "contract.yaml"
    contract_file.write_text(contract_text(holdout_v.ref))
    stored, _ = client.set_contract(MODEL, contract_file.read_text(), "agreed at kick-off")
    spec = stored.spec
    console.print(
        f"contract v{stored.version} stored from {contract_file}: {len(spec['gates'])} gates, "
        f"latency p95 <= {spec['budgets']['latency']['p95_ms']:g} ms, sign-offs "
        f"{', '.join(f'{n} {r}' for r, n in spec['approvals'].items())}"
    )
    reports = {}
    for number in (weak, good):
        report = client.run_gates(MODEL, number)
        reports[number] = report
        cells = [
            (c.status, c.name, value_text(c.value), c.reason[:70])
            for c in report.checks
            if c.kind in ("metric", "latency", "schema", "privacy")
        ]
        console.print(table(headline(report), ["status", "check", "measured", "note"], cells))

    try:
        client.promote(MODEL, weak)
    except PromotionRefused as refused:
        console.print(f"[bold red]refused[/]: {refused.message}", highlight=False)
    dana, eli = as_user("dana", url, client.settings), as_user("eli", url, client.settings)
    dana.approve(MODEL, good, "data-science", "beats the baseline on every segment")
    eli.approve(MODEL, good, "engineering", "p99 well inside the budget")
    dana.review(MODEL, good, rating=4, comment="explanations would help the retention team")
    dana.close()
    eli.close()
    console.print(f"signed off on v{good}: dana (data-science), eli (engineering)")
    promotion = client.promote(MODEL, good)
    console.print(
        f"[bold green]promoted[/] {MODEL} v{good} to production ({promotion.outcome}); "
        f"report #{reports[good].id} passed"
    )
    console.print(
        "the gate report as a CI job summary "
        f"(shipway gate report {MODEL} {good} --format markdown):"
    )
    print(to_markdown(reports[good]), flush=True)
