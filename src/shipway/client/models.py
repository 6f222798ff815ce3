"""``sw.models``: load any model package by URI, with one interface for every flavor.

>>> model = sw.models.load("models:/churn@production")
>>> model.predict(dataframe)

``load`` accepts ``models:/NAME/VERSION``, ``models:/NAME@ALIAS``, ``models:/NAME`` (the
latest version), ``runs:/RUN_ID/PATH`` or a local package folder. The package is
downloaded once into the home's cache (named by its digest) and every file is verified
against model.yaml on each load. Pickle-based flavors run code when loaded: load only
packages you trust.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import shipway.models
from shipway.blobs.atomic import atomic_folder
from shipway.client.client import Client
from shipway.errors import IntegrityError, NotFound
from shipway.registry.packages import parse_run_uri

__all__ = ["load", "package_dir"]


def package_dir(uri: str | Path, *, client: Client | None = None) -> Path:
    """The package folder on local disk (downloaded into the cache if needed)."""
    if isinstance(uri, Path) or not str(uri).startswith(("models:/", "runs:/")):
        path = Path(uri)
        if not (path / "model.yaml").is_file():
            raise NotFound(f"{path} is not a model package folder (no model.yaml)")
        return path
    c = client or Client()
    expected = None
    if str(uri).startswith("models:/"):
        version = c.registry.resolve(str(uri))
        run_id, path_in_run = version.run_id, version.artifact_path
        expected = version.package_digest
    else:
        run_id, path_in_run = parse_run_uri(str(uri))
    entries = {a.path: a for a in c.backend.list_artifacts(run_id, path_in_run)}
    meta = entries.get(f"{path_in_run}/model.yaml")
    if meta is None:
        raise NotFound(f"runs:/{run_id}/{path_in_run} is not a model package (no model.yaml)")
    if expected is not None and meta.digest != expected:
        raise IntegrityError(
            f"{uri} was registered with package {expected[:12]}…, but the run's artifacts "
            f"now hold package {meta.digest[:12]}… (they were overwritten); refusing to load "
            "it. Register the new package as a new version instead"
        )
    target = c.settings.home / "cache" / "models" / meta.digest
    return atomic_folder(
        target,
        lambda staging: c.backend.download_artifacts(run_id, path_in_run, staging),
        "model.yaml",
    )


def load(uri: str | Path, *, client: Client | None = None, verify: bool = True) -> Any:
    """Load a model package; returns a model with ``predict`` (and ``predict_proba``)."""
    from shipway.models import load_package

    return load_package(package_dir(uri, client=client), verify=verify)


shipway.models.register_api(sys.modules[__name__])
