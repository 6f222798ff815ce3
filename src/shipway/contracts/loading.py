"""Loading a registered version on the platform side (gates, monitoring): the package is
downloaded once into the home's cache, named by its digest, and verified on each load."""

from __future__ import annotations

from pathlib import Path

from shipway.blobs.atomic import atomic_folder
from shipway.models.loaded import LoadedModel
from shipway.models.package import load_package
from shipway.records import ModelVersion
from shipway.registry.service import RegistryService


def package_path(registry: RegistryService, home: Path, version: ModelVersion) -> Path:
    target = Path(home) / "cache" / "models" / version.package_digest
    return atomic_folder(
        target,
        lambda staging: registry.artifacts.download(version.run_id, version.artifact_path, staging),
        "model.yaml",
    )


def load_version(registry: RegistryService, home: Path, version: ModelVersion) -> LoadedModel:
    return load_package(package_path(registry, home, version))
