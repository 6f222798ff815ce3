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

# the Python installation's own folders (not sys.prefix: a project may live under /usr)
_LIBRARY_ROOTS = tuple(
    str(Path(p).resolve())
    for p in {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
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
    """The digest of a step function's code (see the module doc): its source, the source
    of the functions and classes of its own file it uses, the values of the plain globals
    and closure variables it reads (``FEATURES = [...]``), and the files of the project's
    modules it uses, followed through the modules they import. Parts are named by file
    path relative to the project, so the same code has the same key however it was
    loaded (the CLI, a notebook, a script). Editing another step of the same file leaves
    it unchanged."""
    parts: dict[str, str] = {}
    root = str(Path(project).resolve())
    _collect(fn, root, parts, set())
    return key_of(parts)


def _source(obj: Any) -> str:
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        code = getattr(obj, "__code__", None)
        return repr(code.co_code) if code is not None else repr(obj)


def _where(obj: Any, root: str) -> str:
    """Where ``obj`` is defined: its file relative to the project, or its module's name."""
    module = sys.modules.get(getattr(obj, "__module__", "") or "")
    file = getattr(module, "__file__", None)
    if file and in_project(file, root):
        return str(Path(file).resolve().relative_to(root))
    return getattr(obj, "__module__", None) or "__main__"


def _value(value: Any) -> str:
    """A plain global's value as text for the key: canonical JSON when it is JSON, else
    its repr (NumPy arrays by their bytes)."""
    try:
        return orjson.dumps(
            value, option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY
        ).decode()
    except TypeError:
        pass
    if type(value).__module__.startswith("pandas"):  # a frame or series: every value
        pd = sys.modules["pandas"]
        try:
            hashed = pd.util.hash_pandas_object(value, index=True).to_numpy().tobytes()
            return digest_bytes(hashed + repr(list(getattr(value, "columns", []))).encode())
        except TypeError:
            pass
    tobytes = getattr(value, "tobytes", None)
    if callable(tobytes):
        try:
            return digest_bytes(tobytes())
        except Exception:  # noqa: BLE001 - fall back to the repr
            pass
    return repr(value)


def _collect(fn: Any, root: str, parts: dict[str, str], seen: set[int]) -> None:
    if id(fn) in seen:
        return
    seen.add(id(fn))
    home = _where(fn, root)
    qualname = getattr(fn, "__qualname__", repr(fn))
    parts[f"{home}:{qualname}"] = digest_bytes(_source(fn).encode())
    code = getattr(fn, "__code__", None)
    scope = getattr(fn, "__globals__", {})
    if code is None:
        return
    found = [(name, scope[name]) for name in sorted(_names(code)) if name in scope]
    cells = zip(code.co_freevars, getattr(fn, "__closure__", None) or (), strict=False)
    for name, cell in cells:
        try:
            found.append((f"closure.{name}", cell.cell_contents))
        except ValueError:  # an empty cell
            continue
    for name, obj in found:
        obj = getattr(obj, "fn", obj) if type(obj).__name__ == "Step" else obj
        if isinstance(obj, types.ModuleType):
            _module_files(obj, root, parts, seen)
        elif inspect.isfunction(obj) or inspect.isclass(obj):
            where = _where(obj, root)
            if where == home:  # beside the step: its own source
                if inspect.isfunction(obj):
                    _collect(obj, root, parts, seen)
                else:
                    parts[f"{where}:{obj.__qualname__}"] = digest_bytes(_source(obj).encode())
            elif module := sys.modules.get(obj.__module__):
                _module_files(module, root, parts, seen)
        elif not callable(obj):
            parts[f"{home}:{name}="] = _value(obj)


def _module_files(
    module: types.ModuleType, root: str, parts: dict[str, str], seen: set[int]
) -> None:
    """A project module's file, and the project modules it uses in turn."""
    if id(module) in seen:
        return
    seen.add(id(module))
    file = getattr(module, "__file__", None)
    if not in_project(file, root):
        return
    assert file is not None
    parts[f"file:{Path(file).resolve().relative_to(root)}"] = _file_digest(file)
    for value in list(vars(module).values()):
        if isinstance(value, types.ModuleType):
            _module_files(value, root, parts, seen)
        elif inspect.isfunction(value) or inspect.isclass(value):
            other = sys.modules.get(getattr(value, "__module__", "") or "")
            if other is not None and other is not module:
                _module_files(other, root, parts, seen)


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
