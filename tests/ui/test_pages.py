"""The web workspace in a real browser: Debian's Chromium driven by Playwright, against a
`shipway server` started as its own process, on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import re
import time
from array import array
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Page, expect

from shipway.config import Settings
from shipway.records import Series
from shipway.services import Services

Serve = Callable[..., contextlib.AbstractContextManager[str]]
HOSTILE = "<img src=x onerror=alert(1)>"


PNG = bytes.fromhex(  # a 1x1 red pixel
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415478"
    "9c63f8cfc000000301010018dd8db00000000049454e44ae426082"
)


def _log_artifacts(services: Services, run_id: str, folder: Path) -> None:
    """One file of each kind the artifact browser previews, some of them hostile."""
    import pandas as pd

    folder.mkdir()
    (folder / "evil.html").write_text(
        "<h1>report</h1><script>alert(5)</script><img src=x onerror=alert(6)>"
    )
    (folder / "evil.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(7)"><script>alert(8)</script>'
        '<circle r="5"/></svg>'
    )
    (folder / "notes.md").write_text("# Findings\n\n**good** <script>alert(9)</script>\n")
    (folder / "scores.csv").write_text("id,score\n" + "".join(f"{i},{i / 10}\n" for i in range(80)))
    (folder / "metrics.json").write_text('{"auc": 0.91, "by_region": {"EU": 0.9}}')
    (folder / "train.log").write_text("epoch line\n" * 60_000)  # 660 KB: shown in part
    (folder / "picture.png").write_bytes(PNG)
    (folder / "deep.json").write_text("[" * 100_000)  # nested past Python's recursion limit
    (folder / "broken.csv").write_text('a,b\n"' + "x" * 200_000)  # an unclosed quote
    pd.DataFrame({"x": range(100), "label": ["a", "b"] * 50}).to_parquet(folder / "rows.parquet")
    services.artifacts.log_path(run_id, folder, None)  # under files/
    odd = folder.parent / "environment.json"  # any run may write this: a list, not a dict
    odd.write_text('{"python": "3.11.7", "platform": "<b>linux</b>", "packages": ["x"]}')
    services.artifacts.log_file(run_id, odd, "_shipway/environment.json")


def _register_models(settings: Settings) -> None:
    """Model "iris": two versions, staging moved from v1 to v2 with reasons."""
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    import shipway as sw

    X, y = load_iris(return_X_y=True, as_frame=True)
    client = sw.Client("", settings=settings)
    try:
        for c in (0.5, 1.0):
            with sw.start_run(experiment="iris", client=client, capture=False) as run:
                model = LogisticRegression(C=c, max_iter=300).fit(X, y)
                run.log_model(model, "model", input_example=X.head(3), register="iris")
        client.set_alias("iris", 1, "staging", reason="first cut")
        client.set_alias("iris", 2, "staging", reason="better recall")
    finally:
        client.close()


@pytest.fixture
def server(settings: Settings, serve: Serve) -> Iterator[str]:
    """A seeded home served by `shipway server` in a subprocess; its URL."""
    services = Services.open(settings, actor="ana")
    try:
        services.tracking.create_experiment("churn")
        for i, acc in enumerate([0.81, 0.93, 0.87]):
            run = services.tracking.create_run("churn", name=f"rf-{i}")
            services.tracking.log_params(run.id, {"model": "rf", "depth": i + 3})
            now = int(time.time() * 1000)
            point = Series(array("d", [acc]), array("q", [0]), array("q", [now]))
            services.tracking.log_metric_series(run.id, {"acc": point})
            if i == 1:
                services.tracking.set_tags(run.id, {"note": "<script>alert(2)</script>"})
                steps = range(5000)
                loss = array("d", [9.0 if s == 1234 else 1 / (s + 1) for s in steps])
                stamps = array("q", [now + 10 * s for s in steps])
                curve = Series(loss, array("q", steps), stamps)
                services.tracking.log_metric_series(run.id, {"loss": curve})
                report = settings.home.parent / "report.txt"
                report.write_text("fine")
                services.artifacts.log_path(run.id, report, None)
                _log_artifacts(services, run.id, settings.home.parent / "files")
        services.tracking.create_run("churn", name=HOSTILE)
        data = settings.home.parent / "train"
        data.mkdir()
        (data / "a.csv").write_text("x,y\n1,2\n")
        services.datasets.add("churn-train", data, message="March extract")
        (data / "a.csv").write_text("x,y\n1,2\n5,9\n")
        (data / "b.csv").write_text("x,y\n3,4\n")
        services.datasets.add("churn-train", data, message="<b>April</b>")
        services.datasets.log_input(run.id, "churn-train@1", "training")
    finally:
        services.close()
    _register_models(settings)
    with serve(settings) as url:
        yield url


def test_home_to_runs_sort_filter_and_pages(tab: Page, server: str) -> None:
    page = tab
    page.goto(server + "/")
    expect(page.get_by_role("heading", name="What is going on")).to_be_visible()
    page.get_by_role("link", name="churn").click()
    expect(page).to_have_url(server + "/runs?experiment=churn")
    rows = page.locator("table.runs tbody tr")
    expect(rows).to_have_count(4)
    # the hostile name is text, never markup
    expect(page.get_by_role("cell", name=HOSTILE, exact=True)).to_be_visible()
    assert page.locator("table.runs img").count() == 0

    reader = page.locator("table.runs tbody tr", has_text="rf-2")
    expect(reader.get_by_role("link", name="churn-train@1")).to_be_visible()  # what it read
    page.get_by_role("link", name="metrics.acc").click()  # sort: highest first
    expect(page).to_have_url(server + "/runs?experiment=churn&order=metrics.acc+DESC")
    expect(rows.first.locator("td").nth(1)).to_have_text("rf-1")
    header = page.get_by_role("columnheader", name="metrics.acc")
    expect(header).to_have_attribute("aria-sort", "descending")
    page.get_by_role("link", name="metrics.acc").click()  # and back: lowest first
    expect(rows.first.locator("td").nth(1)).to_have_text("rf-0")

    page.get_by_label("Filter").fill("metrics.acc > 0.85 and")
    page.get_by_role("button", name="Search").click()
    problem = page.get_by_role("alert")
    expect(problem).to_contain_text("metrics.acc > 0.85 and")
    expect(problem.locator("pre")).to_contain_text("^")
    expect(page.get_by_label("Filter")).to_have_attribute("aria-invalid", "true")

    page.get_by_label("Filter").fill("metrics.acc > 0.85")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(2)  # 0.93 and 0.87, state kept in the URL
    state = parse_qs(urlsplit(page.url).query)
    assert state["filter"] == ["metrics.acc > 0.85"] and state["order"] == ["metrics.acc ASC"]

    page.goto(server + "/runs?experiment=churn&limit=3")
    expect(rows).to_have_count(3)
    page.get_by_role("link", name="Next page").click()
    expect(rows).to_have_count(1)

    host = urlsplit(server).netloc
    assert page.hosts == {host}  # type: ignore[attr-defined]
    assert page.dialogs == []  # type: ignore[attr-defined]
    # Chromium logs every 4xx answer (the bad filter's 400) as a console error; any other
    # error — a script or style the page's policy refused — fails the test
    logged = page.console_errors  # type: ignore[attr-defined]
    assert [e for e in logged if not e.startswith("Failed to load resource: the server")] == []


def test_run_page_shows_what_the_run_holds(tab: Page, server: str) -> None:
    page = tab
    page.goto(server + "/runs?experiment=churn&order=metrics.acc+DESC")
    page.get_by_role("link", name="rf-1").click()
    expect(page.get_by_role("heading", name="Run rf-1")).to_be_visible()
    params = page.locator("section", has=page.get_by_role("heading", name="Params"))
    expect(params.get_by_role("row", name="depth 4")).to_be_visible()
    metrics = page.locator("section", has=page.get_by_role("heading", name="Metrics (latest)"))
    expect(metrics.get_by_role("row", name="acc 0.93")).to_be_visible()
    tags = page.locator("section", has=page.get_by_role("heading", name="Tags"))
    expect(tags.get_by_role("cell", name="<script>alert(2)</script>")).to_be_visible()
    expect(page.get_by_role("cell", name="report.txt")).to_be_visible()
    environment = page.locator("section", has=page.get_by_role("heading", name="Environment"))
    expect(environment).to_contain_text("3.11.7")
    expect(environment).to_contain_text("<b>linux</b>")  # text, and the odd packages skipped
    page.get_by_role("link", name="churn").click()
    expect(page.locator("table.runs tbody tr")).to_have_count(4)
    assert page.dialogs == []  # type: ignore[attr-defined]
    missing = page.goto(server + "/runs/not-a-run")
    assert missing is not None and missing.status == 404
    expect(page.get_by_role("alert")).to_contain_text("not-a-run")


def _drawn_pixels(page: Page) -> int:
    """How many pixels of the chart's canvas are not blank."""
    return int(
        page.evaluate(
            """() => {
              const c = document.querySelector('[data-chart] canvas');
              const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
              let n = 0;
              for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
              return n;
            }"""
        )
    )


def test_run_page_charts_its_metrics_with_settings_in_the_url(tab: Page, server: str) -> None:
    page = tab
    page.goto(server + "/runs?experiment=churn&order=metrics.acc+DESC")
    page.get_by_role("link", name="rf-1").click()
    chart = page.locator("[data-chart]")
    expect(chart).to_have_attribute("data-drawn", re.compile(r"^[1-9]\d*$"))
    assert _drawn_pixels(page) > 500  # lines on the canvas, not just an empty frame
    note = page.locator("[data-chart-note]")
    expect(note).to_contain_text("2 series, 5,001 points logged")  # acc's 1 and loss's 5000
    drawn = int(chart.get_attribute("data-drawn") or 0)
    assert drawn < 5001  # thinned on the server
    page.get_by_label("acc").uncheck()  # loss alone
    expect(note).to_contain_text("1 series, 5,000 points logged")
    page.get_by_label("log scale").check()
    expect(page).to_have_url(re.compile(r"log=true"))
    page.get_by_label("x").select_option("relative")
    expect(page).to_have_url(re.compile(r"x=relative"))
    expect(chart).to_have_attribute("data-drawn", re.compile(r"^[1-9]\d*$"))
    # a shared link opens the same view
    page.goto(page.url)
    expect(page.get_by_label("log scale")).to_be_checked()
    expect(page.get_by_label("acc")).not_to_be_checked()
    # zoom: drag across the middle; the range is fetched again in full detail
    page.get_by_label("x").select_option("step")
    expect(page).to_have_url(re.compile(r"x=step"))
    box = page.locator("[data-chart] .u-over").bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.2, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.3, y, steps=5)
    page.mouse.up()
    expect(page).to_have_url(re.compile(r"x_min=\d"))
    expect(note).to_contain_text(re.compile(r"1 series, 5,000 points logged, \d+ drawn"))
    query = parse_qs(urlsplit(page.url).query)
    low, high = float(query["x_min"][0]), float(query["x_max"][0])
    assert 500 < low < high < 2000
    data = httpx.get(server + "/ui/series", params={"run": query.get("run", []), "key": "loss"})
    assert data.status_code == 400  # no run named: the API's error envelope
    assert "name at least one run" in data.json()["error"]["message"]
    assert page.dialogs == []  # type: ignore[attr-defined]
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_models_and_a_model_page_with_its_alias_moves(tab: Page, server: str) -> None:
    page = tab
    page.goto(server + "/")
    page.get_by_role("link", name="Models").click()
    expect(page).to_have_url(server + "/models")
    expect(page.get_by_role("heading", name="Models")).to_be_visible()
    page.locator("table.models").get_by_role("link", name="iris").click()
    expect(page.get_by_role("heading", name="Model iris")).to_be_visible()
    versions = page.locator("table.versions tbody tr")
    expect(versions).to_have_count(2)
    expect(versions.first).to_contain_text("v2")
    expect(versions.first).to_contain_text("staging")
    moves = page.locator("table.moves tbody tr")
    expect(moves).to_have_count(2)
    expect(moves.first).to_contain_text("better recall")  # newest first
    expect(moves.nth(1)).to_contain_text("first cut")
    # the version page: its card, without a contract nothing to gate or sign
    versions.first.get_by_role("link", name="v2", exact=True).click()
    expect(page.get_by_role("heading", name="iris v2")).to_be_visible()
    signature = page.locator("table.signature tbody tr")
    expect(signature).to_have_count(4)  # iris's four measurements
    expect(signature.first).to_contain_text("sepal length (cm)")
    expect(page.locator("table.example tbody tr")).to_have_count(3)  # the logged example
    expect(page.get_by_text("No contract: nothing to check against.")).to_be_visible()
    expect(page.get_by_role("button", name="Promote to production")).to_be_visible()  # admin
    page.get_by_role("link", name="iris", exact=True).first.click()
    lanes = page.locator("svg.timeline g.lane")
    expect(lanes).to_have_count(1)  # staging: v1 then v2
    expect(lanes.first.locator("rect.segment")).to_have_count(2)
    versions.first.get_by_role("link", name=re.compile("^run ")).click()  # the run that made it
    expect(page.get_by_role("heading", name="Run")).to_be_visible()
    artifacts = page.locator("section", has=page.get_by_role("heading", name="Artifacts"))
    expect(artifacts.locator("td", has_text="model/").first).to_be_visible()  # its package
    expect(page.locator("ul.outputs")).to_contain_text("registered iris v2")  # its output
    missing = page.goto(server + "/models/nope")
    assert missing is not None and missing.status == 404


def test_datasets_and_a_dataset_page(tab: Page, server: str) -> None:
    page = tab
    page.goto(server + "/")
    page.get_by_role("link", name="Datasets").click()
    expect(page).to_have_url(server + "/datasets")
    page.get_by_role("link", name="churn-train").click()
    versions = page.locator("table.versions tbody tr")
    expect(versions).to_have_count(2)
    expect(versions.first).to_contain_text("<b>April</b>")  # text, not markup
    files = page.locator("table.files tbody tr")
    expect(files).to_have_count(2)  # the latest version: a.csv and b.csv
    profiles = page.locator("section.profile")
    expect(profiles).to_have_count(2)  # a.csv and b.csv
    expect(profiles.first).to_contain_text("2 rows · 2 columns")
    expect(profiles.first.locator("svg.histogram").first).to_be_visible()
    page.get_by_role("link", name="v1 → v2").click()
    diff = page.locator("section", has=page.get_by_role("heading", name="What changed"))
    expect(diff).to_contain_text("1 file(s) added, 0 removed, 1 changed")
    expect(diff.locator("table.shift caption")).to_contain_text("a.csv: 1 → 2 rows")
    expect(diff.locator("table.shift tbody tr").first).to_contain_text("max 1 → 5")
    page.get_by_role("link", name="v1", exact=True).click()
    expect(page.get_by_role("heading", name="Files of churn-train@1")).to_be_visible()
    expect(files).to_have_count(1)
    reader = versions.nth(1).get_by_role("link").nth(1)  # the run that read v1
    reader.click()
    expect(page.get_by_text("churn-train@1 (training)")).to_be_visible()
    missing = page.goto(server + "/datasets/nope")
    assert missing is not None and missing.status == 404


def test_pick_runs_and_compare_them(tab: Page, server: str) -> None:
    page = tab
    page.goto(server + "/runs?experiment=churn")
    page.get_by_label("pick rf-0").check()
    page.get_by_label("pick rf-1").check()
    page.get_by_role("button", name="Compare picked runs").click()
    expect(page.get_by_role("heading", name="Compare 2 runs")).to_be_visible()
    params = page.locator("section", has=page.get_by_role("heading", name="Params"))
    expect(params.get_by_role("row", name="model rf rf")).to_be_visible()  # the same
    expect(params.get_by_role("row", name="depth 4 3")).to_have_class("differs")
    page.get_by_role("link", name="Show only the differences").click()
    expect(params.get_by_role("row", name="model rf rf")).to_have_count(0)
    expect(params.get_by_role("row", name="depth 4 3")).to_be_visible()
    metrics = page.locator("section", has=page.get_by_role("heading", name="Metrics (latest)"))
    expect(metrics.get_by_role("row", name="acc 0.93 0.81")).to_be_visible()
    assert "diff=true" in page.url
    # curves overlaid, one series per run; parallel coordinates and a scatter of two axes
    curves = page.locator("[data-chart]")
    expect(curves).to_have_attribute("data-drawn", "2")  # acc: one point per run
    expect(page.locator("[data-chart-note]")).to_contain_text("2 series")
    parallel = page.locator("[data-plot=parallel]")
    expect(parallel).to_have_attribute("data-drawn", "2")
    expect(parallel.locator("canvas")).to_have_count(1)
    scatter = page.locator("[data-plot=scatter]")
    expect(scatter).to_have_attribute("data-drawn", "2")
    page.locator("select[name=sy]").select_option("params.depth")
    expect(page).to_have_url(re.compile(r"sy=params.depth"))
    page.get_by_label("smoothing").fill("0.5")  # the curves' settings keep the scatter's
    expect(page).to_have_url(re.compile(r"smooth=0.5.*sy=params.depth|sy=params.depth.*smooth=0.5"))
    assert page.console_errors == []  # type: ignore[attr-defined]
    empty = page.goto(server + "/compare")
    assert empty is not None and empty.status == 400
    expect(page.get_by_role("alert")).to_contain_text("pick runs to compare")


def test_unknown_experiment_is_a_404_page(tab: Page, server: str) -> None:
    page = tab
    response = page.goto(server + "/runs?experiment=nope")
    assert response is not None and response.status == 404
    expect(page.get_by_role("alert")).to_contain_text("nope")
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    bad = page.goto(server + "/runs?limit=many")  # a bad query parameter: an HTML page too
    assert bad is not None and bad.status == 400
    expect(page.get_by_role("alert")).to_contain_text("limit")
    nowhere = page.goto(server + "/no/such/page")
    assert nowhere is not None and nowhere.status == 404
    expect(page.get_by_role("alert")).to_contain_text("there is no page at /no/such/page")
    api = httpx.get(server + "/api/v1/nope", headers={"Accept": "text/html"})
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"  # the API: JSON


def test_with_auth_on_the_pages_ask_for_a_token_and_answer_html(sqlite_settings: Settings) -> None:
    from shipway.api.server import BackgroundServer

    settings = Settings.load(
        overrides={"home": str(sqlite_settings.home), "auth": True}, environ={}
    )
    services = Services.open(settings, actor="bootstrap")
    services.accounts.create_user("vic", "viewer")
    secret = services.accounts.create_token("vic").secret
    server = BackgroundServer(services)
    url = server.start()
    try:
        anonymous = httpx.get(url + "/runs")
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"].startswith("text/html")
        assert "this server requires a token" in anonymous.text
        wrong = httpx.get(url + "/", headers={"Authorization": "Bearer wrong"})
        assert wrong.status_code == 401 and "unknown or revoked" in wrong.text
        viewer = httpx.get(url + "/", headers={"Authorization": f"Bearer {secret}"})
        assert viewer.status_code == 200 and "What is going on" in viewer.text
    finally:
        server.stop()
        services.close()


def test_the_api_reference_works_offline(tab: Page, server: str) -> None:
    page = tab
    response = page.goto(server + "/docs")
    assert response is not None and response.status == 200
    expect(page.locator(".opblock").first).to_be_visible()  # Swagger UI drew the operations
    assert page.locator(".opblock").count() > 50
    expect(page.get_by_text("shipway platform API").first).to_be_visible()
    assert page.hosts == {urlsplit(server).netloc}  # type: ignore[attr-defined]
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_every_page_passes_an_accessibility_check(
    server: str, accessibility: Callable[..., list[str]]
) -> None:
    runs = httpx.post(server + "/api/v1/runs/search", json={"experiment": "churn"}).json()["runs"]
    ids = [r["id"] for r in runs]
    rich = next(r["id"] for r in runs if r["name"] == "rf-1")  # charts, files, notes
    pages = [
        f"/runs/{rich}",
        "/datasets/churn-train?version=2&against=1",
        f"/runs/{rich}/artifacts/files/scores.csv",
        f"/runs/{rich}/artifacts/files/evil.html",
        f"/runs/{rich}/artifacts/files/picture.png",
        "/",
        "/runs?experiment=churn",
        f"/runs/{ids[0]}",
        f"/compare?run={ids[0]}&run={ids[1]}",
        "/models",
        "/models/iris",
        "/models/iris/versions/2",
        "/models/iris/lineage",
        "/datasets",
        "/datasets/churn-train",
        "/deployments",
        "/signin",
        "/runs/not-a-run",  # the error page
        "/runs?experiment=churn&filter=metrics.acc+%3E",  # the filter error
    ]
    problems = [line for path in pages for line in accessibility(server + path)]
    assert problems == []


def test_shipway_ui_opens_the_workspace_on_a_local_home(
    tab: Page, sqlite_settings: Settings
) -> None:
    import os
    import subprocess
    import sys

    services = Services.open(sqlite_settings, actor="ana")
    run = services.tracking.create_run("local", name="on-my-laptop")
    services.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPWAY_")}
    command = [sys.executable, "-m", "shipway", "ui", "--port", "0"]
    proc = subprocess.Popen(
        [*command, "--home", str(sqlite_settings.home)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        found = re.search(r"shipway workspace on (http://127\.0\.0\.1:\d+/)", line)
        assert found, line + proc.stderr.read()  # type: ignore[union-attr]
        url = found.group(1)
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "shipway ui did not answer"
                time.sleep(0.1)
        tab.goto(url)
        tab.get_by_role("link", name="local").click()
        tab.get_by_role("link", name="on-my-laptop").click()
        expect(tab.get_by_role("heading", name="Run on-my-laptop")).to_be_visible()
        assert run.id in tab.url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_artifacts_are_previewed_and_nothing_in_them_runs(tab: Page, server: str) -> None:
    page = tab
    page.goto(server + "/runs?experiment=churn&order=metrics.acc+DESC")
    page.get_by_role("link", name="rf-1").click()
    expect(page.get_by_role("heading", name="Run rf-1")).to_be_visible()
    run_url = page.url
    artifacts = page.locator("table.artifacts")

    def open_file(name: str) -> None:
        page.goto(run_url)
        artifacts.get_by_role("link", name=f"files/{name}").click()
        expect(page.get_by_role("heading", name=f"files/{name}")).to_be_visible()

    open_file("notes.md")
    expect(page.locator(".markdown.artifact h1")).to_have_text("Findings")
    expect(page.locator(".markdown.artifact")).to_contain_text("<script>alert(9)</script>")
    open_file("scores.csv")
    expect(page.locator("table.preview tbody tr")).to_have_count(50)
    expect(page.get_by_text("at most 50 rows")).to_be_visible()
    open_file("rows.parquet")
    expect(page.get_by_text("100 rows, 2 columns")).to_be_visible()
    expect(page.locator("table.preview thead")).to_contain_text("label")
    open_file("metrics.json")
    expect(page.locator("pre.artifact")).to_contain_text('"EU": 0.9')
    open_file("deep.json")  # shown as it is, not a 500
    expect(page.locator("pre.artifact")).to_contain_text("[[[[")
    open_file("broken.csv")
    expect(page.locator("pre.artifact")).to_contain_text('"xxxx')
    open_file("train.log")
    expect(page.get_by_text("Showing the first 256 KB")).to_be_visible()
    open_file("picture.png")
    image = page.locator("img.artifact")
    expect(image).to_be_visible()
    # visible is not loaded: wait for the image to finish loading (a race on a busy machine)
    page.wait_for_function("document.querySelector('img.artifact').complete")
    assert page.evaluate("document.querySelector('img.artifact').naturalWidth") == 1
    open_file("evil.svg")  # shown as an image: its scripts never run
    expect(page.locator("img.artifact")).to_be_visible()
    open_file("evil.html")  # in a sandboxed frame: shown, its scripts do not run
    frame = page.frame_locator("iframe.artifact")
    expect(frame.get_by_role("heading", name="report")).to_be_visible()
    assert page.locator("iframe.artifact").get_attribute("sandbox") == ""
    # opened on their own, the hostile files run nothing either
    raw = page.locator("a", has_text="Download").get_attribute("href") or ""
    run_id = raw.split("/")[3]
    for name in ("evil.svg", "evil.html"):
        answer = page.goto(f"{server}/ui/raw/{run_id}/files/{name}")
        assert answer is not None and "sandbox" in answer.headers["content-security-policy"]
    page.wait_for_timeout(300)
    assert page.dialogs == []  # type: ignore[attr-defined]
    missing = page.goto(f"{server}/runs/{run_id}/artifacts/files/nope.txt")
    assert missing is not None and missing.status == 404


def test_run_notes_are_markdown_and_stay_text(tab: Page, server: str) -> None:
    page = tab
    page.goto(server + "/runs?experiment=churn&order=metrics.acc+DESC")
    page.get_by_role("link", name="rf-0").click()
    expect(page.get_by_role("heading", name="Run rf-0")).to_be_visible()
    page.get_by_text("Write notes").click()  # the editor is folded away
    page.get_by_label("Notes (Markdown)").fill(
        "## Why this run\n\nDeeper *trees* <img src=x onerror=alert(10)> [x](javascript:alert(11))"
    )
    page.get_by_role("button", name="Save notes").click()
    notes = page.locator("section", has=page.get_by_role("heading", name="Notes"))
    expect(notes.get_by_role("heading", name="Why this run")).to_be_visible()
    expect(notes.locator("em")).to_have_text("trees")
    assert notes.locator("img").count() == 0 and notes.locator("a[href^=javascript]").count() == 0
    page.reload()
    expect(notes.get_by_role("heading", name="Why this run")).to_be_visible()
    assert page.dialogs == []  # type: ignore[attr-defined]


def test_runs_grouped_by_a_param(tab: Page, server: str) -> None:
    page = tab
    page.goto(server + "/runs?experiment=churn")
    page.get_by_label("Group by").select_option("params.model")
    page.get_by_role("button", name="Search").click()
    groups = page.locator("table.groups tbody tr")
    expect(groups).to_have_count(2)  # rf (3 runs) and the run without the param
    expect(groups.first).to_contain_text("rf")
    expect(groups.first.locator("td").first).to_have_text("3")
    acc = groups.first.locator("td").nth(1)  # metrics.acc: mean ± std (min – max)
    expect(acc).to_contain_text("0.87 ± 0.06")
    expect(acc).to_contain_text("(0.81 – 0.93)")
    expect(groups.nth(1)).to_contain_text("(not set)")
    assert "group=params.model" in page.url
    groups.first.get_by_role("link", name="rf").click()  # the group's runs
    expect(page.get_by_label("Filter")).to_have_value("params.model = 'rf'")
    expect(page.locator("table.runs tbody tr")).to_have_count(3)
    bad = page.goto(server + "/runs?experiment=churn&group=metrics.acc")
    assert bad is not None and bad.status == 400
    expect(page.get_by_role("alert")).to_contain_text("group by params.NAME")


def test_plot_tooltips_show_a_hostile_run_name_as_text(tab: Page, server: str) -> None:
    page = tab
    runs = httpx.post(server + "/api/v1/runs/search", json={"experiment": "churn"}).json()["runs"]
    hostile = next(r["id"] for r in runs if r["name"] == HOSTILE)
    other = next(r["id"] for r in runs if r["name"] == "rf-0")
    services_url = f"{server}/api/v1/runs/{hostile}/params"
    assert httpx.post(services_url, json={"params": {"depth": 9}}).status_code < 300
    page.goto(f"{server}/compare?run={hostile}&run={other}&sx=params.depth&sy=params.depth")
    scatter = page.locator("[data-plot=scatter]")
    expect(scatter).to_have_attribute("data-drawn", "2")
    scatter.scroll_into_view_if_needed()
    x, y = page.evaluate(
        """() => {
          const el = document.querySelector('[data-plot=scatter]');
          const chart = echarts.getInstanceByDom(el);
          const [px, py] = chart.convertToPixel({seriesIndex: 0}, [9, 9]);
          const box = el.getBoundingClientRect();
          return [box.left + px, box.top + py];
        }"""
    )
    page.mouse.move(x - 30, y - 30)
    page.mouse.move(x, y, steps=5)
    tip = page.locator("[data-plot=scatter] div", has_text="onerror").last
    expect(tip).to_contain_text(HOSTILE)  # the name as text
    assert page.locator("[data-plot=scatter] img").count() == 0  # never as markup
    assert page.dialogs == []  # type: ignore[attr-defined]
