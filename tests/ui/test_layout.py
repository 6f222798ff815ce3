"""What the pages compute on the server, without a browser: the alias timeline's layout
and the Markdown sanitizer."""

from __future__ import annotations

from shipway.records import AliasEvent, Promotion
from shipway.ui import markdown, timeline


def _move(alias: str, old: int | None, new: int | None, t: int) -> AliasEvent:
    return AliasEvent("churn", alias, old, new, "eli", f"to {new}", t)


def test_the_timeline_has_a_lane_per_alias_and_a_segment_per_version_held() -> None:
    events = [
        _move("staging", None, 1, 0),
        _move("production", None, 1, 250),
        _move("staging", 1, 2, 500),
        _move("staging", 2, None, 750),  # removed: a gap
    ]
    promoted = Promotion(7, "churn", 1, "production", "promoted", [], "", 3, "eli", 251)
    lanes, start, end = timeline.lanes(events, [promoted], now=1000)
    assert (start, end) == (0, 1000)
    assert [lane.alias for lane in lanes] == ["staging", "production"]
    staging, production = lanes
    assert [(s.version, s.x, s.width, s.current) for s in staging.segments] == [
        (1, 0.0, 500.0, False),
        (2, 500.0, 250.0, False),
    ]
    assert [(s.version, s.x, s.width, s.current) for s in production.segments] == [
        (1, 250.0, 750.0, True)
    ]
    assert [m.x for m in staging.marks] == [0.0, 500.0, 750.0]
    assert production.marks[0].promotion == promoted  # the move links to its promotion
    assert all(m.promotion is None for m in staging.marks)
    assert timeline.lanes(events, [promoted], now=1000) == (lanes, start, end)  # deterministic


def test_markdown_is_rendered_and_nothing_in_it_runs() -> None:
    html = markdown.render(
        "**bold** <script>alert(1)</script> [x](javascript:alert(2)) <img src=x onerror=y>\n"
        "\n[ok](https://example.org)"
    )
    assert "<strong>bold</strong>" in html
    assert "<script" not in html and "&lt;script&gt;" in html
    assert "javascript:" not in html.replace("[x](javascript:alert(2))", "")
    assert "<img" not in html
    assert 'href="https://example.org"' in html and 'rel="noopener noreferrer"' in html


def test_every_template_compiles() -> None:
    from shipway.ui.web import ENV

    names = ENV.list_templates(extensions=["html"])
    assert len(names) > 15
    for name in names:
        ENV.get_template(name)  # a syntax error raises here, not at a visitor's request


def test_list_pages_are_keyset_pages_by_name() -> None:
    from shipway.ui.web import PAGE, keyset_page

    names = [f"m{i:03d}" for i in range(PAGE * 2 + 5)][::-1]  # in any order
    first, after = keyset_page(names, str, None)
    assert first == sorted(names)[:PAGE] and after == first[-1]
    second, after = keyset_page(names, str, after)
    assert second[0] == sorted(names)[PAGE] and len(second) == PAGE
    last, after = keyset_page(names, str, after)
    assert len(last) == 5 and after is None
    assert keyset_page(names, str, "zzz") == ([], None)


def test_a_models_versions_and_moves_page_newest_first(
    sqlite_settings: object, monkeypatch: object
) -> None:
    import re

    import httpx
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    import shipway as sw
    import shipway.ui.web as web
    from shipway.api.server import BackgroundServer
    from shipway.services import Services

    monkeypatch.setattr(web, "PAGE", 2)  # type: ignore[attr-defined]
    client = sw.Client("", settings=sqlite_settings)  # type: ignore[arg-type]
    X, y = load_iris(return_X_y=True, as_frame=True)
    for c in range(1, 6):
        with sw.start_run(experiment="paged", client=client, capture=False) as run:
            run.log_model(LogisticRegression(C=c, max_iter=300).fit(X, y), register="many")
    for number in range(1, 6):
        client.set_alias("many", number, "staging", reason=f"move {number}")
    services = Services.open(sqlite_settings)  # type: ignore[arg-type]
    server = BackgroundServer(services)
    http = httpx.Client(base_url=server.start())

    def table(html: str, pattern: str) -> list[str]:
        versions_part, _, moves_part = html.partition('id="moves"')
        return re.findall(pattern, versions_part if "versions" in pattern else moves_part)

    versions = r'<tr><td><a href="/models/many/versions/\d+">v(\d+)</a>'
    first = http.get("/models/many").text
    assert "Model many" in first, first[:500]
    assert table(first, versions) == ["5", "4"] and "?before=4" in first
    assert table(http.get("/models/many?before=4").text, versions) == ["3", "2"]
    assert table(first, r"<td>move (\d)</td>") == ["5", "4"] and "moves_before=4" in first
    older = http.get("/models/many?moves_before=4").text
    assert table(older, r"<td>move (\d)</td>") == ["3", "2"]
    server.stop()
    services.close()
    client.close()
