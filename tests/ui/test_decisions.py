"""Deciding in the browser, with auth on: signing in and out, a model under a contract
(its version page, gate reports, sign-offs by its named owners, reviews, a promotion
refused with its reasons and then allowed), the alias timeline and a rollback — as users
of different roles, each form refused by the server when the role may not use it."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from shipway.config import Settings
from shipway.services import Services

Serve = Callable[..., contextlib.AbstractContextManager[str]]
HOSTILE_REVIEW = "**solid** <script>alert(3)</script> [click](javascript:alert(4))"


def _seed(settings: Settings, folder: Path) -> dict[str, str]:
    """Model "churn" under the demo's contract: v1 (a one-split tree) fails its gates, v2
    passes them; staging moved v1 → v2. Users and their tokens."""
    import shipway as sw
    from shipway.demo.churn import FEATURES, churn_frame, contract_text, good_model, weak_model
    from shipway.testing.predictions import write_prediction_log

    services = Services.open(settings, actor="bootstrap")
    tokens = {}
    for user, role in (("ada", "admin"), ("dana", "data-scientist"), ("eli", "developer")):
        services.accounts.create_user(user, role)
        tokens[user] = services.accounts.create_token(user).secret
    services.accounts.create_user("vic", "viewer")
    tokens["vic"] = services.accounts.create_token("vic").secret
    services.close()

    client = sw.Client("", settings=settings)
    try:
        folder.mkdir()
        train, holdout = churn_frame(1500, seed=1), churn_frame(800, seed=2)
        train.to_csv(folder / "train.csv", index=False)
        holdout.to_csv(folder / "holdout.csv", index=False)
        train_v = sw.datasets.add("churn-train", folder / "train.csv", client=client)
        holdout_v = sw.datasets.add("churn-holdout", folder / "holdout.csv", client=client)
        for fit in (weak_model, good_model):
            with sw.start_run(experiment="churn", client=client, capture=False) as run:
                run.log_input(train_v, context="training")
                run.log_input(holdout_v, context="holdout")
                run.log_model(fit(train), input_example=train[FEATURES].head(3), register="churn")
        first = contract_text(holdout_v.ref, accuracy=0.6, requests=60, warmup=10)
        client.set_contract("churn", first, "agreed at kick-off")
        text = contract_text(holdout_v.ref, requests=60, warmup=10)  # accuracy 0.72
        client.set_contract("churn", text, "retention asked for more accuracy")
        assert client.run_gates("churn", 1).status == "failed"
        assert client.run_gates("churn", 2).status == "passed"
        client.set_alias("churn", 1, "staging", reason="first cut")
        client.set_alias("churn", 2, "staging", reason="passes its gates")
        # an hour of v2's traffic on shifted data, labelled, and the monitor run on it
        shifted = holdout.head(400).copy()
        shifted["tenure_months"] = shifted["tenure_months"] * 4 + 30
        model = sw.models.load("models:/churn/2", client=client)
        now = int(time.time() * 1000)
        ids = write_prediction_log(
            client,
            "churn",
            2,
            shifted[FEATURES],
            model.predict(shifted[FEATURES]),
            start_ms=now - 50 * 60_000,
            step_ms=7_000,
        )
        labels = shifted["churned"].tolist()
        client.monitoring.log_feedback(
            "churn", [{"request_id": i, "label": y} for i, y in zip(ids, labels, strict=True)]
        )
        client.monitoring.run("churn")
        client.deployments.create(
            "churn-api",
            "models:/churn@staging",
            mode="canary",
            candidate="models:/churn/1",
            percent=10,
        )
    finally:
        client.close()
    return tokens


@pytest.fixture
def site(settings: Settings, serve: Serve, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    auth = Settings.load(
        overrides={"home": str(settings.home), "db_url": settings.database_url, "auth": True},
        environ={},
    )
    tokens = _seed(auth, tmp_path / "data")
    with serve(auth, auth=True) as url:
        yield url, tokens


def _sign_in(browser: Browser, url: str, token: str) -> Page:
    page = browser.new_context().new_page()
    page.dialogs = []  # type: ignore[attr-defined]
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))  # type: ignore[attr-defined]
    page.goto(url + "/models/churn")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Model churn")).to_be_visible()  # back where it was
    return page


def test_sign_in_shows_the_user_and_sign_out_forgets_them(
    browser: Browser, site: tuple[str, dict[str, str]]
) -> None:
    url, tokens = site
    page = browser.new_context().new_page()
    first = page.goto(url + "/")
    assert first is not None and first.status == 401
    page.get_by_label("API token").fill("not-a-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("unknown or revoked")
    page.get_by_label("API token").fill(tokens["vic"])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="What is going on")).to_be_visible()
    expect(page.locator("header .who")).to_contain_text("vic")
    expect(page.locator("header .who")).to_contain_text("viewer")
    cookie = next(c for c in page.context.cookies() if c["name"] == "shipway_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie").find(tokens["vic"]) == -1  # no script can read it
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    again = page.goto(url + "/")
    assert again is not None and again.status == 401
    # a form posted without the browser's CSRF token is refused, signed in or not
    forged = httpx.post(
        url + "/signin", data={"token": tokens["vic"]}, cookies={"shipway_csrf": "abc"}
    )
    assert forged.status_code == 403 and "CSRF token is missing or stale" in forged.text


def test_owners_sign_off_and_a_refused_promotion_then_an_allowed_one(
    browser: Browser, site: tuple[str, dict[str, str]]
) -> None:
    url, tokens = site
    # a viewer sees the version, its gate reports and reviews, but no decision buttons
    vic = _sign_in(browser, url, tokens["vic"])
    vic.get_by_role("link", name="v2", exact=True).first.click()
    expect(vic.get_by_role("heading", name="churn v2")).to_be_visible()
    gates = vic.locator("section", has=vic.get_by_role("heading", name="Gate reports"))
    expect(gates.locator("summary").first).to_contain_text("passed")
    expect(gates.locator("table.checks tbody tr").first).to_be_visible()
    expect(vic.get_by_role("button", name="Sign off")).to_have_count(0)
    expect(vic.get_by_role("button", name="Promote to production")).to_have_count(0)
    not_ready = vic.locator("section", has=vic.get_by_role("heading", name="Production"))
    expect(not_ready).to_contain_text("Not ready")
    csrf = next(c["value"] for c in vic.context.cookies() if c["name"] == "shipway_csrf")
    session = next(c["value"] for c in vic.context.cookies() if c["name"] == "shipway_session")
    jar = {"shipway_csrf": csrf, "shipway_session": session}
    odd = httpx.post(
        url + "/models/churn/versions/2/review", data={"csrf": csrf, "rating": "²"}, cookies=jar
    )
    assert odd.status_code == 400 and "must be a whole number" in odd.text  # not a 500
    elsewhere = httpx.post(
        url + "/models/churn/versions/2/review",
        data={"csrf": csrf, "comment": "hi"},
        cookies=jar,
        headers={"Origin": "http://127.0.0.1:1"},  # another port: another origin
    )
    assert elsewhere.status_code == 403 and "posted from another site" in elsewhere.text
    vic.get_by_label("Rating").select_option("4")
    vic.get_by_label("Comment (Markdown)").fill(HOSTILE_REVIEW)
    vic.get_by_role("button", name="Post review").click()
    review = vic.locator("article.review").first
    expect(review.locator("strong", has_text="solid")).to_be_visible()  # Markdown rendered
    expect(review).to_contain_text("<script>alert(3)</script>")  # raw HTML shown as text
    assert review.locator("a[href^='javascript']").count() == 0
    assert vic.dialogs == []  # type: ignore[attr-defined]
    # the server refuses the form anyway when the button is not offered
    posted = httpx.post(
        url + "/models/churn/versions/2/promote",
        data={"csrf": csrf, "alias": "production"},
        cookies={"shipway_csrf": csrf, "shipway_session": session},
    )
    assert posted.status_code == 403 and "this needs &#39;data-scientist&#39;" in posted.text

    # eli (a developer, the contract's engineering owner) promotes too early: refused
    eli = _sign_in(browser, url, tokens["eli"])
    eli.goto(url + "/models/churn/versions/2")
    eli.get_by_role("button", name="Promote to production").click()
    refusal = eli.get_by_role("alert")
    expect(refusal).to_contain_text("cannot take 'production'")
    expect(refusal.locator("li").first).to_be_visible()  # every missing item listed
    expect(refusal).to_contain_text("data-science")
    # dana signs off for data science, eli for engineering
    dana = _sign_in(browser, url, tokens["dana"])
    dana.goto(url + "/models/churn/versions/2")
    expect(dana.get_by_role("button", name="Promote to production")).to_have_count(0)
    dana.get_by_label("Comment").first.fill("beats the baseline")
    dana.get_by_role("button", name="Sign off").click()
    approvals = dana.locator("table.approvals tbody tr")
    expect(approvals).to_have_count(1)
    expect(approvals.first).to_contain_text("dana")
    eli.goto(url + "/models/churn/versions/2")
    eli.get_by_role("button", name="Sign off").click()
    expect(eli.locator("table.approvals tbody tr")).to_have_count(2)
    eli.get_by_label("Reason").fill("signed off by both owners")
    eli.get_by_role("button", name="Promote to production").click()
    expect(eli.get_by_text("This version is in production.")).to_be_visible()

    # the timeline: a production lane holding v2, its move linked to the promotion
    eli.get_by_role("link", name="churn", exact=True).first.click()
    lane = eli.locator("svg.timeline g.lane[data-alias=production]")
    expect(lane.locator("rect.segment.current")).to_have_attribute("data-version", "2")
    staging = eli.locator("svg.timeline g.lane[data-alias=staging] rect.segment")
    expect(staging).to_have_count(2)
    move = eli.locator("table.moves tbody tr").first
    expect(move).to_contain_text("production")
    expect(move).to_contain_text("signed off by both owners")
    expect(move.get_by_role("link", name="promoted on gate report")).to_be_visible()
    # roll staging back to v1, then try to move production by hand: only promotion may
    eli.get_by_label("why roll staging back").fill("v2 misbehaves on staging")
    eli.get_by_role("button", name="Roll back staging").click()
    expect(staging.last).to_have_attribute("data-version", "1")
    expect(eli.locator("table.moves tbody tr").first).to_contain_text("v2 misbehaves")
    eli.get_by_label("Point alias").fill("production")
    eli.locator("form.move select[name=version]").select_option("1")
    eli.get_by_role("button", name="Move alias").click()
    expect(eli.get_by_role("alert")).to_contain_text("cannot take 'production'")
    expect(eli.get_by_role("alert")).to_contain_text("gate")


def test_the_contract_its_versions_and_the_lineage_graph(
    browser: Browser, site: tuple[str, dict[str, str]]
) -> None:
    url, tokens = site
    page = _sign_in(browser, url, tokens["vic"])
    page.get_by_role("link", name="Contract v2").click()
    expect(page.get_by_role("heading", name="Contract of churn, v2")).to_be_visible()
    expect(page.locator("ul.gates li")).to_have_count(4)
    expect(page.locator("table.contracts tbody tr")).to_have_count(2)
    diff = page.locator("section", has=page.get_by_role("heading", name="What changed"))
    expect(diff).to_contain_text("from v1 to v2")
    expect(diff.locator("span.del")).to_contain_text(["0.6"])
    expect(diff.locator("span.add")).to_contain_text(["0.72"])
    page.get_by_role("link", name="v1", exact=True).click()
    expect(page.get_by_role("heading", name="Contract of churn, v1")).to_be_visible()
    page.get_by_role("link", name="churn", exact=True).first.click()

    page.get_by_role("link", name="Lineage").click()
    svg = page.locator("svg.lineage")
    for kind, count in (("dataset", 2), ("run", 2), ("version", 2), ("deployment", 1)):
        expect(svg.locator(f"g.node.{kind}")).to_have_count(count)
    # the deployment serves v2 (staging) and sends its canary share to v1
    edges = svg.locator("path.edge[data-target='deployment:churn-api']")
    expect(edges).to_have_count(2)
    sources = sorted(edges.nth(i).get_attribute("data-source") or "" for i in range(2))
    assert sources == ["version:1", "version:2"]
    # layers left to right: data, runs, versions, deployments
    xs = [
        float(
            svg.locator(f"g.node.{k}").first.get_attribute("transform").split("(")[1].split(",")[0]
        )  # type: ignore[union-attr]
        for k in ("dataset", "run", "version", "deployment")
    ]
    assert xs == sorted(xs) and len(set(xs)) == 4
    svg.locator("g.node.version a").first.click()
    expect(page.get_by_role("heading", name=re.compile(r"^churn v\d$"))).to_be_visible()
    missing = page.goto(url + "/models/nope/lineage")
    assert missing is not None and missing.status == 404


def test_deployments_traffic_and_monitoring(
    browser: Browser, site: tuple[str, dict[str, str]]
) -> None:
    url, tokens = site
    vic = _sign_in(browser, url, tokens["vic"])
    vic.get_by_role("link", name="Deployments").click()
    rows = vic.locator("table.deployments tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("churn v2")  # staging names v2 now
    expect(rows.first).to_contain_text("canary 10% to churn v1")
    rows.first.get_by_role("link", name="churn-api").click()
    expect(vic.get_by_role("heading", name="Deployment churn-api")).to_be_visible()
    expect(vic.locator("table.trail tbody tr")).to_have_count(1)  # created
    chart = vic.locator("[data-static-chart]")
    expect(chart).to_have_attribute("data-drawn", re.compile(r"^[1-9]\d*$"))
    expect(chart.locator("canvas").first).to_be_visible()
    arms = vic.locator("table.arms tbody tr")
    expect(arms.first).to_contain_text("400")  # the logged requests
    drift = vic.locator("table.drift tbody tr.drifted")
    expect(drift.first).to_contain_text("tenure_months")
    alerts = vic.locator("table.alerts tbody tr")
    expect(alerts.first).to_be_visible()
    expect(vic.get_by_role("button", name="Acknowledge")).to_have_count(0)  # a viewer
    expect(vic.get_by_role("button", name="Change traffic")).to_have_count(0)

    dana = _sign_in(browser, url, tokens["dana"])
    dana.goto(url + "/deployments/churn-api")
    expect(dana.get_by_role("button", name="Change traffic")).to_have_count(0)  # developers
    dana.locator("table.alerts input[name=comment]").first.fill("looking into it")
    dana.get_by_role("button", name="Acknowledge").first.click()
    expect(dana.locator("table.alerts tbody tr").first).to_contain_text("acked by dana")

    eli = _sign_in(browser, url, tokens["eli"])
    eli.goto(url + "/deployments/churn-api")
    eli.get_by_label("Mode").select_option("shadow")
    eli.get_by_label("Percent").fill("50")
    eli.get_by_role("button", name="Change traffic").click()
    expect(eli.locator("dd.policy")).to_contain_text("50% of requests mirrored to")
    trail = eli.locator("table.trail tbody tr")
    expect(trail).to_have_count(2)
    expect(trail.first).to_contain_text("eli")
    eli.get_by_label("Percent").fill("250")
    eli.get_by_role("button", name="Change traffic").click()
    expect(eli.get_by_role("alert")).to_contain_text("percent must be between 0 and 100")
    missing = eli.goto(url + "/deployments/nope")
    assert missing is not None and missing.status == 404


def test_the_deciding_pages_pass_an_accessibility_check(
    site: tuple[str, dict[str, str]], accessibility: Callable[..., list[str]]
) -> None:
    url, tokens = site
    signed_in = [{"name": "shipway_session", "value": tokens["dana"], "url": url}]
    pages = [
        "/models/churn",  # its forms, the timeline
        "/models/churn/versions/2",  # sign-off, promote and review forms
        "/models/churn/contract?a=1&b=2",
        "/models/churn/lineage",
        "/deployments",
        "/deployments/churn-api",  # charts, drift, alerts with acknowledge
    ]
    for path in pages:  # the cookie signs the checked pages in: they are the real pages
        answer = httpx.get(url + path, cookies={"shipway_session": tokens["dana"]})
        assert answer.status_code == 200 and "Sign out" in answer.text, path
    problems = [line for path in pages for line in accessibility(url + path, signed_in)]
    assert accessibility(url + "/") == []  # the sign-in page a visitor first meets
    assert problems == []
