"""The HTTP API's error envelope, limits, auth and audit trail, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

import shipway as sw
from shipway import errors
from shipway.api.server import BackgroundServer
from shipway.config import Settings
from shipway.services import Services


def _envelope(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


@pytest.fixture
def http(server_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server_url + "/api/v1") as c:
        yield c


def test_malformed_json_gets_the_envelope(http: httpx.Client) -> None:
    r = http.post(
        "/experiments", content=b"{not json", headers={"content-type": "application/json"}
    )
    err = _envelope(r, 400, "invalid_input")
    assert "JSON" in str(err["message"])
    r = http.post("/runs/x/metrics", content=b"[1,", headers={"content-type": "application/json"})
    _envelope(r, 400, "invalid_input")


def test_validation_error_names_the_field(http: httpx.Client) -> None:
    err = _envelope(
        http.post("/experiments", json={"description": "no name"}), 400, "invalid_input"
    )
    assert "name" in str(err["message"])
    err = _envelope(http.post("/runs/search", json={"limit": 0}), 400, "invalid_input")
    assert "limit" in str(err["message"])


def test_unknown_route_and_method(http: httpx.Client) -> None:
    _envelope(http.get("/nothing-here"), 404, "not_found")
    _envelope(http.put("/experiments"), 405, "method_not_allowed")


def test_unknown_ids_are_404(http: httpx.Client) -> None:
    err = _envelope(http.get("/runs/does-not-exist"), 404, "not_found")
    assert "does-not-exist" in str(err["message"])
    _envelope(http.get("/runs/does-not-exist/metrics/acc"), 404, "not_found")
    _envelope(http.get("/experiments/nope"), 404, "not_found")


def test_bad_filter_is_400_with_position(http: httpx.Client) -> None:
    err = _envelope(
        http.post("/runs/search", json={"filter": "metrics.acc >"}), 400, "invalid_filter"
    )
    assert isinstance(err["details"], dict) and "position" in err["details"]


def test_metric_batch_json_form_with_non_finite_values(http: httpx.Client, server_url: str) -> None:
    run = http.post("/runs", json={"experiment": "wire"}).json()
    body = {"metrics": {"acc": {"values": [0.5, "NaN", "Infinity"], "steps": [0, 1, 2]}}}
    assert http.post(f"/runs/{run['id']}/metrics", json=body).json() == {"logged": 3}
    points = http.get(f"/runs/{run['id']}/metrics/acc").json()["points"]
    assert [p["value"] for p in points] == [0.5, "NaN", "Infinity"]
    bad = {"metrics": {"acc": {"values": ["high"]}}}
    _envelope(http.post(f"/runs/{run['id']}/metrics", json=bad), 400, "invalid_input")


def test_openapi_and_docs(http: httpx.Client, server_url: str) -> None:
    spec = httpx.get(server_url + "/openapi.json").json()
    assert "/api/v1/runs/search" in spec["paths"]
    assert httpx.get(server_url + "/docs").status_code == 200


@pytest.fixture
def small_limit_server(sqlite_settings: Settings) -> Iterator[str]:
    settings = Settings.load(
        overrides={"home": str(sqlite_settings.home), "max_request_mb": 1, "max_artifact_mb": 1},
        environ={},
    )
    services = Services.open(settings)
    server = BackgroundServer(services)
    yield server.start()
    server.stop()
    services.close()


def test_huge_payloads_are_refused_with_413(small_limit_server: str) -> None:
    with httpx.Client(base_url=small_limit_server + "/api/v1") as http:
        run = http.post("/runs", json={"experiment": "big"}).json()
        huge = b'{"metrics": {"a": {"values": [' + b"1," * 1_000_000 + b"1]}}}"
        _envelope(http.post(f"/runs/{run['id']}/metrics", content=huge), 413, "payload_too_large")

        def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies while streaming
            for _ in range(3):
                yield b"x" * 600_000

        r = http.put(f"/runs/{run['id']}/artifacts/big.bin", content=chunks())
        _envelope(r, 413, "payload_too_large")
        assert http.get(f"/runs/{run['id']}/artifacts").json()["artifacts"] == []


@pytest.fixture
def auth_server(sqlite_settings: Settings) -> Iterator[tuple[str, dict[str, str]]]:
    settings = Settings.load(
        overrides={"home": str(sqlite_settings.home), "auth": True}, environ={}
    )
    services = Services.open(settings, actor="bootstrap")
    tokens = {}
    for name, role in [("ada", "admin"), ("dee", "data-scientist"), ("vic", "viewer")]:
        services.accounts.create_user(name, role)
        secret = services.accounts.create_token(name).secret
        assert secret is not None
        tokens[name] = secret
    server = BackgroundServer(services)
    yield server.start(), tokens
    server.stop()
    services.close()


def test_auth_requires_a_token_and_checks_roles(auth_server: tuple[str, dict[str, str]]) -> None:
    url, tokens = auth_server
    with httpx.Client(base_url=url + "/api/v1") as http:
        err = _envelope(http.get("/experiments"), 401, "unauthenticated")
        assert "Bearer" in str(err["message"])
        _envelope(
            http.get("/experiments", headers={"Authorization": "Bearer wrong"}),
            401,
            "unauthenticated",
        )
        viewer = {"Authorization": f"Bearer {tokens['vic']}"}
        assert http.get("/experiments", headers=viewer).status_code == 200
        err = _envelope(http.post("/runs", json={}, headers=viewer), 403, "permission_denied")
        assert "viewer" in str(err["message"])
        _envelope(http.post("/users", json={"name": "x"}, headers=viewer), 403, "permission_denied")
        assert http.get("/me", headers=viewer).json()["name"] == "vic"

    ds = sw.Client(url, token=tokens["dee"])
    with sw.start_run(experiment="secure", client=ds, capture=False) as run:
        run.log_metric("acc", 0.9)
    assert ds.get_run(run.id).user == "dee"
    with pytest.raises(errors.PermissionDenied):
        ds.create_user("eve", "admin")

    admin = sw.Client(url, token=tokens["ada"])
    events = [e for e in admin.list_events(limit=1000) if e.object_id == run.id]
    assert [e.action for e in events][:2] == ["create", "log_metrics"]
    assert {e.actor for e in events} == {"dee"}
    token = admin.create_token("vic")
    assert token.secret and token.secret.startswith("swt_")
    admin.revoke_token(token.id)
    revoked = sw.Client(url, token=token.secret)
    with pytest.raises(errors.Unauthenticated, match="revoked"):
        revoked.search_runs()


def test_server_down_gives_retries_then_a_clear_error(sqlite_settings: Settings) -> None:
    settings = Settings.load(
        overrides={"home": str(sqlite_settings.home), "retries": 3, "retry_backoff": 0.01},
        environ={},
    )
    client = sw.Client("http://127.0.0.1:9", settings=settings)
    with pytest.raises(errors.ConnectionFailed, match=r"127.0.0.1:9 after 3 attempts"):
        client.search_runs()


def test_buffered_points_are_kept_when_the_server_dies(sqlite_settings: Settings) -> None:
    settings = Settings.load(
        overrides={
            "home": str(sqlite_settings.home),
            "retries": 2,
            "retry_backoff": 0.01,
            "flush_interval": 60.0,
        },
        environ={},
    )
    services = Services.open(settings)
    server = BackgroundServer(services)
    url = server.start()
    client = sw.Client(url, settings=settings)
    run = sw.start_run(experiment="outage", client=client, capture=False)
    run.log_metrics({"a": 1.0, "b": 2.0})
    server.stop()
    with pytest.raises(errors.ConnectionFailed):
        run.flush()
    assert run._metrics.pending == 2  # put back, not dropped
    port = int(url.rsplit(":", 1)[1])
    again = BackgroundServer(services, port=port)
    again.start()
    run.end()
    assert client.get_run(run.id).metrics == {"a": 1.0, "b": 2.0}
    again.stop()
    services.close()


def test_query_string_limits_are_400(http: httpx.Client) -> None:
    _envelope(http.get("/experiments", params={"limit": 5000}), 400, "invalid_input")
    err = _envelope(http.get("/experiments", params={"limmit": 5}), 400, "invalid_input")
    assert "'limmit'" in err["message"] and "limit" in err["message"]


def test_chunked_json_over_the_limit_is_413(small_limit_server: str) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"experiment": "'
        for _ in range(3):
            yield b"x" * 600_000
        yield b'"}'

    with httpx.Client(base_url=small_limit_server + "/api/v1") as http:
        r = http.post("/runs", content=chunks(), headers={"content-type": "application/json"})
        _envelope(r, 413, "payload_too_large")


def test_big_flushes_are_split_under_the_request_limit(
    small_limit_server: str, tmp_path: object
) -> None:
    from shipway.config import Settings

    settings = Settings.load(
        overrides={"home": str(tmp_path), "metric_batch_size": 10_000, "flush_interval": 3600.0},
        environ={},
    )
    client = sw.Client(small_limit_server, settings=settings)
    with sw.start_run(client=client, capture=False) as run:
        run._metrics._batch_size = 10**9  # no early background send: one big flush
        for step in range(100_000):
            run.log_metrics({"a": step, "b": -step}, step=step)
        run._metrics._batch_size = 10_000
    assert len(client.get_metric_history(run.id, "b")) == 100_000
