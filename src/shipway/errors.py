"""Every error shipway raises on purpose.

The hierarchy::

    ShipwayError                      base class; ``code`` is a stable machine-readable name
    ├── InvalidInput                  a value the caller gave is wrong (field, value, fix)
    │   ├── FilterSyntaxError         a search filter does not parse (carries the position)
    │   ├── SchemaError               prediction input that does not match a model's signature
    │   ├── InvalidPath               an artifact path is absolute, has ``..`` or control chars
    │   └── ContractError             a contract file that does not validate (problems by line)
    ├── NotFound                      an id or name that does not exist
    ├── Conflict                      the request contradicts stored state
    │   ├── ParamConflict             a param re-logged with another value
    │   └── PromotionRefused          a promotion the contract refuses (lists what is missing)
    ├── PayloadTooLarge               a request body over the configured limit
    ├── IntegrityError                stored bytes do not match their digest
    ├── Unauthenticated               no token, or a token that is unknown or revoked
    ├── PermissionDenied              the user's role does not allow the action
    ├── ConnectionFailed              the tracking server cannot be reached (after retries)
    ├── ServerError                   the server answered with an error shipway did not expect
    ├── MissingDependency             an optional extra is needed (names the extra to install)
    ├── NotReady                      a served model is still loading, or failed to load
    └── JobFailed                     a pipeline step or every trial of a sweep failed (names it)

Domain errors know nothing about HTTP or exit codes: ``shipway.http_status`` maps them to
status codes (for the platform API and the inference server alike) and
``shipway.cli.output`` maps them to exit codes and one-line headlines.
"""

from __future__ import annotations

from typing import Any


class ShipwayError(Exception):
    """Base class: ``message`` says what is wrong and how to fix it."""

    code = "shipway_error"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return self.message


class InvalidInput(ShipwayError):
    code = "invalid_input"


class FilterSyntaxError(InvalidInput):
    """A filter string that does not parse; ``position`` is the 0-based offset of the fault."""

    code = "invalid_filter"

    def __init__(self, reason: str, *, text: str, position: int) -> None:
        caret = " " * position + "^"
        super().__init__(
            f"invalid filter at position {position}: {reason}\n  {text}\n  {caret}",
            details={"position": position, "reason": reason, "filter": text},
        )
        self.position = position
        self.reason = reason


class SchemaError(InvalidInput):
    """Prediction input that does not match the model's signature (names column, type, value)."""

    code = "schema_error"


class InvalidPath(InvalidInput):
    code = "invalid_path"


class ContractError(InvalidInput):
    """A contract that does not validate; ``details["problems"]`` lists each one with its
    line and field."""

    code = "invalid_contract"


class NotFound(ShipwayError):
    code = "not_found"


class Conflict(ShipwayError):
    code = "conflict"


class ParamConflict(Conflict):
    code = "param_conflict"


class PromotionRefused(Conflict):
    """The contract does not allow the promotion yet; ``details["missing"]`` names every
    missing item (a passing gate report, sign-offs, …)."""

    code = "promotion_refused"


class PayloadTooLarge(ShipwayError):
    code = "payload_too_large"


class IntegrityError(ShipwayError):
    code = "integrity_error"


class Unauthenticated(ShipwayError):
    code = "unauthenticated"


class PermissionDenied(ShipwayError):
    code = "permission_denied"


class ConnectionFailed(ShipwayError):
    code = "connection_failed"


class ServerError(ShipwayError):
    code = "server_error"


class MissingDependency(ShipwayError):
    code = "missing_dependency"


class NotReady(ShipwayError):
    """A model is still loading (or failed to load); try again shortly."""

    code = "not_ready"


class JobFailed(ShipwayError):
    """Work the user gave failed: a pipeline's step, every trial of a sweep. The message
    names what failed and its error; ``details`` the state of every part."""

    code = "job_failed"


def error_from_code(code: str, message: str, details: Any = None) -> ShipwayError:
    """Rebuild the error a server reported, so remote and local clients raise the same class."""
    if code == FilterSyntaxError.code and isinstance(details, dict):
        return FilterSyntaxError(
            str(details.get("reason")),
            text=str(details.get("filter")),
            position=int(details.get("position", 0)),
        )
    for cls in _all_subclasses(ShipwayError):
        if cls.code == code and cls is not FilterSyntaxError:
            return cls(message, details=details)
    return ServerError(message, details=details)


def _all_subclasses(cls: type[ShipwayError]) -> list[type[ShipwayError]]:
    out: list[type[ShipwayError]] = []
    for sub in cls.__subclasses__():
        out.append(sub)
        out.extend(_all_subclasses(sub))
    return out
