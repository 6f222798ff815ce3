"""Finding a model package among a run's artifacts, and reading its model.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from shipway.errors import InvalidInput, NotFound
from shipway.tracking.artifacts import ArtifactService
from shipway.tracking.validation import artifact_path


@dataclass(frozen=True)
class PackageRef:
    run_id: str
    path: str  # the package folder, relative to the run
    digest: str  # BLAKE3 of model.yaml: names the package's whole content
    meta: dict[str, Any]  # model.yaml, parsed

    @property
    def flavor(self) -> str:
        return str(self.meta.get("flavor", "unknown"))


def parse_run_uri(uri: str) -> tuple[str, str]:
    """``runs:/<run_id>/<path>`` -> (run_id, path)."""
    if not isinstance(uri, str) or not uri.startswith("runs:/"):
        raise InvalidInput(f"{uri!r} is not a run URI; use runs:/RUN_ID/PATH")
    run_id, _, path = uri.removeprefix("runs:/").partition("/")
    if not run_id or not path:
        raise InvalidInput(f"{uri!r} needs both a run id and a path: runs:/RUN_ID/PATH")
    return run_id, artifact_path(path)


def find_package(artifacts: ArtifactService, run_id: str, path: str) -> PackageRef:
    clean = artifact_path(path)
    try:
        entry = artifacts.get(run_id, f"{clean}/model.yaml")
    except NotFound:
        raise NotFound(
            f"runs:/{run_id}/{clean} is not a model package (no model.yaml there); "
            "log one with run.log_model(model, ...)"
        ) from None
    raw = artifacts.blobs.get_bytes(entry.digest)
    try:
        meta = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"runs:/{run_id}/{clean}/model.yaml is not valid YAML: {exc}") from None
    if not isinstance(meta, dict) or "flavor" not in meta:
        raise InvalidInput(f"runs:/{run_id}/{clean}/model.yaml does not describe a model package")
    return PackageRef(run_id, clean, entry.digest, meta)
