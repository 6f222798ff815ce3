"""Pipelines on a real Dask cluster (two worker processes) over a real home: caching by
content (code, params, dataset versions), fan-out and fan-in, the parent run and its
nested step runs, failure then resume, a worker killed mid-step, shell stages from
shipway.yaml, and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pipeline_files import PIPELINE
from sklearn.datasets import load_iris

import shipway as sw
from shipway.config import Settings
from shipway.errors import InvalidInput
from shipway.runner import PipelineFailed, load


@pytest.fixture
def home(sqlite_settings: Settings, tmp_path: Path) -> Any:
    client = sw.Client("", settings=sqlite_settings)
    frame = load_iris(as_frame=True).frame
    frame.to_csv(tmp_path / "iris.csv", index=False)
    sw.datasets.add("iris", tmp_path / "iris.csv", client=client)
    yield client
    client.close()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "pipeline.py").write_text(PIPELINE)
    return folder


def states(result: Any) -> dict[str, str]:
    return {s.name: s.status for s in result.steps}


def test_unchanged_is_cached_and_each_change_reruns_exactly_its_dependents(
    home: sw.Client, project: Path, dask_client: Any, tmp_path: Path
) -> None:
    pipe = load("pipeline.py", project)
    first = pipe.run(client=home, dask=dask_client)
    names = ["prepare", "train[0]", "train[1]", "score[0]", "score[1]", "best"]
    assert [s.name for s in first.steps] == names
    assert set(states(first).values()) == {"ran"}
    workers = {s.worker for s in first.steps}
    assert len(workers) == 2  # the two trainings ran on both workers
    top = first.step("best")
    assert top.output is not None and top.output["kind"] == "value"

    again = pipe.run(client=home, dask=dask_client)
    assert set(states(again).values()) == {"cached"}
    assert again.outcome == "0 step(s) ran, 6 cached"
    for step in again.steps:  # each cached step points at the run that produced it
        assert step.cached_from == first.step(step.name).run_id

    # a param of one fan-out branch: that training and its score re-run, nothing else
    changed = pipe.run({"Cs": [0.01, 2.0]}, client=home, dask=dask_client)
    assert states(changed) == {
        "prepare": "cached",
        "train[0]": "cached",
        "train[1]": "ran",
        "score[0]": "cached",
        "score[1]": "ran",
        "best": "ran",
    }

    # status says why before anything runs: a param, then a new dataset version
    status = {s.name: s for s in pipe.status({"test_share": 0.4}, client=home)}
    assert status["prepare"].reasons == ["param test_share changed (0.3 → 0.4)"]
    assert status["train[0]"].state == "unknown"
    frame = load_iris(as_frame=True).frame.head(120)
    frame.to_csv(tmp_path / "iris.csv", index=False)
    sw.datasets.add("iris", tmp_path / "iris.csv", client=home)
    status = {s.name: s for s in pipe.status({"Cs": [0.01, 2.0]}, client=home)}
    assert status["prepare"].state == "stale"
    assert status["prepare"].reasons == ["input raw: dataset iris@1 → iris@2"]
    rerun = pipe.run({"Cs": [0.01, 2.0]}, client=home, dask=dask_client)
    assert set(states(rerun).values()) == {"ran"}

    # editing one step's code re-runs it and what depends on it, not the others
    source = (project / "pipeline.py").read_text()
    (project / "pipeline.py").write_text(
        source.replace("return float(model.score(", "return 0.0 + float(model.score(")
    )
    edited = load("pipeline.py", project)
    status = {s.name: s for s in edited.status({"Cs": [0.01, 2.0]}, client=home)}
    assert status["score[0]"].reasons == ["code changed"]
    assert status["train[0]"].state == "cached"
    after = edited.run({"Cs": [0.01, 2.0]}, client=home, dask=dask_client)
    assert states(after)["prepare"] == "cached" and states(after)["train[1]"] == "cached"
    assert states(after)["score[0]"] == "ran" and states(after)["score[1]"] == "ran"
    # the scores came out the same, so the fan-in step downstream of them stays cached
    assert states(after)["best"] == "cached"


def test_a_run_is_a_parent_run_with_one_nested_run_per_step(
    home: sw.Client, project: Path, dask_client: Any
) -> None:
    pipe = load("pipeline.py", project)
    result = pipe.run(client=home, dask=dask_client)
    parent = home.get_run(result.run_id)
    assert parent.status == "finished" and parent.experiment == "iris-pipeline"
    assert parent.params == {"Cs": "[0.01,1.0]", "test_share": "0.3"}
    children = list(home.search_runs(filter=f"attributes.parent_id = '{parent.id}'", limit=50))
    assert sorted(c.name for c in children) == sorted(s.name for s in result.steps)
    train = next(c for c in children if c.name == "train[1]")
    assert train.params == {"C": "1.0"}
    assert train.tags["shipway.cache"] == "miss"
    assert train.tags["shipway.worker"].startswith("tcp://")
    assert 0.9 < train.metrics["train_acc"] <= 1.0 and "shipway.duration_s" in train.metrics
    prepare = next(c for c in children if c.name == "prepare")
    assert [(i.dataset, i.version) for i in home.datasets.inputs(prepare.id)] == [("iris", 1)]
    log = home.download_artifacts(prepare.id, "logs/step.log", project / "got")
    assert log.read_text().strip() == "prepared 150 rows"
    record = home.pipelines.get_run(result.number)
    assert record.status == "finished" and record.run_id == parent.id
    assert record.steps["best"]["status"] == "ran" and record.trigger == "manual"
    assert [p.name for p in home.pipelines.list_pipelines()] == ["iris"]


def test_a_failed_step_fails_the_pipeline_and_a_rerun_resumes_there(
    home: sw.Client, project: Path, dask_client: Any
) -> None:
    (project / "fail-train").touch()
    pipe = load("pipeline.py", project)
    with pytest.raises(PipelineFailed) as caught:
        pipe.run(client=home, dask=dask_client)
    result = caught.value.result
    assert "the training data looks wrong" in result.outcome
    assert states(result)["prepare"] == "ran"
    assert {states(result)["train[0]"], states(result)["train[1]"]} <= {"failed", "ran"}
    assert states(result)["best"] == "not run"
    failed = home.get_run(next(s.run_id for s in result.steps if s.status == "failed") or "")
    assert failed.status == "failed" and "ValueError: the training data looks wrong" in (
        failed.error or ""
    )
    assert home.get_run(result.run_id).status == "failed"
    assert home.pipelines.get_run(result.number).status == "failed"

    (project / "fail-train").unlink()
    resumed = pipe.run(client=home, dask=dask_client)
    assert states(resumed)["prepare"] == "cached"
    assert states(resumed)["best"] == "ran"


def test_a_worker_killed_during_a_step_is_retried_on_the_other(
    home: sw.Client, project: Path, dask_client: Any
) -> None:
    (project / "kill-once-1.0").touch()
    pipe = load("pipeline.py", project)
    result = pipe.run(client=home, dask=dask_client)
    assert result.status == "finished" and set(states(result).values()) == {"ran"}
    assert not (project / "kill-once-1.0").exists()
    attempts = list(home.search_runs(filter="attributes.name = 'train[1]'", limit=10))
    assert sorted(a.status for a in attempts) == ["finished", "killed"]
    lost = next(a for a in attempts if a.status == "killed")
    assert "was lost; the step was retried on tcp://" in (lost.error or "")
    dask_client.wait_for_workers(2, timeout=60)  # the nanny restarted the killed one


def test_bad_declarations_get_clear_errors(home: sw.Client, project: Path) -> None:
    (project / "two.py").write_text(
        "import shipway as sw\n"
        "@sw.step\ndef a(x=1):\n    return x\n"
        "@sw.pipeline\ndef p1():\n    a()\n"
        "@sw.pipeline\ndef p2():\n    a(x=object())\n"
        "@sw.pipeline\ndef p3():\n    a(y=2)\n"
    )
    with pytest.raises(
        InvalidInput, match=r"two.py defines 3 of pipeline .* \(p1, p2, p3\); name one"
    ):
        load("two.py", project)
    with pytest.raises(InvalidInput, match="param 'x' of step 'a' is a object; params must"):
        load("two.py:p2", project).status(client=home)
    with pytest.raises(InvalidInput, match="step 'a': got an unexpected keyword argument 'y'"):
        load("two.py:p3", project).status(client=home)
    with pytest.raises(sw.ShipwayError, match="pipeline file missing.py does not exist"):
        load("missing.py", project)
    with pytest.raises(InvalidInput, match=r"pipeline 'iris': .* \(its params: Cs, test_share\)"):
        load("pipeline.py", project).status({"C": 1}, client=home)


SHELL = """
pipeline: shell-demo
params: {n: 3}
stages:
  prepare:
    cmd: mkdir -p out && cat data/raw.csv > out/prep.txt && echo ${n} >> out/prep.txt
    deps: [data/raw.csv]
    outs: [out/prep.txt]
  count:
    cmd: wc -l < out/prep.txt > out/count.txt && echo counted
    deps: [out/prep.txt]
    outs: [out/count.txt]
"""


def test_shell_stages_from_shipway_yaml_cache_restore_and_say_why(
    home: sw.Client, tmp_path: Path, dask_client: Any
) -> None:
    folder = tmp_path / "shell"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "raw.csv").write_text("a,b\n1,2\n")
    (folder / "shipway.yaml").write_text(SHELL)
    pipe = load("shipway.yaml", folder)
    first = pipe.run(client=home, dask=dask_client)
    assert states(first) == {"prepare": "ran", "count": "ran"}
    assert (folder / "out" / "count.txt").read_text().strip() == "3"
    (folder / "out" / "count.txt").unlink()  # a cached run puts its outs back
    again = pipe.run(client=home, dask=dask_client)
    assert states(again) == {"prepare": "cached", "count": "cached"}
    assert (folder / "out" / "count.txt").read_text().strip() == "3"
    (folder / "data" / "raw.csv").write_text("a,b\n1,2\n3,4\n")
    found = {s.name: s for s in pipe.status(client=home)}
    assert found["prepare"].reasons == ["input deps: data/raw.csv changed"]
    assert found["count"].state == "unknown"
    third = pipe.run({"n": 4}, client=home, dask=dask_client)
    assert states(third) == {"prepare": "ran", "count": "ran"}
    assert (folder / "out" / "prep.txt").read_text().splitlines()[-1] == "4"
    assert (folder / "out" / "count.txt").read_text().strip() == "4"

    (folder / "shipway.yaml").write_text(SHELL.replace("outs: [out/count.txt]", "outs: [nope]"))
    with pytest.raises(PipelineFailed, match="declares out 'nope'"):
        load("shipway.yaml", folder).run({"n": 5}, client=home, dask=dask_client)
    (folder / "shipway.yaml").write_text("stages:\n  a: {cmd: 'true', colour: red}\n")
    with pytest.raises(InvalidInput, match="stage 'a': unknown field"):
        load("shipway.yaml", folder)


def cli(*args: str, cwd: Path, home: Path, env: dict[str, str] | None = None) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "shipway", *args, "--home", str(home)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=240,
    )


def test_the_cli_runs_says_what_is_stale_lists_and_shows(
    home: sw.Client, project: Path, dask_client: Any
) -> None:
    where = home.settings.home
    env = {"SHIPWAY_DASK_SCHEDULER": dask_client.scheduler.address}
    ran = cli(
        "pipelines", "run", "-p", "test_share=0.25", "--json", cwd=project, home=where, env=env
    )
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout)
    assert result["status"] == "finished" and len(result["steps"]) == 6
    status = cli("pipelines", "status", "-p", "test_share=0.5", cwd=project, home=where)
    assert status.returncode == 0, status.stderr
    assert "param test_share changed (0.25 → 0.5)" in status.stdout
    assert "0 of 6 step(s) up to date; 6 would run" in status.stdout
    same = cli("pipelines", "status", "-p", "test_share=0.25", cwd=project, home=where)
    assert "6 of 6 step(s) up to date" in same.stdout, same.stdout + same.stderr
    listed = cli("pipelines", "list", "--json", cwd=project, home=where)
    assert [p["name"] for p in json.loads(listed.stdout)] == ["iris"]
    shown = cli("pipelines", "show", "iris", cwd=project, home=where)
    assert shown.returncode == 0 and "6 step(s) ran, 0 cached" in shown.stdout
    bad = cli("pipelines", "run", "-p", "oops", cwd=project, home=where)
    assert bad.returncode != 0 and "--param 'oops' is not NAME=VALUE" in bad.stderr
    missing = cli("pipelines", "show", "nope", cwd=project, home=where)
    assert missing.returncode != 0 and "pipeline 'nope' is not known" in missing.stderr
    assert "Traceback" not in bad.stderr + missing.stderr


def test_params_values_are_typed_from_the_command_line() -> None:
    from shipway.cli.pipelines import parse_params

    assert parse_params(["C=0.5", "name=rf", "Cs=[1, 2]", "on=true", "empty="]) == {
        "C": 0.5,
        "name": "rf",
        "Cs": [1, 2],
        "on": True,
        "empty": "",
    }


def test_pipeline_steps_called_outside_a_pipeline_are_plain_functions(project: Path) -> None:
    pipe = load("pipeline.py", project)
    module = sys.modules[pipe.fn.__module__]
    frame = pd.DataFrame({"x": range(10), "target": [0, 1] * 5})
    train_part, test_part = module.split(frame, 0.3)
    assert (len(train_part), len(test_part)) == (7, 3)
    assert module.best([0.5, 0.9], [1, 2]) == {"C": 2, "accuracy": 0.9, "all": [0.5, 0.9]}
    with pytest.raises(InvalidInput, match="only available inside a running pipeline step"):
        sw.current_step()


DERIVED = """
import shipway as sw


@sw.step
def make(raw):
    frame = raw.to_pandas()
    frame["petal_area"] = frame["petal length (cm)"] * frame["petal width (cm)"]
    frame.to_csv(sw.current_step().out / "features.csv", index=False)


@sw.step
def train(features):
    from sklearn.tree import DecisionTreeClassifier

    frame = features.to_pandas()
    X = frame.drop(columns=["target"])
    return DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, frame["target"])


@sw.step
def example(features):
    return features.to_pandas().drop(columns=["target"]).head(3)


@sw.pipeline(name="derived")
def derived():
    features = sw.add_dataset(make(sw.dataset("iris")), "iris-features")
    sw.register(train(features), "iris-tree", input_example=example(features))
"""


def test_a_step_outputs_a_dataset_version_that_a_registered_model_lists_in_its_lineage(
    home: sw.Client, tmp_path: Path, dask_client: Any
) -> None:
    folder = tmp_path / "derived"
    folder.mkdir()
    (folder / "pipeline.py").write_text(DERIVED)
    pipe = load("pipeline.py", folder)
    first = pipe.run(client=home, dask=dask_client)
    assert first.step("add-dataset").detail == "iris-features@1 from add-dataset"
    version = home.datasets.get("iris-features")
    assert version.version == 1 and version.file_count == 1
    lineage = str(home.get_lineage("iris-tree", 1))
    assert "iris-features@1" in lineage and "iris@1" in lineage
    again = pipe.run(client=home, dask=dask_client)
    assert {s.status for s in again.steps} == {"cached"}
    assert [v.version for v in home.datasets.versions("iris-features")] == [1]


def test_the_runner_names_stay_the_functions_once_every_module_is_loaded() -> None:
    import importlib
    import pkgutil
    import types

    import shipway.runner as runner

    for module in pkgutil.iter_modules(runner.__path__):
        importlib.import_module(f"shipway.runner.{module.name}")
    for name in runner.__all__:  # no submodule shadows a public name
        assert not isinstance(getattr(runner, name), types.ModuleType), name
    assert callable(sw.sweep) and callable(sw.pipeline) and callable(sw.add_dataset)


def test_a_pipeline_in_a_subfolder_is_recorded_relative_to_its_project(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "pipeline.py").write_text(PIPELINE)
    pipe = load("sub/pipeline.py", tmp_path)
    assert (pipe.source, pipe.project) == ("pipeline.py", str(tmp_path / "sub"))
    again = load(pipe.source, pipe.project)  # what the scheduler does, from the project
    assert again.name == "iris"
