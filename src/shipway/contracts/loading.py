"""Loading a registered version on the platform side (gates, monitoring): the package is
downloaded once into the home's cache, named by its digest, and verified on each load."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from shipway.models.loaded import LoadedModel
from shipway.models.package import load_package
from shipway.records import ModelVersion
from shipway.registry.service import RegistryService


def package_path(registry: RegistryService, home: Path, version: ModelVersion) -> Path:
    target = Path(home) / "cache" / "models" / version.package_digest
    if not (target / "model.yaml").is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".pkg-", dir=target.parent))
        try:
            got = registry.artifacts.download(version.run_id, version.artifact_path, staging)
            try:
                os.replace(got, target)
            except OSError:  # another process cached it first
                if not (target / "model.yaml").is_file():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def load_version(registry: RegistryService, home: Path, version: ModelVersion) -> LoadedModel:
    return load_package(package_path(registry, home, version))
