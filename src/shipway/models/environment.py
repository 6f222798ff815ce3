"""The Python environment a model package needs: captured at save, compared at load.

A package pins the versions of its flavor's libraries and their key dependencies (numpy,
pandas, scipy …) plus shipway itself, as found with :mod:`importlib.metadata` in the
process that saved it. Loading compares them with what is installed and warns once,
listing every mismatch; it never fails on a version difference.
"""

from __future__ import annotations

import importlib.metadata
import platform
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shipway.errors import InvalidInput

# shipway's own version is recorded but not compared: the package ``format`` field is what
# decides whether this shipway can read a package, and a warning on every upgrade is noise.
_NOT_COMPARED = frozenset({"shipway"})


@dataclass(frozen=True)
class Requirements:
    """``python``: the interpreter version; ``packages``: distribution name -> pinned version."""

    python: str
    packages: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"python": self.python, "packages": dict(sorted(self.packages.items()))}

    @classmethod
    def from_dict(cls, data: Any) -> Requirements:
        if not isinstance(data, Mapping) or not isinstance(data.get("packages", {}), Mapping):
            raise InvalidInput(
                "model.yaml: requirements must be a mapping like "
                "{python: '3.11.7', packages: {scikit-learn: '1.5.0'}}"
            )
        packages = {str(k): str(v) for k, v in dict(data.get("packages") or {}).items()}
        return cls(python=str(data.get("python", "")), packages=packages)


def installed_version(distribution: str) -> str | None:
    """The installed version of ``distribution``, or None when it is not installed."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def capture_requirements(distributions: Iterable[str]) -> Requirements:
    """Pin the installed versions of ``distributions`` (absent ones are left out) and shipway."""
    packages: dict[str, str] = {}
    for name in [*distributions, "shipway"]:
        version = installed_version(name)
        if version is not None:
            packages[name] = version
    return Requirements(python=platform.python_version(), packages=dict(sorted(packages.items())))


def requirement_mismatches(requirements: Requirements) -> list[str]:
    """One line per package whose installed version differs from the logged one."""
    lines = []
    for name, logged in sorted(requirements.packages.items()):
        if name in _NOT_COMPARED:
            continue
        installed = installed_version(name)
        if installed != logged:
            lines.append(f"{name}: logged {logged}, installed {installed or 'none'}")
    return lines


def warn_on_mismatch(requirements: Requirements, *, where: str, stacklevel: int = 2) -> None:
    """Warn once, listing every mismatch; silent when the environment matches."""
    lines = requirement_mismatches(requirements)
    if lines:
        warnings.warn(
            f"the model package at {where} was saved with other library versions than are "
            f"installed ({'; '.join(lines)}); predictions may differ. Install the logged "
            "versions with `pip install -r` on the output of requirements_txt(info).",
            UserWarning,
            stacklevel=stacklevel + 1,
        )


def render_requirements_txt(requirements: Requirements) -> str:
    """A pip requirements file pinning every logged package."""
    lines = [f"# model package requirements (saved with python {requirements.python})"]
    lines += [f"{name}=={version}" for name, version in sorted(requirements.packages.items())]
    return "\n".join(lines) + "\n"


ENV_FORMATS = ("requirements", "conda", "pyproject", "json")


def render_environment(requirements: Requirements, fmt: str, name: str) -> str:
    """The pinned environment as ``requirements`` (requirements.txt), ``conda`` (an
    environment.yml: Python from conda, the packages from PyPI through its pip section,
    as their names are PyPI's), ``pyproject`` (a ``[project]`` fragment) or ``json``."""
    pins = [f"{pkg}=={ver}" for pkg, ver in sorted(requirements.packages.items())]
    if fmt == "requirements":
        return render_requirements_txt(requirements)
    if fmt == "conda":
        lines = [
            f"name: {name}",
            "channels:",
            "  - conda-forge",
            "dependencies:",
            f"  - python={requirements.python}",
            "  - pip",
            "  - pip:",
        ]
        lines += [f"      - {pin}" for pin in pins]
        return "\n".join(lines) + "\n"
    if fmt == "pyproject":
        major_minor = ".".join(requirements.python.split(".")[:2])
        lines = ["[project]", f'requires-python = "=={major_minor}.*"', "dependencies = ["]
        lines += [f'    "{pin}",' for pin in pins]
        lines.append("]")
        return "\n".join(lines) + "\n"
    if fmt == "json":
        import orjson

        return orjson.dumps(requirements.to_dict(), option=orjson.OPT_INDENT_2).decode() + "\n"
    raise InvalidInput(
        f"environment format {fmt!r} is not one of {', '.join(ENV_FORMATS)}",
        details={"field": "format"},
    )


def _normal(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def environment_differences(
    requirements: Requirements, installed: Mapping[str, str], python: str
) -> list[str]:
    """What an environment (``installed``: distribution -> version; its ``python``
    version) lacks or has at another version than the package pins; empty when it fits.
    Python is compared by major.minor."""
    found = {_normal(k): v for k, v in installed.items()}
    lines = []
    want = ".".join(requirements.python.split(".")[:2])
    have = ".".join(python.split(".")[:2])
    if want != have:
        lines.append(f"python: the package wants {requirements.python}, this is {python}")
    for pkg, version in sorted(requirements.packages.items()):
        if pkg in _NOT_COMPARED:
            continue
        there = found.get(_normal(pkg))
        if there is None:
            lines.append(f"{pkg}: missing (the package pins {version})")
        elif there != version:
            lines.append(f"{pkg}: {there} installed, the package pins {version}")
    return lines
