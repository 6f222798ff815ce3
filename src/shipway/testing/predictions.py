"""Writing a prediction log without serving: segments built by the server's own writer
code (``build_table``), with the times you choose. For tests and benchmarks of monitoring.

Example::

    ids = write_prediction_log(client, "churn", 3, frame[features], model.predict(frame),
                               start_ms=now - 3_600_000, step_ms=100)
    client.log_feedback("churn", [{"request_id": i, "label": y} for i, y in zip(ids, labels)])
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from shipway.client import Client
from shipway.serving.codecs import Rows
from shipway.serving.predlog import PredictionRecord, build_table

TYPES = {"i": "int", "u": "int", "f": "float", "b": "bool"}


def write_prediction_log(
    client: Client,
    model: str,
    version: int,
    features: Any,
    predictions: Any,
    *,
    start_ms: int,
    step_ms: float = 1.0,
    arm: str = "primary",
    latency_ms: Any = 5.0,
    segment_rows: int = 50_000,
) -> list[str]:
    """Log one single-row request per row of ``features`` (a DataFrame), the i-th at
    ``start_ms + i * step_ms``; returns the request ids."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = [str(c) for c in features.columns]
    types = [TYPES.get(features[c].dtype.kind, "string") for c in features.columns]
    columns = {n: features[n].tolist() for n in names}
    predicted = np.asarray(predictions)
    latencies = np.broadcast_to(np.asarray(latency_ms, dtype=float), (len(features),))
    ids = [uuid.uuid4().hex for _ in range(len(features))]
    for first in range(0, len(features), segment_rows):
        last = min(first + segment_rows, len(features))
        records = [
            PredictionRecord(
                request_id=ids[i],
                time_ms=int(start_ms + i * step_ms),
                endpoint=model,
                model=model,
                version=version,
                arm=arm,
                protocol="native",
                latency_ms=float(latencies[i]),
                input_names=names,
                input_types=types,
                rows=Rows(1, columns={n: [columns[n][i]] for n in names}),
                predictions=predicted[i : i + 1],
                probabilities=None,
            )
            for i in range(first, last)
        ]
        table = build_table(records, pa)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "segment.parquet"
            pq.write_table(table, path, compression="zstd")
            client.backend.prediction_segment_add(
                model,
                version,
                path,
                table.num_rows,
                min(r.time_ms for r in records),
                max(r.time_ms for r in records),
            )
    return ids
