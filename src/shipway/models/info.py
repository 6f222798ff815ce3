"""``model.yaml``: what a model package holds, read without loading the model.

Example of a package's model.yaml::

    format: 1
    flavor: sklearn
    created_at: '2025-05-01T09:30:00+00:00'
    description: churn classifier
    files:
      model.pkl: {digest: 3f1c…, size: 48213}
    signature:
      inputs: [{name: age, type: int, nullable: false, dtype: int64}, …]
      outputs: [{name: prediction, type: int}, {name: probabilities, type: float, shape: [-1, 2]}]
      classes: [0, 1]
    input_example: [{age: 41, …}]
    requirements: {python: 3.11.7, packages: {scikit-learn: 1.5.0, shipway: 0.1.0, …}}
    predict_proba: true
    classes: [0, 1]
    flavor_options: {}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from shipway.blobs.atomic import atomic_writer
from shipway.errors import InvalidInput, NotFound
from shipway.models.environment import Requirements, render_requirements_txt
from shipway.models.signature import Signature

MODEL_YAML = "model.yaml"
FORMAT = 1


@dataclass(frozen=True)
class FileEntry:
    """One file of a package: its BLAKE3 hex digest and size in bytes."""

    digest: str
    size: int


@dataclass(frozen=True)
class PackageInfo:
    """The parsed model.yaml of a package."""

    flavor: str
    created_at: str
    files: Mapping[str, FileEntry]
    requirements: Requirements
    signature: Signature | None = None
    description: str | None = None
    input_example: list[Any] | None = None
    predict_proba: bool = False
    classes: list[Any] | None = None
    flavor_options: Mapping[str, Any] = field(default_factory=dict)
    format: int = FORMAT

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "flavor": self.flavor,
            "created_at": self.created_at,
            "description": self.description,
            "files": {
                name: {"digest": f.digest, "size": f.size} for name, f in sorted(self.files.items())
            },
            "signature": None if self.signature is None else self.signature.to_dict(),
            "input_example": self.input_example,
            "requirements": self.requirements.to_dict(),
            "predict_proba": self.predict_proba,
            "classes": self.classes,
            "flavor_options": dict(self.flavor_options),
        }

    @classmethod
    def from_dict(cls, data: Any) -> PackageInfo:
        if not isinstance(data, Mapping):
            raise InvalidInput("model.yaml must hold a mapping of fields")
        version = data.get("format")
        if version != FORMAT:
            raise InvalidInput(
                f"model.yaml has format {version!r}; this shipway reads format {FORMAT}. "
                "Upgrade shipway to load newer packages"
            )
        for name in ("flavor", "created_at", "files", "requirements"):
            if name not in data:
                raise InvalidInput(f"model.yaml is missing the field {name!r}")
        signature = data.get("signature")
        example = data.get("input_example")
        classes = data.get("classes")
        return cls(
            flavor=str(data["flavor"]),
            created_at=str(data["created_at"]),
            files=_files(data["files"]),
            requirements=Requirements.from_dict(data["requirements"]),
            signature=None if signature is None else Signature.from_dict(signature),
            description=None if data.get("description") is None else str(data["description"]),
            input_example=None if example is None else list(example),
            predict_proba=bool(data.get("predict_proba", False)),
            classes=None if classes is None else list(classes),
            flavor_options=dict(data.get("flavor_options") or {}),
        )


def _files(data: Any) -> dict[str, FileEntry]:
    if not isinstance(data, Mapping):
        raise InvalidInput("model.yaml: files must map each path to {digest, size}")
    files = {}
    for name, entry in data.items():
        if not isinstance(entry, Mapping) or "digest" not in entry or "size" not in entry:
            raise InvalidInput(f"model.yaml: files[{name!r}] needs a digest and a size")
        files[str(name)] = FileEntry(str(entry["digest"]), int(entry["size"]))
    return files


def read_info(path: Path) -> PackageInfo:
    """Parse the package's model.yaml (``path``: the package folder or the file itself).

    Example::

        info = read_info(Path("churn-model"))
        info.flavor, info.signature
    """
    path = Path(path)
    file = path if path.name == MODEL_YAML and path.is_file() else path / MODEL_YAML
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(
            f"no model package at {path}: {file} does not exist", details={"path": str(path)}
        ) from None
    except NotADirectoryError:
        raise NotFound(f"no model package at {path}: it is not a folder") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{file} is not valid YAML: {exc}") from exc
    return PackageInfo.from_dict(data)


def write_info(folder: Path, info: PackageInfo) -> None:
    text = yaml.safe_dump(
        info.to_dict(), sort_keys=False, allow_unicode=True, default_flow_style=None, width=100
    )
    with atomic_writer(folder / MODEL_YAML) as f:
        f.write(text.encode("utf-8"))


def requirements_txt(info: PackageInfo) -> str:
    """A pip requirements file pinning the packages the model was saved with.

    Example::

        Path("requirements.txt").write_text(requirements_txt(read_info(pkg)))
    """
    return render_requirements_txt(info.requirements)
