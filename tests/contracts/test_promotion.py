"""Sign-offs by role, reviews, and the promotion policy: refusals name every missing
item, force is admin-only, a new contract version invalidates older reports, and racing
promotions have one winner."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from churn_project import Project, build_project

import shipway as sw
from shipway.api.server import BackgroundServer
from shipway.config import Settings
from shipway.errors import Conflict, InvalidInput, NotFound, PermissionDenied, PromotionRefused
from shipway.services import Services


def as_user(project: Project, user: str) -> sw.Client:
    """The same store, acting as ``user`` (auth off: the client names itself)."""
    settings = project.client.settings
    changed = Settings.load(
        overrides={"home": str(settings.home), "db_url": settings.db_url, "user": user},
        environ={},
    )
    return sw.Client(project.client.tracking_uri, settings=changed)


def test_refusal_names_every_missing_item_then_promotion_succeeds(project: Project) -> None:
    client = project.client
    with pytest.raises(PromotionRefused, match="has no contract"):
        client.promote("churn", 1)
    client.set_contract("churn", project.contract())
    with pytest.raises(PromotionRefused) as info:
        client.promote("churn", 1)
    missing = info.value.details["missing"]
    assert any("no gate report for version 1 under contract version 1" in m for m in missing)
    assert any(m.startswith("needs 1 data-science sign-off(s), has 0") for m in missing)
    assert any(m.startswith("needs 1 engineering sign-off(s), has 0") for m in missing)

    assert client.run_gates("churn", 1).passed
    dana, eli = as_user(project, "dana"), as_user(project, "eli")
    dana.approve("churn", 1, "data-science", "metrics checked on the holdout")
    status = client.promotion_status("churn", 1)
    assert not status["ready"]
    assert status["missing"] == [
        "needs 1 engineering sign-off(s), has 0; one of eli runs "
        "`shipway approve churn 1 --role engineering`"
    ]
    eli.approve("churn", 1, "engineering", "latency fine")
    assert client.promotion_status("churn", 1)["ready"]
    promotion = client.promote("churn", 1)
    assert promotion.outcome == "promoted" and promotion.reasons == []
    assert client.resolve("models:/churn@production").version == 1
    moved = client.alias_history("churn", "production")[-1]
    assert moved.to_version == 1 and "gate report" in moved.reason
    outcomes = [(p.version, p.outcome) for p in client.promotions("churn")]
    assert outcomes == [(1, "refused"), (1, "refused"), (1, "promoted")]
    with pytest.raises(PromotionRefused, match="already holds 'production'"):
        client.promote("churn", 1)
    dana.close()
    eli.close()


def test_failing_report_and_new_contract_version_block_promotion(project: Project) -> None:
    client = project.client
    client.set_contract("churn", project.contract())
    report = client.run_gates("churn", 2)
    assert report.status == "failed"
    with pytest.raises(PromotionRefused) as info:
        client.promote("churn", 2)
    missing = info.value.details["missing"]
    assert any(m.startswith(f"gate report #{report.id}: roc_auc >= 0.85 failed") for m in missing)

    assert client.run_gates("churn", 1).passed
    client.set_contract("churn", project.contract(accuracy=0.7))  # a new version
    with pytest.raises(PromotionRefused) as info:
        client.promote("churn", 1)
    assert any(
        "under contract version 2 (reports under older contract versions no longer count)" in m
        for m in info.value.details["missing"]
    )


def test_signoffs_are_checked_against_the_contract_roles(project: Project) -> None:
    client = project.client
    with pytest.raises(NotFound, match="no contract"):
        client.approve("churn", 1, "engineering")
    client.set_contract("churn", project.contract())
    mallory = as_user(project, "mallory")
    with pytest.raises(PermissionDenied, match="'mallory' is not among the engineering owners"):
        mallory.approve("churn", 1, "engineering")
    with pytest.raises(InvalidInput, match="role 'ops' is not in the contract's owners"):
        mallory.approve("churn", 1, "ops")
    pat = as_user(project, "pat")
    with pytest.raises(InvalidInput, match="rejection needs a reason"):
        pat.reject("churn", 1, "product", "")
    pat.reject("churn", 1, "product", "EU recall too low for the campaign")
    client.run_gates("churn", 1)
    as_user(project, "dana").approve("churn", 1, "data-science")
    as_user(project, "eli").approve("churn", 1, "engineering")
    status = client.promotion_status("churn", 1)
    assert status["missing"] == ["rejected by pat (product): EU recall too low for the campaign"]
    pat.approve("churn", 1, "product", "fixed by the new threshold")  # the latest counts
    assert client.promotion_status("churn", 1)["ready"]
    decisions = [(a.actor, a.role, a.decision) for a in client.approvals("churn", 1)]
    assert decisions == [
        ("pat", "product", "reject"),
        ("dana", "data-science", "approve"),
        ("eli", "engineering", "approve"),
        ("pat", "product", "approve"),
    ]
    mallory.close()
    pat.close()


def test_reviews_are_feedback_not_signoffs(project: Project) -> None:
    client = project.client
    client.set_contract("churn", project.contract())
    client.run_gates("churn", 1)
    review = as_user(project, "pat").review("churn", 1, rating=4, comment="looks right")
    assert (review.actor, review.rating, review.comment) == ("pat", 4, "looks right")
    with pytest.raises(InvalidInput, match="rating must be"):
        client.review("churn", 1, rating=9)
    with pytest.raises(InvalidInput, match="rating \\(1-5\\) or a comment"):
        client.review("churn", 1)
    assert [r.rating for r in client.reviews("churn", 1)] == [4]
    assert client.approvals("churn", 1) == []
    assert not client.promotion_status("churn", 1)["ready"]


def test_force_needs_a_reason_and_is_recorded(project: Project) -> None:
    client = project.client
    client.set_contract("churn", project.contract())
    with pytest.raises(InvalidInput, match="needs --reason"):
        client.promote("churn", 2, force=True)
    promotion = client.promote("churn", 2, force=True, reason="hotfix for the outage")
    assert promotion.outcome == "forced" and promotion.comment == "hotfix for the outage"
    assert any("no gate report" in r for r in promotion.reasons)
    event = client.alias_history("churn", "production")[-1]
    assert event.to_version == 2 and "forced by" in event.reason and "hotfix" in event.reason


def test_racing_promotions_have_one_winner_and_both_are_recorded(project: Project) -> None:
    client = project.client
    client.set_contract(
        "churn",
        project.contract()
        .replace("approvals: {data-science: 1, engineering: 1}", "approvals: {}")
        .replace("  - f1 >= production - 0.02\n", "")
        .replace("  - roc_auc >= 0.85\n", ""),
    )
    for number in (1, 2):
        assert client.run_gates("churn", number).passed
    # both saw production unset when they started
    first = client.contracts.promote("churn", 1, "production", check_current=True)
    with pytest.raises(PromotionRefused, match="another promotion won"):
        client.contracts.promote("churn", 2, "production", check_current=True)
    assert first.outcome == "promoted"
    assert [(p.version, p.outcome) for p in client.promotions("churn")] == [
        (1, "promoted"),
        (2, "refused"),
    ]
    assert client.resolve("models:/churn@production").version == 1

    # and for real, from threads
    client.registry.delete_alias("churn", "production")
    results: dict[int, Any] = {}
    barrier = threading.Barrier(2)

    def attempt(number: int) -> None:
        barrier.wait()
        try:
            results[number] = client.contracts.promote(
                "churn", number, "production", check_current=True
            )
        except PromotionRefused as exc:
            results[number] = exc

    threads = [threading.Thread(target=attempt, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [n for n, r in results.items() if not isinstance(r, Exception)]
    assert len(winners) == 1
    assert client.resolve("models:/churn@production").version == winners[0]
    assert len(client.promotions("churn")) == 4


# auth on: identities come from tokens ---------------------------------------------------


@pytest.fixture
def secured(
    tmp_path: Path,
    churn_data: tuple[pd.DataFrame, pd.DataFrame],
    churn_models: dict[int, Any],
) -> Iterator[tuple[str, dict[str, str]]]:
    settings = Settings.load(overrides={"home": str(tmp_path / "home"), "auth": True}, environ={})
    services = Services.open(settings, actor="bootstrap")
    tokens = {}
    for name, role in [("ada", "admin"), ("dana", "data-scientist"), ("eli", "developer")]:
        services.accounts.create_user(name, role)
        secret = services.accounts.create_token(name).secret
        assert secret is not None
        tokens[name] = secret
    server = BackgroundServer(services)
    url = server.start()
    dana = sw.Client(url, settings=settings, token=tokens["dana"])
    project = build_project(dana, tmp_path / "project", churn_data, churn_models)
    dana.set_contract("churn", project.contract())
    dana.close()
    yield url, tokens
    server.stop()
    services.close()


def test_with_auth_force_is_admin_only_and_approvers_are_token_users(
    secured: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, tokens = secured
    settings = Settings.load(overrides={"home": str(tmp_path / "client")}, environ={})
    dana = sw.Client(url, settings=settings, token=tokens["dana"])
    eli = sw.Client(url, settings=settings, token=tokens["eli"])
    ada = sw.Client(url, settings=settings, token=tokens["ada"])
    with pytest.raises(PermissionDenied, match="'dana' is not among the engineering owners"):
        dana.approve("churn", 1, "engineering")
    assert eli.approve("churn", 1, "engineering", "ok").actor == "eli"
    with pytest.raises(PermissionDenied, match="moving the 'production' alias needs"):
        dana.promote("churn", 1, force=True, reason="now")
    with pytest.raises(
        PermissionDenied, match="--force needs the admin role; 'eli' is 'developer'"
    ):
        eli.promote("churn", 1, force=True, reason="now")
    with pytest.raises(PromotionRefused):
        eli.promote("churn", 1)
    with pytest.raises(Conflict):
        ada.set_alias("churn", 1, "production")  # governed: only promotion moves it
    forced = ada.promote("churn", 1, force=True, reason="launch before the gates exist")
    assert forced.outcome == "forced" and forced.actor == "ada"
    for c in (dana, eli, ada):
        c.close()


def test_a_report_that_skipped_a_relative_gate_goes_stale_once_the_alias_is_set(
    local_project: Project,
) -> None:
    client = local_project.client
    client.set_contract(
        "churn",
        local_project.contract().replace(
            "approvals: {data-science: 1, engineering: 1}", "approvals: {}"
        ),
    )
    early = client.run_gates("churn", 1)
    assert early.passed and early.baseline == {"production": None}
    assert client.run_gates("churn", 2).status == "failed"
    client.promote("churn", 2, force=True, reason="an emergency launch")
    with pytest.raises(PromotionRefused) as info:
        client.promote("churn", 1)
    assert info.value.details["missing"] == [
        f"gate report #{early.id} compared with production unset, but production is now "
        "version 2; run the gates again"
    ]
    again = client.run_gates("churn", 1)
    assert again.baseline == {"production": 2}
    assert client.promote("churn", 1).outcome == "promoted"


def test_http_contract_diff_checks_its_query(project: Project) -> None:
    if not project.client.tracking_uri.startswith("http"):
        return  # the route is what is tested here
    import httpx

    project.client.set_contract("churn", project.contract())
    project.client.set_contract("churn", project.contract(accuracy=0.8))
    base = project.client.tracking_uri + "/api/v1/models/churn/contract/diff"
    assert httpx.get(base, params={"from": "1", "to": "2"}).json()["changed"] == ["gates"]
    for bad in ("²", "abc", "0"):
        response = httpx.get(base, params={"from": bad})
        assert response.status_code == 400, bad
        assert response.json()["error"]["code"] in ("bad_request", "invalid_input")


def test_the_model_card_shows_gates_signoffs_and_reviews(project: Project) -> None:
    from shipway.registry.card import markdown

    client = project.client
    plain = client.get_model_card("churn", 1)["governance"]
    assert plain == {"contract_version": None, "reviews": []}
    client.set_contract("churn", project.contract())
    report = client.run_gates("churn", 1)
    as_user(project, "eli").approve("churn", 1, "engineering", "load-tested")
    as_user(project, "pat").review("churn", 1, rating=4, comment="clear enough for the team")
    card = client.get_model_card("churn", 1)
    governance = card["governance"]
    assert governance["gate_report"] == {
        "id": report.id,
        "status": "passed",
        "contract_version": 1,
        "current": True,
    }
    assert [(a["actor"], a["role"]) for a in governance["approvals"]] == [("eli", "engineering")]
    assert governance["production"]["ready"] is False
    assert any("data-science" in m for m in governance["production"]["missing"])
    text = markdown(card)
    assert "## Contract and sign-offs" in text and f"gate report #{report.id}: passed" in text
    assert "eli (engineering) signed off" in text
    assert "## Reviews" in text and "pat" in text and "4/5 clear enough for the team" in text
