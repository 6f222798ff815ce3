"""Datasets described elsewhere (MLflow's ``mlflow.log_input``): a name, a digest, a
source, a schema and a profile, but no files. Each becomes a version of a shipway dataset
holding that description as one JSON file, read by the run in its context, so lineage
and the web pages show it like any dataset input."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import orjson

from shipway.datasets.service import DatasetService
from shipway.records import DatasetVersion

DESCRIPTION_FILE = "mlflow-dataset.json"
FIELDS = ("name", "digest", "source_type", "source", "schema", "profile")
CONTEXT = re.compile(r"[a-z][a-z0-9_-]{0,63}")


def log_described_input(
    datasets: DatasetService, run_id: str, dataset: dict[str, Any], context: str
) -> DatasetVersion:
    """Record ``dataset`` (MLflow's fields) as a dataset version read by the run."""
    context = context.lower() if CONTEXT.fullmatch(context.lower()) else "input"
    description = {k: dataset.get(k) for k in FIELDS}
    with tempfile.TemporaryDirectory(dir=datasets.home) as folder:
        file = Path(folder) / DESCRIPTION_FILE
        file.write_bytes(orjson.dumps(description, option=orjson.OPT_SORT_KEYS))
        version, _ = datasets.add(
            str(dataset["name"]),
            file,
            message=f"logged by mlflow (digest {dataset.get('digest') or '?'})",
            source=str(dataset.get("source") or dataset.get("source_type") or "mlflow"),
            run_id=run_id,
        )
    datasets.log_input(run_id, version.ref, context)
    return version


def described(datasets: DatasetService, version: DatasetVersion) -> dict[str, Any] | None:
    """The description a version made by :func:`log_described_input` holds, else None."""
    entries = datasets.manifest(version)
    if len(entries) != 1 or entries[0].path != DESCRIPTION_FILE or not entries[0].digest:
        return None
    try:
        found = orjson.loads(datasets.blobs.get_bytes(entries[0].digest))
    except orjson.JSONDecodeError:
        return None
    return found if isinstance(found, dict) else None
