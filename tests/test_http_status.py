"""One status table for the platform API and the inference server."""

from __future__ import annotations

import pytest

from shipway import errors
from shipway.http_status import STATUS, status_for
from shipway.serving.runtime import PredictionFailed


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.InvalidInput("x"), 400),
        (errors.SchemaError("column 'plan' is missing"), 400),
        (PredictionFailed("the model refused it"), 400),
        (errors.FilterSyntaxError("bad", text="a =", position=2), 400),
        (errors.Unauthenticated("x"), 401),
        (errors.PermissionDenied("x"), 403),
        (errors.NotFound("x"), 404),
        (errors.PromotionRefused("x"), 409),
        (errors.PayloadTooLarge("x"), 413),
        (errors.IntegrityError("x"), 500),
        (errors.MissingDependency("x"), 501),
        (errors.ServerError("x"), 502),
        (errors.NotReady("x"), 503),
        (errors.ConnectionFailed("x"), 503),
        (errors.JobFailed("x"), 500),
        (errors.ShipwayError("x"), 500),
    ],
)
def test_status_follows_the_nearest_listed_class(error: errors.ShipwayError, status: int) -> None:
    assert status_for(error) == status


def test_every_direct_subclass_of_the_base_has_a_status() -> None:
    unlisted = [c.__name__ for c in errors.ShipwayError.__subclasses__() if c not in STATUS]
    assert not unlisted, f"add these to shipway.http_status.STATUS: {unlisted}"


def test_both_servers_use_the_one_table() -> None:
    import shipway.api.errors as api_errors
    import shipway.serving.app as serving_app
    import shipway.serving.server as serving_server

    assert api_errors.status_for is status_for
    assert serving_app.status_for is serving_server.status_for is status_for
