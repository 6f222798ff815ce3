"""Checks on names, keys and values that every tracking write goes through."""

from __future__ import annotations

import math
import os
import re
from numbers import Real
from pathlib import Path
from typing import Any

from shipway.errors import InvalidInput, InvalidPath
from shipway.records import KEY_LEN, PARAM_VALUE_LEN

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
X_AXES = ("step", "time", "relative")  # what a metric chart's x can be (tracking/series.py)


def check_key(kind: str, key: Any) -> str:
    if not isinstance(key, str) or not key.strip():
        raise InvalidInput(f"{kind} key must be a non-empty string, got {key!r}")
    if len(key) > KEY_LEN:
        raise InvalidInput(
            f"{kind} key {key[:40]!r}… is {len(key)} characters; the limit is {KEY_LEN}"
        )
    if _CONTROL.search(key):
        raise InvalidInput(f"{kind} key {key!r} contains a control character; remove it")
    return key


def check_name(kind: str, name: Any, limit: int = 255) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(f"{kind} name must be a non-empty string, got {name!r}")
    if len(name) > limit or _CONTROL.search(name):
        raise InvalidInput(
            f"{kind} name {name[:40]!r} must be at most {limit} characters "
            "without control characters"
        )
    return name


SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def check_slug(kind: str, name: Any) -> str:
    """A name that becomes part of paths and URLs: a dataset, a model, a deployment."""
    if not isinstance(name, str) or not SLUG.fullmatch(name):
        raise InvalidInput(
            f"{kind} name {name!r} is not valid: use letters, digits, '.', '_' or '-' "
            "(up to 128, starting with a letter or digit)"
        )
    return name


def param_value(key: str, value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    if len(text) > PARAM_VALUE_LEN:
        raise InvalidInput(
            f"param {key!r} is {len(text)} characters long; the limit is {PARAM_VALUE_LEN}. "
            "Log long values as an artifact instead"
        )
    return text


def metric_value(key: str, value: Any) -> float:
    """A float from any real number (int, float, numpy scalar); NaN and inf are kept."""
    if isinstance(value, float):
        return value
    if (
        isinstance(value, Real)
        or hasattr(value, "__float__")
        and not isinstance(value, str | bytes)
    ):
        try:
            return float(value)
        except (TypeError, ValueError):
            pass
    raise InvalidInput(f"metric {key!r} must be a number, got {type(value).__name__} {value!r}")


def is_finite(value: float) -> bool:
    return math.isfinite(value)


def artifact_path(path: Any) -> str:
    """A safe relative POSIX path: no absolute paths, no ``..``, no control characters."""
    if not isinstance(path, str) or not path.strip():
        raise InvalidPath(f"artifact path must be a non-empty string, got {path!r}")
    if _CONTROL.search(path):
        raise InvalidPath(f"artifact path {path!r} contains a control character; remove it")
    if "\\" in path:
        raise InvalidPath(f"artifact path {path!r} contains a backslash; use '/' between folders")
    if path.startswith("/"):
        raise InvalidPath(f"artifact path {path!r} is absolute; give a path relative to the run")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise InvalidPath(f"artifact path {path!r} contains '..'; artifacts stay inside their run")
    if not parts:
        raise InvalidPath(f"artifact path {path!r} names no file")
    if len(path) > 1024:
        raise InvalidPath(f"artifact path {path[:40]!r}… is longer than 1024 characters")
    return "/".join(parts)


def files_to_log(local: Path, artifact_dir: str | None) -> list[tuple[Path, str]]:
    """(local file, artifact path) for a file, or for every file of a folder, which keeps
    its name: ``artifact_dir/<file>`` or ``artifact_dir/<folder>/…``. The client uses it
    too, so local and remote runs lay artifacts out alike."""
    local = Path(local)
    base = artifact_path(artifact_dir) if artifact_dir else ""
    if local.is_file():
        files = [(local, local.name)]
    elif local.is_dir():
        files = [
            (Path(root) / name, (Path(root) / name).relative_to(local.parent).as_posix())
            for root, _dirs, names in sorted(os.walk(local))
            for name in sorted(names)
        ]
    else:
        raise InvalidInput(f"{local} is neither a file nor a folder; check the path")
    return [(f, artifact_path(f"{base}/{rel}" if base else rel)) for f, rel in files]
