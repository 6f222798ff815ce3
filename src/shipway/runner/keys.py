"""Cache keys: what a step's result depends on, hashed.

A step's key is the BLAKE3 digest of its components: its **code** (the function's source,
the source of the helpers in its own module it calls, and the files of the project's
modules it uses), each **param** (as canonical JSON) and each **input** (a dataset
version's manifest digest, an upstream step's output digest). An unchanged key means the
recorded outputs are reused; a changed one names which component moved.
"""

from __future__ import annotations

import dis
import inspect
import math
import sys
import sysconfig
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import orjson
from blake3 import blake3

from shipway.errors import InvalidInput

_LIBRARY_ROOTS = tuple(
    str(Path(p).resolve())
    for p in {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    | {sys.prefix, sys.base_prefix}
)
PROJECTS: set[str] = set()  # the folders pipeline files were loaded from (loading.py)
_file_cache: dict[str, tuple[int, int, str]] = {}


def digest_bytes(data: bytes) -> str:
    return blake3(data).hexdigest()


def canonical(value: Any, *, what: str) -> str:
    """A param as canonical JSON (sorted keys), or ``InvalidInput`` naming it."""
    try:
        return orjson.dumps(_plain(value, what), option=orjson.OPT_SORT_KEYS).decode()
    except TypeError as exc:
        raise InvalidInput(str(exc)) from None


def _plain(value: Any, what: str) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return repr(value)
        return value
    if isinstance(value, list | tuple):
        return [_plain(v, what) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v, what) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    raise TypeError(
        f"{what} is a {type(value).__name__}; params must be JSON values (numbers, strings, "
        "lists, dicts): pass data as a dataset (sw.dataset) or another step's output"
    )


def tree_digest(path: Path) -> str:
    """The content digest of a file, or of a folder's files and their relative paths."""
    if path.is_file():
        return _file_digest(str(path))
    parts = {
        str(p.relative_to(path)): _file_digest(str(p))
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }
    return key_of(parts)


def key_of(components: Mapping[str, Any]) -> str:
    return digest_bytes(orjson.dumps(components, option=orjson.OPT_SORT_KEYS))


def in_project(path: str | None, root: str) -> bool:
    if not path:
        return False
    resolved = str(Path(path).resolve())
    if not resolved.startswith(root.rstrip("/") + "/"):
        return False
    return not any(resolved.startswith(lib.rstrip("/") + "/") for lib in _LIBRARY_ROOTS)


def _file_digest(path: str) -> str:
    stat = Path(path).stat()
    found = _file_cache.get(path)
    if found and found[:2] == (stat.st_mtime_ns, stat.st_size):
        return found[2]
    value = digest_bytes(Path(path).read_bytes())
    _file_cache[path] = (stat.st_mtime_ns, stat.st_size, value)
    return value


def code_digest(fn: Callable[..., Any], project: str | Path) -> str:
    """The digest of a step function's code (see the module doc). Editing another step of
    the same file leaves it unchanged; editing a helper it calls or a project module it
    imports changes it."""
    parts: dict[str, str] = {}
    _collect(fn, str(Path(project).resolve()), parts, set())
    return key_of(parts)


def _source(obj: Any) -> str:
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        code = getattr(obj, "__code__", None)
        return repr(code.co_code) if code is not None else repr(obj)


def _collect(fn: Any, root: str, parts: dict[str, str], seen: set[int]) -> None:
    if id(fn) in seen:
        return
    seen.add(id(fn))
    module = getattr(fn, "__module__", None) or "__main__"
    qualname = getattr(fn, "__qualname__", repr(fn))
    parts[f"{module}:{qualname}"] = digest_bytes(_source(fn).encode())
    code = getattr(fn, "__code__", None)
    scope = getattr(fn, "__globals__", {})
    if code is None:
        return
    for name in sorted(_names(code)):
        if name not in scope:
            continue
        obj = scope[name]
        obj = getattr(obj, "fn", obj) if type(obj).__name__ == "Step" else obj
        if isinstance(obj, types.ModuleType):
            path = getattr(obj, "__file__", None)
            if in_project(path, root):
                assert path is not None
                parts[f"module:{obj.__name__}"] = _file_digest(path)
            continue
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        where = getattr(sys.modules.get(obj.__module__), "__file__", None)
        if obj.__module__ == module and inspect.isfunction(obj):
            _collect(obj, root, parts, seen)  # a helper beside the step: its source
        elif in_project(where, root):
            assert where is not None
            parts[f"module:{obj.__module__}"] = _file_digest(where)


def _names(code: types.CodeType) -> set[str]:
    """The globals the code loads (not attribute names: ``model.score`` is no call of a
    ``score`` function), in nested functions and comprehensions too."""
    names = {
        str(i.argval)
        for i in dis.get_instructions(code)
        if i.opname in ("LOAD_GLOBAL", "LOAD_NAME")
    }
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names
