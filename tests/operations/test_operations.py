"""The declared operations: each one's service has the same method, the API has its route
with every status documented, and the remote client speaks the same wire."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from shipway.api.app import create_app
from shipway.client.remote import RemoteSurface
from shipway.config import Settings
from shipway.errors import InvalidInput
from shipway.operations import SURFACES, all_operations, operations_of
from shipway.records import AliasEvent, ModelVersion, Page, RegisteredModel
from shipway.services import Services

OPERATIONS = all_operations()


@pytest.fixture(scope="module")
def home_services(tmp_path_factory: pytest.TempPathFactory) -> Services:
    home = tmp_path_factory.mktemp("ops") / "home"
    return Services.open(Settings.load(overrides={"home": str(home)}, environ={}), actor="t")


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda o: o.name)
def test_the_service_method_has_the_declared_signature(
    operation: object, home_services: Services
) -> None:
    declared = operation.signature  # type: ignore[attr-defined]
    service = getattr(home_services, operation.surface)  # type: ignore[attr-defined]
    implemented = inspect.signature(getattr(service, operation.method))  # type: ignore[attr-defined]
    want = [(p.name, p.kind, p.default) for p in list(declared.parameters.values())[1:]]
    got = [(p.name, p.kind, p.default) for p in implemented.parameters.values()]
    assert got == want


def test_every_operation_has_a_route_documenting_its_errors(home_services: Services) -> None:
    spec = create_app(home_services).openapi()
    by_id = {
        op["operationId"]: (path, method, op)
        for path, methods in spec["paths"].items()
        for method, op in methods.items()
    }
    for operation in OPERATIONS:
        path, method, doc = by_id[operation.name.replace(".", "_")]
        assert path == "/api/v1" + operation.route.path.replace(":path", "")
        assert method == operation.route.method.lower()
        statuses = set(doc["responses"])
        assert {"400", "401"} <= statuses
        if operation.path_params:
            assert "404" in statuses
        if operation.route.role != "viewer":
            assert "403" in statuses
        for status in statuses - {str(operation.route.status)}:
            schema = doc["responses"][status]["content"]["application/json"]["schema"]
            assert schema["$ref"].endswith("/ErrorEnvelope")


def test_every_route_documents_its_error_statuses_with_the_envelope(
    home_services: Services,
) -> None:
    spec = create_app(home_services).openapi()
    for path, methods in spec["paths"].items():
        for method, doc in methods.items():
            errors = {s: r for s, r in doc["responses"].items() if s.startswith(("4", "5"))}
            assert {"400", "401"} <= set(errors), (method, path)
            if "{" in path:
                assert "404" in errors, (method, path)
            for answer in errors.values():
                schema = answer["content"]["application/json"]["schema"]
                assert schema["$ref"].endswith("/ErrorEnvelope"), (method, path)


def test_names_are_unique_and_paths_do_not_collide() -> None:
    names = [o.name for o in OPERATIONS]
    assert len(names) == len(set(names))
    routes = [(o.route.method, o.route.path) for o in OPERATIONS]
    assert len(routes) == len(set(routes))
    assert set(SURFACES) == {o.surface for o in OPERATIONS}


def test_a_path_segment_with_a_slash_is_refused_before_the_request(tmp_path: Path) -> None:
    from shipway.operations import Registry

    surface = RemoteSurface(None, operations_of("registry", Registry))  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="name 'a/versions'"):
        surface.get_model("a/versions")
    with pytest.raises(TypeError, match="registry.get_model"):
        surface.get_model()
    with pytest.raises(AttributeError):
        surface.no_such_operation  # noqa: B018


def test_results_travel_as_the_wire_rules_say() -> None:
    from shipway.operations.wire import decode_result, encode_result

    ops = {o.method: o for o in OPERATIONS if o.surface == "registry"}
    model = RegisteredModel("churn", "d", ["a"], {"t": "1"}, 5, "u", 2, {"production": 2})
    version = ModelVersion(
        "churn", 2, "r1", "model", "ab" * 32, "sklearn", "ready", "", {}, ["production"], 5, "u"
    )
    event = AliasEvent("churn", "production", 1, 2, "u", "why", 7)
    listed = encode_result(ops["list_models"], [model])
    assert listed == {"models": [model.to_dict()], "next_cursor": None}
    assert decode_result(ops["list_models"], listed) == [model]
    registered = encode_result(ops["register"], (version, True))
    assert registered == {**version.to_dict(), "created": True}
    assert decode_result(ops["register"], dict(registered)) == (version, True)
    assert decode_result(ops["rollback"], encode_result(ops["rollback"], event)) == event
    assert encode_result(ops["set_card_section"], None) == {}
    assert Page  # pages are covered by the tracking operations


def test_the_contributor_guide_example_declares_what_it_says() -> None:
    """docs/architecture.md's "Adding an operation" example, executed."""
    import re
    import textwrap
    from typing import Protocol

    from shipway.operations import op
    from shipway.operations.wire import encode_result

    text = (Path(__file__).parents[2] / "docs" / "architecture.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    declaration = next(textwrap.dedent(b) for b in blocks if "@op(" in b)
    body = textwrap.indent(declaration, "    ")
    namespace: dict[str, object] = {"op": op, "Protocol": Protocol}
    exec(f"class Example(Protocol):\n{body}", namespace)  # noqa: S102
    (operation,) = operations_of("registry", namespace["Example"])  # type: ignore[arg-type]
    assert (operation.route.method, operation.route.path) == ("GET", "/models/{name}/count")
    assert [p.where for p in operation.params] == ["path"]
    assert encode_result(operation, 3) == {"count": 3}
    assert "GET /api/v1/models/{name}/count" in text and '{"count": 3}' in text
