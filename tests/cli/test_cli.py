"""The CLI: tables and JSON, one-line errors, exit codes, and the demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import shipway as sw
from shipway.cli.main import main
from shipway.config import Settings


def run_cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPWAY_")}
    env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "shipway", *args, "--home", str(home)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.fixture
def home_with_runs(sqlite_settings: Settings) -> tuple[Path, list[str]]:
    client = sw.Client("", settings=sqlite_settings)
    ids = []
    for name, acc in [("lr", 0.91), ("rf", 0.95)]:
        with sw.start_run(experiment="churn", name=name, client=client, capture=False) as run:
            run.log_params({"model": name})
            run.log_metric("acc", acc)
        ids.append(run.id)
    client.close()
    return sqlite_settings.home, ids


def test_runs_list_json_and_table(home_with_runs: tuple[Path, list[str]]) -> None:
    home, ids = home_with_runs
    out = run_cli("runs", "list", "-e", "churn", "-o", "metrics.acc desc", "--json", home=home)
    assert out.returncode == 0, out.stderr
    listed = json.loads(out.stdout)["runs"]
    assert [r["id"] for r in listed] == [ids[1], ids[0]]
    out = run_cli("runs", "list", "-f", "params.model = 'rf'", home=home)
    assert out.returncode == 0 and ids[1] in out.stdout and ids[0] not in out.stdout


def test_runs_show_and_compare(home_with_runs: tuple[Path, list[str]]) -> None:
    home, ids = home_with_runs
    out = run_cli("runs", "show", ids[0], home=home)
    assert out.returncode == 0 and "model" in out.stdout and "0.91" in out.stdout
    out = run_cli("runs", "compare", *ids, "--json", home=home)
    data = json.loads(out.stdout)
    assert data["metrics"]["acc"] == [0.91, 0.95]
    assert data["params"]["model"] == ["lr", "rf"]


def test_runs_delete(home_with_runs: tuple[Path, list[str]]) -> None:
    home, ids = home_with_runs
    assert run_cli("runs", "delete", ids[0], home=home).returncode == 0
    listed = json.loads(run_cli("runs", "list", "--json", home=home).stdout)["runs"]
    assert [r["id"] for r in listed] == [ids[1]]


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["runs", "show", "no-such-run"], 2, "no run with id 'no-such-run'"),
        (["runs", "list", "-f", "metrics.acc >> 1"], 2, "invalid filter at position"),
        (["users", "create", "bob", "--role", "boss"], 2, "role 'boss' is not one of"),
        (["runs", "list", "--limit", "nope"], 2, "--limit"),
        (["runs", "frobnicate"], 2, "frobnicate"),
    ],
)
def test_errors_are_one_line_with_exit_codes(
    home_with_runs: tuple[Path, list[str]], args: list[str], code: int, fragment: str
) -> None:
    home, _ = home_with_runs
    out = run_cli(*args, home=home)
    assert out.returncode == code, out.stdout + out.stderr
    assert fragment in out.stderr
    assert "Traceback" not in out.stderr


def test_server_down_is_exit_1(tmp_path: Path) -> None:
    code = main(["runs", "list", "--home", str(tmp_path), "--tracking-uri", "http://127.0.0.1:9"])
    assert code == 1


def test_users_and_tokens(tmp_path: Path) -> None:
    assert (
        run_cli("users", "create", "alice", "--role", "data-scientist", home=tmp_path).returncode
        == 0
    )
    out = run_cli("tokens", "create", "alice", "--json", home=tmp_path)
    token = json.loads(out.stdout)
    assert token["secret"].startswith("swt_")
    listed = json.loads(run_cli("tokens", "list", "--json", home=tmp_path).stdout)
    assert listed[0]["id"] == token["id"] and listed[0]["secret"] is None
    events = json.loads(run_cli("events", "list", "--json", home=tmp_path).stdout)["events"]
    assert [e["action"] for e in events] == ["create", "create"]


def test_every_command_has_help_with_an_example() -> None:
    import typer.main

    from shipway.cli.main import app

    group = typer.main.get_command(app)
    missing = []
    for name, command in group.load_all().items():  # type: ignore[attr-defined]
        subs = getattr(command, "commands", {name: command})
        for sub_name, sub in subs.items():
            if sub_name != "version" and "Example:" not in (sub.help or ""):
                missing.append(f"{name} {sub_name}")
    assert missing == []


def test_the_command_table_carries_each_command_s_own_help_line() -> None:
    import typer.main

    from shipway.cli.main import COMMANDS, app

    loaded = typer.main.get_command(app).load_all()  # type: ignore[attr-defined]
    assert list(loaded) == list(COMMANDS)
    for name, command in loaded.items():
        assert command.name == name
        own = (command.help or "").split("\n\n")[0].strip()
        assert COMMANDS[name][2] == own, name


def test_help_imports_no_command_module() -> None:
    code = (
        "import sys; from shipway.cli.main import main; main(['--help']); "
        "print(sorted(m for m in sys.modules if m.startswith('shipway')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = out.stdout.strip().splitlines()[-1]
    assert (
        loaded
        == "['shipway', 'shipway._version', 'shipway.cli', 'shipway.cli.main', 'shipway.errors']"
    )


def test_runs_list_on_a_local_home_imports_nothing_heavy(tmp_path: Path) -> None:
    code = (
        "import sys; from shipway.cli.main import main; "
        f"main(['runs', 'list', '--home', {str(tmp_path)!r}]); "
        "print(sorted(m for m in ('pandas', 'numpy', 'pyarrow', 'duckdb', 'sklearn', "
        "'shipway.monitoring', 'shipway.serving.app', 'shipway.contracts.gates') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    out = run_cli("demo", "--no-wait", "--port", "0", home=tmp_path / "demo")
    assert out.returncode == 0, out.stderr
    assert "comparison" in out.stdout and "server: http://127.0.0.1:" in out.stdout
    listed = json.loads(
        run_cli("runs", "list", "-e", "demo-breast-cancer", "--json", home=tmp_path / "demo").stdout
    )["runs"]
    assert sorted(r["name"] for r in listed) == ["logreg", "rf"]
    assert all(r["status"] == "finished" and "roc_auc" in r["metrics"] for r in listed)
    assert "data diff demo-train@1 -> demo-train@2" in out.stdout
    assert "prediction log: 300 rows" in " ".join(out.stdout.split())
    logged = run_cli(
        "predictions",
        "query",
        "demo-cancer",
        "SELECT protocol, count(*) AS n FROM predictions GROUP BY 1 ORDER BY 1",
        "--json",
        home=tmp_path / "demo",
    )
    assert json.loads(logged.stdout) == [
        {"protocol": "mlflow", "n": 100},
        {"protocol": "native", "n": 100},
        {"protocol": "v2", "n": 100},
    ]
    versions = json.loads(
        run_cli("data", "versions", "demo-train", "--json", home=tmp_path / "demo").stdout
    )
    assert [v["version"] for v in versions] == [1, 2]
    shown = json.loads(
        run_cli("data", "show", "demo-holdout@1", "--json", home=tmp_path / "demo").stdout
    )
    assert sorted(u["run_id"] for u in shown["used_by"]) == sorted(r["id"] for r in listed)
    assert {u["context"] for u in shown["used_by"]} == {"holdout"}
    demo_home = tmp_path / "demo"
    versions = json.loads(
        run_cli("models", "versions", "demo-cancer", "--json", home=demo_home).stdout
    )
    assert [v["version"] for v in versions] == [1, 2]
    staged = [v for v in versions if "staging" in v["aliases"]]
    assert len(staged) == 1
    assert "## Lineage" in out.stdout or "lineage of models:/demo-cancer/" in out.stdout
    # the contract act: one candidate refused with its reasons, the other promoted
    text = " ".join(out.stdout.split())
    assert "refused: churn version 1 cannot take 'production'" in text
    assert "roc_auc >= 0.85 failed: roc_auc is" in text
    assert "signed off on v2: dana (data-science), eli (engineering)" in text
    assert "promoted churn v2 to production" in text
    assert "## Gate report #2: churn v2 ✅ passed" in out.stdout
    # the monitoring act: drift and quality alerts on v3, production rolled back to v2
    act = out.stdout[out.stdout.find("monitoring: production") :]  # shown on failure
    assert "normal traffic: 1200 predictions, 1200 labels; monitor: 0 alerts" in text, act
    assert "most: tenure_months (wasserstein" in text
    assert "rollback: rolled back (v3 -> v2)" in text
    assert "live quality breached: accuracy" in text
    churn = json.loads(run_cli("models", "show", "churn", "--json", home=demo_home).stdout)
    assert churn["aliases"] == {"production": 2}
    page = (demo_home / "demo-data" / "churn" / "monitoring.html").read_text()
    assert "rolled back" in page and "tenure_months" in page and page.count("<svg") >= 3
    alerts = json.loads(run_cli("alerts", "list", "--json", home=demo_home).stdout)
    assert {a["rule"] for a in alerts} == {"drift", "live"}
    # left for the workspace: the deployment its monitoring page shows, and where to look
    deployed = json.loads(run_cli("deployments", "list", "--json", home=demo_home).stdout)
    assert [(d["name"], d["model"]) for d in deployed] == [("churn", "models:/churn@production")]
    assert "/deployments/churn (monitoring)" in text


def test_server_on_a_taken_port_is_exit_1(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = run_cli("server", "--port", str(port), home=tmp_path)
    assert out.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in out.stderr


def test_compare_json_keeps_non_finite_values(sqlite_settings: Settings) -> None:
    client = sw.Client("", settings=sqlite_settings)
    ids = []
    for value in (float("nan"), 1.0):
        with sw.start_run(client=client, capture=False) as run:
            run.log_metric("loss", value)
        ids.append(run.id)
    out = run_cli("runs", "compare", *ids, "--json", home=sqlite_settings.home)
    assert json.loads(out.stdout)["metrics"]["loss"] == ["NaN", 1.0]
    assert run_cli("runs", "compare", ids[0], home=sqlite_settings.home).returncode == 2


def test_data_commands(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.csv").write_text("x,y\n1,2\n")
    home = tmp_path / "home"
    out = run_cli("data", "add", "d", str(data), "-m", "first", "--json", home=home)
    assert json.loads(out.stdout)["created"] is True
    assert run_cli("data", "status", "d", str(data), home=home).returncode == 0
    (data / "a.csv").write_text("x,y\n1,3\n")
    changed = run_cli("data", "status", "d", str(data), home=home)
    assert changed.returncode == 1 and "changed: a.csv" in changed.stdout
    assert run_cli("data", "add", "d", str(data), home=home).returncode == 0
    diff = json.loads(run_cli("data", "diff", "d@1", "d@2", "--json", home=home).stdout)
    assert diff["files"]["changed"] == ["a.csv"]
    assert "| x |" in run_cli("data", "show", "d@1", "--markdown", home=home).stdout
    assert run_cli("data", "get", "d@1", str(tmp_path / "out"), home=home).returncode == 0
    assert (tmp_path / "out" / "a.csv").read_text() == "x,y\n1,2\n"
    missing = run_cli("data", "get", "d@7", str(tmp_path / "out2"), home=home)
    assert missing.returncode == 2 and "has no version 7" in missing.stderr


def test_models_commands(tmp_path: Path) -> None:
    from sklearn.datasets import load_iris
    from sklearn.tree import DecisionTreeClassifier

    home = tmp_path / "home"
    settings = Settings.load(overrides={"home": str(home)}, environ={})
    client = sw.Client("", settings=settings)
    X, y = load_iris(return_X_y=True, as_frame=True)
    for depth in (1, 3):
        with sw.start_run(experiment="iris", client=client, capture=False) as run:
            run.log_model(
                DecisionTreeClassifier(max_depth=depth).fit(X, y),
                "model",
                input_example=X.head(3),
                register="iris",
            )
    client.close()
    assert run_cli("models", "alias", "iris", "production", "1", home=home).returncode == 0
    moved = run_cli("models", "alias", "iris", "production", "2", "--reason", "deeper", home=home)
    assert "iris@production: v1 -> v2" in moved.stdout
    back = run_cli("models", "rollback", "iris", "--alias", "production", home=home)
    assert "rolled back iris@production from v2 to v1" in back.stdout
    history = json.loads(run_cli("models", "history", "iris", "--json", home=home).stdout)
    assert [(e["from_version"], e["to_version"]) for e in history] == [(None, 1), (1, 2), (2, 1)]
    listed = json.loads(run_cli("models", "list", "--json", home=home).stdout)
    assert listed[0]["aliases"] == {"production": 1}
    card_file = tmp_path / "CARD.md"
    out = run_cli(
        "models",
        "card",
        "iris",
        "2",
        "--out",
        str(card_file),
        "--section",
        "Limitations=Toy data",
        home=home,
    )
    assert out.returncode == 0, out.stderr
    text = card_file.read_text()
    card_file.write_text(text.replace("Toy data", "Toy data only, 150 flowers"))
    run_cli("models", "card", "iris", "2", "--out", str(card_file), home=home)
    assert "Toy data only, 150 flowers" in card_file.read_text()
    env = run_cli("models", "env", "models:/iris@production", home=home)
    assert "scikit-learn==" in env.stdout
    lineage = json.loads(run_cli("models", "lineage", "iris", "1", "--json", home=home).stdout)
    assert lineage["run"]["experiment"] == "iris"
    bad = run_cli("models", "alias", "iris", "7", "1", home=home)
    assert bad.returncode == 2 and "looks like a version number" in bad.stderr
