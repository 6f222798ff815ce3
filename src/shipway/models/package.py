"""Model packages on disk: written whole or not at all, verified before they are loaded.

A package is a folder: ``model.yaml`` (see :mod:`shipway.models.info`) plus the flavor's
model files, ``code/`` (copies of ``python_files``) and, for the python flavor,
``artifacts/``. Every file but model.yaml is listed in model.yaml with its BLAKE3 digest;
:func:`load_package` checks them all before reading any model file, because pickle-based
flavors (sklearn, lightgbm wrappers, python) run code when they are loaded.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from shipway.blobs.atomic import fsync_dir
from shipway.blobs.backends import TEMP_PREFIX
from shipway.blobs.hashing import hash_file_sized
from shipway.errors import Conflict, IntegrityError, InvalidInput
from shipway.models.environment import capture_requirements, warn_on_mismatch
from shipway.models.examples import example_records, normalize_example
from shipway.models.flavors import Flavor, get_flavor, resolve_flavor
from shipway.models.inference import signature_from_example
from shipway.models.info import MODEL_YAML, FileEntry, PackageInfo, read_info, write_info
from shipway.models.loaded import LoadedModel
from shipway.models.signature import Signature

CODE = "code"


def save_package(
    model: Any,
    path: Path,
    *,
    input_example: Any = None,
    signature: Signature | Mapping[str, Any] | None = None,
    description: str | None = None,
    python_files: Sequence[Path] = (),
    flavor: str | None = None,
) -> PackageInfo:
    """Write ``model`` as a package in the new folder ``path``; return its model.yaml.

    The flavor is detected unless given (``flavor="onnx"`` for the path or bytes of an
    .onnx file). With an ``input_example`` the signature is inferred from it (unless
    given) and the model must predict on it. ``python_files`` (files or folders) are
    copied under ``code/``, which is put on ``sys.path`` when the package is loaded.

    Example::

        info = save_package(pipeline, Path("churn-model"), input_example=X_train.head())
    """
    path = Path(path)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise Conflict(f"{path} already exists; save the package to a new folder")
    chosen = resolve_flavor(model, flavor)
    model = chosen.prepare(model)
    sig = None if signature is None else Signature.from_dict(signature)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.parent / f"{TEMP_PREFIX}{path.name[:100]}-{secrets.token_hex(6)}"
    staging.mkdir()
    try:
        options = chosen.save(model, staging)
        _copy_code(python_files, staging / CODE)
        info = _describe(chosen, model, staging, sig, input_example, description, options)
        write_info(staging, info)
        if path.exists():
            path.rmdir()  # an empty folder we may replace
        staging.rename(path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    fsync_dir(path.parent)
    return info


def _describe(
    flavor: Flavor,
    model: Any,
    folder: Path,
    signature: Signature | None,
    input_example: Any,
    description: str | None,
    options: dict[str, Any],
) -> PackageInfo:
    predictor = flavor.predictor(model)
    example = None
    if input_example is not None:
        normalized = normalize_example(input_example, predictor.feature_names)
        signature = signature_from_example(predictor, normalized, signature)[0]
        example = example_records(normalized)
    classes = None if predictor.classes is None else list(predictor.classes)
    return PackageInfo(
        flavor=flavor.name,
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        files=digest_files(folder),
        requirements=capture_requirements(flavor.packages(model)),
        signature=signature,
        description=description,
        input_example=example,
        predict_proba=predictor.predict_proba is not None,
        classes=classes,
        flavor_options=options,
    )


def _copy_code(python_files: Sequence[Path], dest: Path) -> None:
    seen: set[str] = set()
    for item in python_files:
        source = Path(item)
        if not source.exists():
            raise InvalidInput(f"python_files: {source} does not exist")
        if source.name in seen:
            raise InvalidInput(f"python_files: two entries are named {source.name!r}")
        seen.add(source.name)
        dest.mkdir(exist_ok=True)
        if source.is_dir():
            skip = shutil.ignore_patterns("__pycache__")
            shutil.copytree(source, dest / source.name, ignore=skip)
        else:
            shutil.copyfile(source, dest / source.name)


def digest_files(folder: Path) -> dict[str, FileEntry]:
    """``{relative path: FileEntry}`` for every file under ``folder`` but model.yaml."""
    files = {}
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = file.relative_to(folder).as_posix()
        if name != MODEL_YAML:
            digest, size = hash_file_sized(file)
            files[name] = FileEntry(digest, size)
    return files


def verify_files(folder: Path, files: Mapping[str, FileEntry]) -> None:
    """Raise ``IntegrityError`` naming the first file that is missing, changed, or not
    listed at all (an unlisted file, e.g. under ``code/``, could be imported on load)."""
    root = folder.resolve()
    for file in sorted(p for p in folder.rglob("*") if p.is_file() or p.is_symlink()):
        name = file.relative_to(folder).as_posix()
        if name != MODEL_YAML and name not in files:
            raise IntegrityError(
                f"{name} is in the model package at {folder} but not in its model.yaml; "
                "a package holds exactly the files it lists",
                details={"file": name, "problem": "unlisted"},
            )
    for name, entry in sorted(files.items()):
        file = (folder / name).resolve()
        if not file.is_relative_to(root):
            raise IntegrityError(f"model.yaml lists {name!r}, which is outside the package")
        if not file.is_file():
            raise IntegrityError(
                f"{name} is missing from the model package at {folder}",
                details={"file": name, "problem": "missing"},
            )
        digest, size = hash_file_sized(file)
        if digest != entry.digest or size != entry.size:
            raise IntegrityError(
                f"{name} in the model package at {folder} does not match its digest in "
                f"model.yaml (expected {entry.digest[:16]}…, {entry.size} bytes; found "
                f"{digest[:16]}…, {size} bytes); the package is corrupted or was modified",
                details={"file": name, "problem": "digest", "expected": entry.digest},
            )


def load_package(path: Path, *, verify: bool = True) -> LoadedModel:
    """Load the package in the folder ``path``, checking every file's digest first.

    Warns (never fails) when installed library versions differ from the logged ones.

    Example::

        model = load_package(Path("churn-model"))
        model.predict(frame)
    """
    path = Path(path)
    info = read_info(path)
    flavor = get_flavor(info.flavor)
    if verify:
        verify_files(path, info.files)
    warn_on_mismatch(info.requirements, where=str(path), stacklevel=2)
    code = path / CODE
    if code.is_dir():
        _add_to_sys_path(code)
    predictor = flavor.load(path, info.flavor_options)
    return LoadedModel(info, predictor, path)


def _add_to_sys_path(folder: Path) -> None:
    entry = str(folder.resolve())
    with contextlib.suppress(ValueError):
        sys.path.remove(entry)
    sys.path.insert(0, entry)
