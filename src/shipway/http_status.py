"""The HTTP status of every shipway error: one table for the platform API and the
inference server, so the same error answers the same status on both.

The rule: an error answers the status of the nearest class in its hierarchy that the
table lists, 500 when none is. Every mistake in what the caller sent is an
:class:`~shipway.errors.InvalidInput` and answers 400, whatever its kind: a malformed
body, a search filter, a schema error (input that does not match a model's signature),
a model that refused its input. The error's ``code`` (``invalid_input``,
``schema_error``, ``prediction_failed``, …) tells the kinds apart, as the protocols the
inference server speaks do (the Open Inference Protocol, Triton, KServe and MLflow's
scoring server answer bad input with 400).

Example::

    status_for(SchemaError("column 'plan' is missing"))  # 400
"""

from __future__ import annotations

from shipway import errors

STATUS: dict[type[errors.ShipwayError], int] = {
    errors.InvalidInput: 400,
    errors.Unauthenticated: 401,
    errors.PermissionDenied: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.PayloadTooLarge: 413,
    errors.IntegrityError: 500,
    errors.MissingDependency: 501,
    errors.ServerError: 502,
    errors.NotReady: 503,
    errors.ConnectionFailed: 503,
    errors.JobFailed: 500,
}


def status_for(exc: errors.ShipwayError) -> int:
    """The status of the nearest class of ``exc`` in :data:`STATUS` (500 when none is)."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500
