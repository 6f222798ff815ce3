"""The CLI: contract files with line-numbered errors, gate exit codes and report formats,
sign-offs, refusals, and CI workflows whose commands really run."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import orjson
import pytest
import yaml
from churn_project import Project

from shipway.contracts.report import to_html, to_junit, to_markdown
from shipway.records import GateReport

BIN = Path(sys.executable).parent


def shipway(
    *args: str, home: Path, user: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPWAY_")}
    env["COLUMNS"] = "200"
    env["SHIPWAY_HOME"] = str(home)
    if user:
        env["SHIPWAY_USER"] = user
    return subprocess.run(
        [sys.executable, "-m", "shipway", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
    )


def test_contract_commands(local_project: Project, tmp_path: Path) -> None:
    home = local_project.client.settings.home
    bad = tmp_path / "bad.yaml"
    bad.write_text(local_project.contract().replace("- roc_auc >= 0.85", "- roc_aux >= 0.85"))
    out = shipway("contract", "set", "churn", str(bad), home=home)
    assert out.returncode == 2
    line = next(i for i, row in enumerate(bad.read_text().splitlines(), 1) if "roc_aux" in row)
    assert f"line {line}, gates[1]: unknown metric 'roc_aux'; did you mean 'roc_auc'?" in out.stderr
    assert shipway("contract", "check", str(bad), home=home).returncode == 2

    good = tmp_path / "contract.yaml"
    good.write_text(local_project.contract())
    out = shipway("contract", "set", "churn", str(good), "-m", "first", home=home)
    assert out.returncode == 0 and "stored contract version 1" in out.stdout
    assert "unchanged" in shipway("contract", "set", "churn", str(good), home=home).stdout
    good.write_text(local_project.contract(accuracy=0.75))
    shipway("contract", "set", "churn", str(good), "-m", "stricter", home=home)
    shown = shipway("contract", "show", "churn", "--version", "1", home=home)
    assert "accuracy >= 0.72" in shown.stdout
    history = orjson.loads(shipway("contract", "history", "churn", "--json", home=home).stdout)
    assert [(c["version"], c["message"]) for c in history] == [(1, "first"), (2, "stricter")]
    diff = shipway("contract", "diff", "churn", home=home)
    assert "sections changed: gates" in diff.stdout
    assert "-  - accuracy >= 0.72" in diff.stdout and "+  - accuracy >= 0.75" in diff.stdout

    template = tmp_path / "new.yaml"
    assert shipway("contract", "init", "churn", "--out", str(template), home=home).returncode == 0
    assert shipway("contract", "check", str(template), home=home).returncode == 0


def test_gate_exit_codes_and_report_files(local_project: Project, tmp_path: Path) -> None:
    home = local_project.client.settings.home
    local_project.client.set_contract("churn", local_project.contract())
    out = shipway("gate", "run", "churn", "1", "--out", str(tmp_path / "r.xml"), home=home)
    assert out.returncode == 0, out.stderr
    suite = ET.parse(tmp_path / "r.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "0" and suite.get("errors") == "0"
    assert int(suite.get("tests") or 0) == len(suite.findall("testcase")) >= 10

    out = shipway("gate", "run", "churn", "latest", "--format", "markdown", home=home)
    assert out.returncode == 1
    assert "## Gate report #2: churn v2 ❌ failed" in out.stdout
    assert "| ❌ | roc_auc >= 0.85 |" in out.stdout

    listed = orjson.loads(shipway("gate", "list", "churn", "--json", home=home).stdout)
    assert [(r["version"], r["status"], r["current"]) for r in listed] == [
        (1, "passed", True),
        (2, "failed", True),
    ]
    again = shipway("gate", "report", "churn", "2", "--format", "json", home=home)
    assert again.returncode == 1 and orjson.loads(again.stdout)["id"] == 2

    broken = local_project.contract().replace(
        "  - roc_auc >= 0.85\n", "  - roc_auc >= 0.85 on gone@1\n"
    )
    local_project.client.set_contract("churn", broken)
    out = shipway("gate", "run", "churn", "1", home=home)
    assert out.returncode == 2 and "no dataset 'gone'" in out.stdout
    assert shipway("gate", "run", "churn", "x1", home=home).returncode == 2


def test_report_renderings(local_project: Project) -> None:
    client = local_project.client
    client.set_contract(
        "churn", local_project.contract().replace("- roc_auc >= 0.85", "- roc_auc >= 0.99")
    )
    report = client.run_gates("churn", 1)
    assert GateReport.from_dict(orjson.loads(orjson.dumps(report.to_dict()))) == report
    markdown = to_markdown(report)
    rows = [line for line in markdown.splitlines() if line.startswith("| ")]
    assert len(rows) == len(report.checks) + 1  # the header and one row per check
    assert "| ❌ | roc_auc >= 0.99 |" in markdown
    root = ET.fromstring(to_junit(report).split("\n", 1)[1])
    failures = root.findall(".//failure")
    assert [f.get("message") for f in failures] == [
        c.reason for c in report.checks if c.status == "failed"
    ]
    assert root.find(".//skipped") is not None  # the relative gate, with no production yet
    html = to_html(report)
    assert "<td>recall &gt;= 0.5 where region = &#x27;EU&#x27;</td>" in html
    assert 'class="failed"' in html


def test_signoffs_and_promotion_from_the_command_line(local_project: Project) -> None:
    home = local_project.client.settings.home
    local_project.client.set_contract("churn", local_project.contract())
    out = shipway("promote", "churn", "1", home=home)
    assert out.returncode == 1
    assert "no gate report for version 1" in out.stderr and "needs 1 engineering" in out.stderr
    shipway("gate", "run", "churn", "1", home=home)
    out = shipway("approve", "churn", "1", "--role", "engineering", home=home, user="dana")
    assert out.returncode == 1 and "not among the engineering owners" in out.stderr
    assert (
        shipway("approve", "churn", "1", "--role", "engineering", home=home, user="eli").returncode
        == 0
    )
    assert (
        shipway(
            "approve",
            "churn",
            "1",
            "--role",
            "data-science",
            "--comment",
            "ok",
            home=home,
            user="dana",
        ).returncode
        == 0
    )
    out = shipway(
        "review", "churn", "1", "--rating", "5", "--comment", "clear", home=home, user="pat"
    )
    assert out.returncode == 0
    assert shipway("promote", "churn", "1", "--check", home=home).returncode == 0
    out = shipway("promote", "churn", "1", "--json", home=home)
    assert out.returncode == 0 and orjson.loads(out.stdout)["outcome"] == "promoted"
    reviews = orjson.loads(shipway("review", "churn", "1", "--list", "--json", home=home).stdout)
    assert [(r["actor"], r["rating"]) for r in reviews] == [("pat", 5)]


TRAIN = """\
import os
from pathlib import Path

import shipway as sw
from shipway.demo.churn import FEATURES, churn_frame, good_model, weak_model

train, holdout = churn_frame(2000, seed=1), churn_frame(800, seed=2)
Path("data").mkdir(exist_ok=True)
train.to_csv("data/train.csv", index=False)
holdout.to_csv("data/holdout.csv", index=False)
train_v = sw.datasets.add("churn-train", "data/train.csv")
holdout_v = sw.datasets.add("churn-holdout", "data/holdout.csv")
fit = weak_model if os.environ.get("WEAK") else good_model
with sw.start_run(experiment="churn") as run:
    run.log_input(train_v, context="training")
    run.log_input(holdout_v, context="holdout")
    run.log_model(fit(train), input_example=train[FEATURES].head(3), register="churn")
"""


def run_steps(commands: list[str], cwd: Path, env: dict[str, str]) -> list[int]:
    codes = []
    for command in commands:
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", command],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        codes.append(done.returncode)
        if done.returncode != 0:
            break
    return codes


@pytest.mark.parametrize("kind", ["github", "gitlab"])
def test_ci_workflows_parse_and_their_commands_run(
    kind: str, tmp_path: Path, local_project: Project
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "train.py").write_text(TRAIN)
    (repo / "requirements.txt").write_text("shipway\n")
    text = local_project.contract().replace(local_project.holdout_ref, "churn-holdout@1")
    (repo / "contract.yaml").write_text(text)
    home = tmp_path / "ci-home"
    out = shipway("ci", "init", f"--{kind}", "--model", "churn", "--dir", str(repo), home=home)
    assert out.returncode == 0, out.stderr
    assert (
        shipway("ci", "init", f"--{kind}", "--dir", str(repo), home=home).returncode == 2
    )  # exists

    if kind == "github":
        workflow = yaml.safe_load((repo / ".github/workflows/shipway-gates.yml").read_text())
        steps = workflow["jobs"]["gates"]["steps"]
        assert steps[0]["uses"].startswith("actions/checkout")
        assert set(workflow["jobs"]["gates"]["env"]) == {"SHIPWAY_TRACKING_URI", "SHIPWAY_TOKEN"}
        commands = [s["run"] for s in steps if "run" in s]
        assert workflow[True]["pull_request"] is None  # "on:" parses as True in YAML 1.1
    else:
        pipeline = yaml.safe_load((repo / ".gitlab-ci.yml").read_text())
        job = pipeline["shipway-gates"]
        assert job["artifacts"]["reports"]["junit"] == "gate-report.xml"
        commands = job["script"]
    assert any("gate run churn latest --format junit" in c for c in commands)
    assert any("--format markdown" in c for c in commands)

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHIPWAY_", "GITHUB_", "CI_"))}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        SHIPWAY_HOME=str(home),
        SHIPWAY_TRACKING_URI="",
        SHIPWAY_TOKEN="",
        GITHUB_STEP_SUMMARY=str(tmp_path / "summary.md"),
        PIP_NO_INDEX="1",
    )
    assert run_steps(commands, repo, env) == [0] * len(commands)
    assert ET.parse(repo / "gate-report.xml").getroot().find("testsuite").get("failures") == "0"  # type: ignore[union-attr]
    if kind == "github":
        assert "✅ passed" in (tmp_path / "summary.md").read_text()

    env["WEAK"] = "1"  # a worse model: the pipeline must fail at the gate step
    codes = run_steps(commands, repo, env)
    assert codes[:-1] == [0] * (len(commands) - 1) and codes[-1] == 1
    suite = ET.parse(repo / "gate-report.xml").getroot().find("testsuite")
    assert suite is not None and int(suite.get("failures") or 0) >= 1
    assert "❌ failed" in (repo / "gate-report.md").read_text()
