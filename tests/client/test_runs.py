"""The tracking client, run against both backends (in-process and HTTP) and both databases."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import pytest

import shipway as sw
from shipway import errors


def test_run_lifecycle_params_metrics_tags(client: sw.Client) -> None:
    with sw.start_run(experiment="churn", name="rf", client=client, capture=False) as run:
        run.log_params({"model": "rf", "depth": 8})
        run.log_metrics({"acc": 0.93, "loss": 0.2}, step=1)
        run.log_metric("acc", 0.94, step=2)
        run.set_tags({"team": "growth"})
        assert run.experiment == "churn"
    stored = client.get_run(run.id)
    assert stored.status == "finished"
    assert stored.end_time is not None and stored.end_time >= stored.start_time
    assert stored.params == {"depth": "8", "model": "rf"}
    assert stored.metrics == {"acc": 0.94, "loss": 0.2}
    assert stored.tags == {"team": "growth"}
    assert stored.name == "rf" and stored.experiment == "churn"
    history = client.get_metric_history(run.id, "acc")
    assert [(p.step, p.value) for p in history] == [(1, 0.93), (2, 0.94)]


def test_exception_marks_run_failed_and_flushes(client: sw.Client) -> None:
    with pytest.raises(ZeroDivisionError), sw.start_run(client=client, capture=False) as run:
        run.log_metric("loss", 1.5)
        1 / 0  # noqa: B018
    stored = client.get_run(run.id)
    assert stored.status == "failed"
    assert stored.error is not None and "ZeroDivisionError" in stored.error
    assert stored.metrics == {"loss": 1.5}


def test_params_are_immutable(client: sw.Client) -> None:
    with sw.start_run(client=client, capture=False) as run:
        run.log_param("lr", 0.1)
        run.log_param("lr", 0.1)  # same value: fine
        with pytest.raises(errors.ParamConflict, match=r"'lr'.*already '0.1'.*'0.2'"):
            run.log_param("lr", 0.2)
    assert client.get_run(run.id).params == {"lr": "0.1"}


def test_non_finite_metrics_are_stored_faithfully(client: sw.Client) -> None:
    with sw.start_run(client=client, capture=False) as run:
        for step, value in enumerate([1.0, math.nan, math.inf, -math.inf, 2.5]):
            run.log_metric("weird", value, step=step)
        run.log_metric("last_nan", math.nan)
    values = [p.value for p in client.get_metric_history(run.id, "weird")]
    assert values[0] == 1.0 and math.isnan(values[1])
    assert values[2:] == [math.inf, -math.inf, 2.5]
    assert math.isnan(client.get_run(run.id).metrics["last_nan"])


def test_default_steps_count_up_per_key(client: sw.Client) -> None:
    with sw.start_run(client=client, capture=False) as run:
        for i in range(3):
            run.log_metric("a", float(i))
        run.log_metric("b", 9.0)
    assert [p.step for p in client.get_metric_history(run.id, "a")] == [0, 1, 2]
    assert [p.step for p in client.get_metric_history(run.id, "b")] == [0]


def test_latest_metric_is_highest_step_not_last_logged(client: sw.Client) -> None:
    with sw.start_run(client=client, capture=False) as run:
        run.log_metric("acc", 0.9, step=10)
        run.flush()
        run.log_metric("acc", 0.1, step=3)  # a late, older point
    assert client.get_run(run.id).metrics["acc"] == 0.9


def test_many_points_survive_batching(client: sw.Client) -> None:
    with sw.start_run(client=client, capture=False) as run:
        for step in range(25_000):
            run.log_metrics({"x": step * 0.5, "y": -step}, step=step)
    history = client.get_metric_history(run.id, "x")
    assert len(history) == 25_000
    assert history[-1].value == 24_999 * 0.5
    assert client.get_run(run.id).metrics == {"x": 24_999 * 0.5, "y": -24_999.0}


def test_nested_runs_record_their_parent(client: sw.Client) -> None:
    with sw.start_run(experiment="tune", client=client, capture=False) as parent:
        with sw.start_run(experiment="tune", nested=True, client=client, capture=False) as child:
            assert sw.active_run() is child
        assert sw.active_run() is parent
    assert client.get_run(child.id).parent_id == parent.id
    found = client.search_runs("tune", filter=f"parent_id = '{parent.id}'")
    assert [r.id for r in found] == [child.id]


def test_unknown_run_id_is_a_clear_error(client: sw.Client) -> None:
    with pytest.raises(errors.NotFound, match="no run with id 'nope'"):
        client.get_run("nope")


def test_bad_metric_value_names_the_key(client: sw.Client) -> None:
    with (
        sw.start_run(client=client, capture=False) as run,
        pytest.raises(errors.InvalidInput, match="metric 'acc' must be a number"),
    ):
        run.log_metric("acc", "high")


def test_delete_and_restore(client: sw.Client) -> None:
    with sw.start_run(experiment="del", client=client, capture=False) as run:
        pass
    client.delete_run(run.id)
    assert [r.id for r in client.search_runs("del")] == []
    assert [r.id for r in client.search_runs("del", include_deleted=True)] == [run.id]
    with pytest.raises(errors.Conflict, match="restore"):
        client.set_tags(run.id, {"a": 1})
    client.restore_run(run.id)
    assert [r.id for r in client.search_runs("del")] == [run.id]


def test_search_filter_order_and_cursor(client: sw.Client) -> None:
    for i in range(7):
        with sw.start_run(experiment="search", name=f"r{i}", client=client, capture=False) as run:
            run.log_params({"model": "rf" if i % 2 else "lr"})
            run.log_metric("acc", 0.85 + i * 0.02)
    page = client.search_runs(
        "search", filter="metrics.acc > 0.9 and params.model = 'rf'", order_by=["metrics.acc desc"]
    )
    assert [r.name for r in page] == ["r5", "r3"]
    seen = []
    cursor = None
    while True:
        page = client.search_runs("search", order_by=["metrics.acc asc"], limit=3, cursor=cursor)
        seen.extend(r.name for r in page)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [f"r{i}" for i in range(7)]


def test_search_parse_error_points_at_position(client: sw.Client) -> None:
    with pytest.raises(errors.InvalidInput) as info:
        client.search_runs(filter="metrics.acc 0.9")
    assert "position 12" in str(info.value)


def test_experiments(client: sw.Client) -> None:
    exp = client.create_experiment("vision", "image models")
    assert client.get_experiment("vision").id == exp.id
    with pytest.raises(errors.Conflict):
        client.create_experiment("vision")
    assert "vision" in [e.name for e in client.list_experiments()]
    with pytest.raises(errors.NotFound):
        client.get_experiment("nope")


def test_an_experiment_is_renamed_and_described(client: sw.Client) -> None:
    exp = client.create_experiment("vision", "image models")
    with sw.start_run("vision", client=client, capture=False) as run:
        pass
    client.create_experiment("audio")
    renamed = client.tracking.update_experiment("vision", name="vision-eu")
    assert (renamed.id, renamed.name, renamed.description) == (exp.id, "vision-eu", "image models")
    assert client.get_run(run.id).experiment == "vision-eu"
    described = client.tracking.update_experiment(exp.id, description="EU images")
    assert (described.name, described.description) == ("vision-eu", "EU images")
    with pytest.raises(errors.Conflict, match="'audio' already exists"):
        client.tracking.update_experiment("vision-eu", name="audio")
    with pytest.raises(errors.InvalidInput):
        client.tracking.update_experiment("vision-eu", name="")
    with pytest.raises(errors.NotFound):
        client.tracking.update_experiment("vision", description="gone")
    events = client.list_events(object_type="experiment", object_id=str(exp.id))
    assert [e.action for e in events] == ["create", "update", "update"]


def test_artifacts_files_and_folders(client: sw.Client, tmp_path: Path) -> None:
    (tmp_path / "roc.png").write_bytes(b"\x89PNG fake")
    folder = tmp_path / "report"
    (folder / "sub").mkdir(parents=True)
    (folder / "index.html").write_text("<h1>hi</h1>")
    (folder / "sub" / "data.csv").write_text("a,b\n1,2\n")
    with sw.start_run(client=client, capture=False) as run:
        run.log_artifact(tmp_path / "roc.png")
        run.log_artifact(folder, artifact_path="out")
    paths = [a.path for a in client.list_artifacts(run.id)]
    assert paths == ["out/report/index.html", "out/report/sub/data.csv", "roc.png"]
    dest = tmp_path / "dl"
    got = client.download_artifacts(run.id, "roc.png", dest)
    assert got.read_bytes() == b"\x89PNG fake"
    got = client.download_artifacts(run.id, "out/report", dest)
    assert (got / "sub" / "data.csv").read_text() == "a,b\n1,2\n"


@pytest.mark.parametrize("bad", ["../escape.txt", "/etc/passwd", "a/../../b", "x\x00y"])
def test_hostile_artifact_paths_are_refused(client: sw.Client, tmp_path: Path, bad: str) -> None:
    f = tmp_path / "f.txt"
    f.write_text("x")
    with sw.start_run(client=client, capture=False) as run, pytest.raises(errors.InvalidInput):
        run.log_artifact(f, artifact_path=bad)
    assert client.list_artifacts(run.id) == []


def test_capture_records_git_and_environment(
    client: sw.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=repo, check=True)
    subprocess.run(
        [*git, "remote", "add", "origin", "git@example.com:team/churn.git"], cwd=repo, check=True
    )
    (repo / "train.py").write_text("print('v1')\n")
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "first"], cwd=repo, check=True)
    (repo / "train.py").write_text("print('v2')\n")  # uncommitted change
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True
    ).stdout.strip()
    monkeypatch.chdir(repo)
    with sw.start_run(client=client) as run:
        pass
    stored = client.get_run(run.id)
    assert stored.git.commit == commit
    assert stored.git.branch == "main"
    assert stored.git.remote == "git@example.com:team/churn.git"
    assert stored.git.dirty is True
    diff = client.download_artifacts(run.id, "_shipway/git.diff", tmp_path / "dl")
    assert "+print('v2')" in diff.read_text()
    env = client.download_artifacts(run.id, "_shipway/environment.json", tmp_path / "dl")
    text = env.read_text()
    assert '"python"' in text and '"sqlalchemy"' in text.lower()
    assert client.search_runs(filter=f"git_commit = '{commit}'")[0].id == run.id


def test_every_run_records_the_environment_captured_once(
    client: sw.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shipway.tracking import capture

    calls = []
    real = capture.capture_environment

    def counted(packages: bool = True) -> dict[str, object]:
        calls.append(packages)
        return real(packages)

    monkeypatch.setattr(capture, "capture_environment", counted)
    monkeypatch.setattr(capture, "_captures", {})
    monkeypatch.chdir(tmp_path)  # outside any git repository
    ids = []
    for i in range(3):
        with sw.start_run(experiment="env", name=f"r{i}", client=client) as run:
            ids.append(run.id)
    with pytest.raises(ZeroDivisionError), sw.start_run(experiment="env", client=client) as run:
        ids.append(run.id)
        raise ZeroDivisionError
    assert calls == [client.settings.capture_packages]  # once for the process
    for i, run_id in enumerate(ids):
        env = client.download_artifacts(run_id, "_shipway/environment.json", tmp_path / str(i))
        assert '"python"' in env.read_text()
    assert client.get_run(ids[-1]).status == "failed"


def test_logging_to_an_ended_run_is_an_error(client: sw.Client) -> None:
    with sw.start_run(client=client, capture=False) as run:
        run.log_metric("a", 1.0)
    with pytest.raises(errors.Conflict, match="has ended"):
        run.log_metric("a", 2.0)
    assert [p.value for p in client.get_metric_history(run.id, "a")] == [1.0]


def test_keys_with_slashes_work_everywhere(client: sw.Client) -> None:
    with sw.start_run(client=client, capture=False) as run:
        run.log_metric("train/loss", 0.5)
        run.set_tag("team/area", "churn")
    assert [p.value for p in client.get_metric_history(run.id, "train/loss")] == [0.5]
    client.delete_tag(run.id, "team/area")
    assert client.get_run(run.id).tags == {}


def test_artifact_folders_match_case_exactly(client: sw.Client, tmp_path: Path) -> None:
    folder = tmp_path / "plots"
    folder.mkdir()
    (folder / "b.txt").write_text("b")
    with sw.start_run(client=client, capture=False) as run:
        run.log_artifact(folder)
    assert [a.path for a in client.list_artifacts(run.id, "plots")] == ["plots/b.txt"]
    assert client.list_artifacts(run.id, "PLOTS") == []
    assert client.list_artifacts(run.id, "plot") == []


def test_an_experiment_named_like_a_number(client: sw.Client) -> None:
    with sw.start_run(experiment="1", client=client, capture=False) as run:
        pass
    assert [r.id for r in client.search_runs("1")] == [run.id]
    assert client.get_experiment("1").name == "1"


def test_bad_events_cursor_is_a_clear_error(client: sw.Client) -> None:
    with pytest.raises(errors.InvalidInput, match="cursor"):
        client.list_events(cursor="abc")


def test_metric_series_are_thinned_on_the_server_keeping_spikes(client: sw.Client) -> None:
    with sw.start_run(client=client, capture=False) as run:
        for step in range(5000):
            run.log_metric("loss", 100.0 if step == 1234 else 1.0 / (step + 1), step=step)
        run.log_metric("acc", 0.5, step=0)
    with sw.start_run(client=client, capture=False) as other:
        other.log_metric("loss", 2.0, step=0)
    found = client.tracking.metric_series([run.id, other.id], ["loss"], points=200)
    assert [(s.run_id, s.key) for s in found] == [(run.id, "loss"), (other.id, "loss")]
    thinned = found[0]
    assert thinned.total == 5000 and thinned.shown == 5000 and len(thinned.x) <= 200
    assert 100.0 in thinned.y and thinned.x[0] == 0.0 and thinned.x[-1] == 4999.0
    assert found[1].y == [2.0]
    every = client.tracking.metric_series([run.id])  # all of the run's metrics
    assert sorted(s.key for s in every) == ["acc", "loss"]
    zoomed = client.tracking.metric_series([run.id], ["loss"], x_min=1000, x_max=1099)
    assert zoomed[0].x == [float(s) for s in range(1000, 1100)]
    with pytest.raises(errors.NotFound, match=r"no run with id 'nope'"):
        client.tracking.metric_series(["nope"])
    with pytest.raises(errors.NotFound, match=r"'lost'.*their metrics: acc, loss"):
        client.tracking.metric_series([run.id], ["lost"])
    with pytest.raises(errors.InvalidInput, match=r"points must be an integer from 8"):
        client.tracking.metric_series([run.id], points=3)


def test_runs_grouped_by_a_param_with_metric_statistics(client: sw.Client) -> None:
    for model, acc in [("rf", 0.8), ("rf", 0.9), ("rf", float("nan")), ("lr", 0.7), (None, 0.5)]:
        with sw.start_run(experiment="grouped", client=client, capture=False) as run:
            if model:
                run.log_params({"model": model})
            run.log_metric("acc", acc)
    groups = client.tracking.group_runs("grouped", by="params.model")
    assert [(g.value, g.runs) for g in groups] == [("rf", 3), ("lr", 1), (None, 1)]
    rf = groups[0].metrics["acc"]
    assert rf["count"] == 2  # the NaN is not counted
    assert rf["mean"] == pytest.approx(0.85) and (rf["min"], rf["max"]) == (0.8, 0.9)
    assert rf["std"] == pytest.approx(0.0707107, rel=1e-5)
    assert groups[1].metrics["acc"]["std"] is None  # one run: no spread
    filtered = client.tracking.group_runs("grouped", by="params.model", filter="metrics.acc > 0.6")
    assert [(g.value, g.runs) for g in filtered] == [("rf", 2), ("lr", 1)]
    by_status = client.tracking.group_runs("grouped", by="status")
    assert [(g.value, g.runs) for g in by_status] == [("finished", 5)]
    with pytest.raises(errors.InvalidInput, match="group by params.NAME"):
        client.tracking.group_runs("grouped", by="metrics.acc")
    with pytest.raises(errors.FilterSyntaxError):
        client.tracking.group_runs("grouped", by="status", filter="metrics.acc >")


def test_run_pages_are_keyset_cursors_stable_under_inserts(client: sw.Client) -> None:
    # 13 runs: ties, a NaN (stored as NULL) and a missing metric, in both sort directions
    values = [0.5, 0.9, 0.5, None, 0.7, float("nan"), 0.5, 0.1, 0.9, 0.3, None, 0.5, 0.2]
    for i, value in enumerate(values):
        with sw.start_run(experiment="paged", name=f"r{i}", client=client, capture=False) as run:
            run.log_params({"bucket": str(i % 3)})
            if value is not None:
                run.log_metric("acc", value)
    for order in (["metrics.acc desc"], ["metrics.acc asc", "params.bucket desc"], []):
        whole = [r.id for r in client.search_runs("paged", order_by=order, limit=100)]
        paged, cursor = [], None
        while True:
            page = client.search_runs("paged", order_by=order, limit=4, cursor=cursor)
            paged += [r.id for r in page]
            cursor = page.next_cursor
            if not cursor:
                break
        assert paged == whole and len(set(paged)) == 13, order
    # a run added between two pages does not shift the second one (offsets would)
    first = client.search_runs("paged", order_by=["metrics.acc desc"], limit=4)
    with sw.start_run(experiment="paged", name="late", client=client, capture=False) as late:
        late.log_metric("acc", 0.95)  # sorts before everything already seen
    second = client.search_runs(
        "paged", order_by=["metrics.acc desc"], limit=4, cursor=first.next_cursor
    )
    whole = [r.id for r in client.search_runs("paged", order_by=["metrics.acc desc"])]
    assert [r.id for r in second] == whole[5:9]  # right after the first page's last run
    with pytest.raises(errors.InvalidInput, match="another search"):
        client.search_runs("paged", order_by=["metrics.acc asc"], cursor=first.next_cursor)


def test_run_pages_keep_infinite_sort_values_and_refuse_forged_cursors(
    client: sw.Client,
) -> None:
    import base64

    import orjson

    for value in [math.inf, 1.0, 2.0, None, math.nan, -math.inf, 2.0]:
        with sw.start_run(experiment="diverged", client=client, capture=False) as run:
            if value is not None:
                run.log_metric("loss", value)
    for order in (["metrics.loss desc"], ["metrics.loss asc"]):
        whole = [r.id for r in client.search_runs("diverged", order_by=order)]
        paged, cursor = [], None
        while True:
            page = client.search_runs("diverged", order_by=order, limit=1, cursor=cursor)
            paged += [r.id for r in page]
            if not (cursor := page.next_cursor):
                break
        assert paged == whole and len(paged) == 7, order
    first = client.search_runs("diverged", order_by=["metrics.loss desc"], limit=1)
    assert first.next_cursor
    state = orjson.loads(base64.urlsafe_b64decode(first.next_cursor + "=="))

    def forged(after: list[object]) -> str:
        return base64.urlsafe_b64encode(orjson.dumps({**state, "after": after})).decode()

    with pytest.raises(errors.InvalidInput, match="cursor"):  # not a sort value at all
        client.search_runs("diverged", order_by=["metrics.loss desc"], cursor=forged([["x"]] * 4))
    try:  # text where numbers are: PostgreSQL refuses it, SQLite compares it; never a crash
        client.search_runs("diverged", order_by=["metrics.loss desc"], cursor=forged(["t"] * 4))
    except errors.InvalidInput as exc:
        assert "cursor" in exc.message


def test_grouped_statistics_keep_their_digits_and_survive_huge_values(client: sw.Client) -> None:
    for value in (1.7e9 + 1, 1.7e9 + 2, 1.7e9 + 4):
        with sw.start_run(experiment="offset", client=client, capture=False) as run:
            run.log_metric("m", value)
    (group,) = client.tracking.group_runs("offset", by="status")
    stats = group.metrics["m"]
    assert stats["mean"] == pytest.approx(1.7e9 + 7 / 3, abs=1e-6)
    assert stats["std"] == pytest.approx(1.5275252, rel=1e-6)  # not lost to the offset
    for value in (1e200, -1e200):
        with sw.start_run(experiment="huge", client=client, capture=False) as run:
            run.log_metric("m", value)
    (huge,) = client.tracking.group_runs("huge", by="status")  # no overflow error
    assert huge.metrics["m"]["min"] == -1e200 and huge.metrics["m"]["std"] is None
