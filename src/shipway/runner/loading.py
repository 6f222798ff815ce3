"""Finding a definition: a pipeline in ``FILE.py[:NAME]`` or a ``shipway.yaml``, a sweep
in ``FILE.py[:NAME]``.

A Python file is loaded as a module of its own (its folder on ``sys.path``, so it imports
the project's other modules); its functions and the project's modules they use are sent
to Dask workers by value (``worker.Code``), so workers need the same packages installed,
not the project's files.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from typing import Any, TypeVar

from shipway.errors import InvalidInput, NotFound
from shipway.runner.flow import Pipeline
from shipway.runner.keys import PROJECTS

T = TypeVar("T")


def load(source: str, project: str | Path | None = None) -> Pipeline:
    """The pipeline ``source`` names: ``pipeline.py``, ``pipeline.py:cancer`` or
    ``shipway.yaml`` (relative to ``project``, the current folder by default)."""
    root = Path(project or Path.cwd()).resolve()
    path, attr = _split(source, root, "pipeline file", "FILE.py[:NAME] or shipway.yaml")
    if path.suffix in (".yaml", ".yml"):
        from shipway.runner.shell import load_yaml

        found = load_yaml(path)
    else:
        found = _pick(_module(path), Pipeline, attr, path, "pipeline (an @sw.pipeline function)")
    # the source is relative to the project, the folder the scheduler runs it in
    found.project = str(path.parent if found.project is None else found.project)
    found.source = f"{_relative(path, Path(found.project))}{':' + attr if attr else ''}"
    return found


def load_object(source: str, kind: type[T], what: str, project: str | Path | None = None) -> T:
    """The ``kind`` object a Python file defines (``FILE.py[:NAME]``; the only one when no
    name is given): an ``sw.Sweep`` for ``shipway sweep``."""
    root = Path(project or Path.cwd()).resolve()
    path, attr = _split(source, root, "file", "FILE.py[:NAME]")
    if path.suffix != ".py":
        raise InvalidInput(f"{path.name} is not a Python file; give FILE.py[:NAME]")
    return _pick(_module(path), kind, attr, path, what)


def _split(source: str, root: Path, what: str, hint: str) -> tuple[Path, str]:
    file, _, attr = str(source).partition(":")
    path = Path(file) if Path(file).is_absolute() else (root / file).resolve()
    if not path.is_file():
        raise NotFound(f"{what} {file} does not exist (in {root}); give {hint}")
    return path, attr


def _pick(module: Any, kind: type[T], attr: str, path: Path, what: str) -> T:
    if attr:
        found = getattr(module, attr, None)
        if not isinstance(found, kind):
            raise NotFound(f"{path.name} has no {what} named {attr!r}")
        return found
    candidates = [(k, v) for k, v in vars(module).items() if isinstance(v, kind)]
    if len(candidates) != 1:
        names = ", ".join(sorted(k for k, _ in candidates)) or "none"
        raise InvalidInput(
            f"{path.name} defines {len(candidates)} of {what} ({names}); name one: {path.name}:NAME"
        )
    return candidates[0][1]


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _module(path: Path) -> Any:
    folder = str(path.parent)
    PROJECTS.add(str(path.parent.resolve()))  # its modules go to workers by value
    if folder not in sys.path:
        sys.path.insert(0, folder)
    name = f"_shipway_pipeline_{re.sub(r'[^A-Za-z0-9_]', '_', path.stem)}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise InvalidInput(f"{path} is not a Python file shipway can load")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise InvalidInput(
            f"loading {path.name} failed: {type(exc).__name__}: {exc}", details={"file": str(path)}
        ) from exc
    return module
