"""Finding a pipeline's definition: ``FILE.py[:ATTR]`` or a ``shipway.yaml``.

A Python file is loaded as a module of its own (its folder on ``sys.path``, so it imports
the project's other modules); its functions and the project's modules it uses are sent to
Dask workers by value, so workers need the same packages installed, not the project's
files.
"""

from __future__ import annotations

import contextlib
import importlib.util
import re
import sys
from pathlib import Path

from shipway.errors import InvalidInput, NotFound
from shipway.runner.flow import Pipeline


def load(source: str, project: str | Path | None = None) -> Pipeline:
    """The pipeline ``source`` names: ``pipeline.py``, ``pipeline.py:cancer`` or
    ``shipway.yaml`` (relative to ``project``, the current folder by default)."""
    root = Path(project or Path.cwd()).resolve()
    text = str(source)
    file, _, attr = text.partition(":") if not re.match(r"^[A-Za-z]:\\", text) else (text, "", "")
    path = (root / file).resolve() if not Path(file).is_absolute() else Path(file)
    if not path.is_file():
        raise NotFound(
            f"pipeline file {file} does not exist (in {root}); give FILE.py[:NAME] or shipway.yaml"
        )
    if path.suffix in (".yaml", ".yml"):
        from shipway.runner.shell import load_yaml

        found = load_yaml(path)
    else:
        found = _from_python(path, attr)
    found.source = f"{_relative(path, root)}{':' + attr if attr else ''}"
    found.project = str(path.parent if found.project is None else found.project)
    return found


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _from_python(path: Path, attr: str) -> Pipeline:
    folder = str(path.parent)
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
    _send_by_value(module, path.parent)
    if attr:
        found = getattr(module, attr, None)
        if not isinstance(found, Pipeline):
            raise NotFound(f"{path.name} has no pipeline named {attr!r} (an @sw.pipeline function)")
        return found
    pipelines = [v for v in vars(module).values() if isinstance(v, Pipeline)]
    if len(pipelines) != 1:
        names = ", ".join(sorted(p.fn.__name__ for p in pipelines)) or "none"
        raise InvalidInput(
            f"{path.name} defines {len(pipelines)} pipelines ({names}); name one: {path.name}:NAME"
        )
    return pipelines[0]


def _send_by_value(module: object, project: Path) -> None:
    """Workers get the pipeline's module and the project's modules by value (cloudpickle),
    so they need not have the project's files."""
    try:
        import cloudpickle
    except ImportError:
        return
    from shipway.runner.keys import in_project

    root = str(project.resolve())
    for candidate in list(sys.modules.values()):
        if in_project(getattr(candidate, "__file__", None), root):
            with contextlib.suppress(ValueError):
                cloudpickle.register_pickle_by_value(candidate)
    cloudpickle.register_pickle_by_value(module)
