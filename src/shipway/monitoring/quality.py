"""Live quality: the prediction log joined with the feedback labels by (request id, row),
scored with the contract's task metrics per model version and traffic arm.

The join runs in DuckDB over the window's segments each time it is asked for, so a label
that arrives days late counts in its window as soon as it lands.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from shipway.contracts import metrics as metric_lib
from shipway.serving.predictions import open_log


def joined(files: Sequence[Path], labels: Any, start: int, end: int) -> Any:
    """Rows of the log in [start, end) with their label (null when none yet): columns
    version, arm, time_ms, prediction, probabilities (when logged), label."""
    if not files:
        return None
    with open_log(files) as con:
        con.register("labels", labels)
        columns = [r[0] for r in con.sql("DESCRIBE predictions").fetchall()]
        if "time" not in columns:  # only segments that carry error counts
            return None
        has_proba = "probabilities" in columns
        proba = "l.probabilities" if has_proba else "NULL"
        return con.sql(
            f"""SELECT l.version, l.arm, epoch_ms(l.time) AS time_ms, l.prediction,
                       {proba} AS probabilities, f.label
                FROM predictions l LEFT JOIN labels f
                  ON f.request_id = l.request_id AND f.row = l.row
                WHERE epoch_ms(l.time) >= {int(start)} AND epoch_ms(l.time) < {int(end)}"""
        ).to_arrow_table()


def decode_labels(raw: Sequence[str]) -> list[Any]:
    return [orjson.loads(r) for r in raw]


def scores(
    table: Any, metrics: Sequence[str], classes: Sequence[Any] | None, positive: Any
) -> dict[str, Any]:
    """Metrics over the labelled rows of ``table``, with the label coverage."""
    rows = table.num_rows
    labelled = table.filter(table.column("label").is_valid()) if rows else table
    out: dict[str, Any] = {"rows": rows, "labelled": labelled.num_rows}
    out["coverage"] = round(labelled.num_rows / rows, 4) if rows else 0.0
    values: dict[str, float | None] = {}
    if labelled.num_rows:
        y = decode_labels(labelled.column("label").to_pylist())
        predicted = labelled.column("prediction").to_pylist()
        if classes:
            as_class = {str(c): c for c in classes}
            y = [as_class.get(str(v), v) for v in y]
            predicted = [as_class.get(str(v), v) for v in predicted]
        y_arr, p_arr = _array(y), _array(predicted)
        if not classes:
            try:
                y_arr, p_arr = y_arr.astype(float), p_arr.astype(float)
            except (TypeError, ValueError):  # labels stored before the task was known
                out["metrics"] = dict.fromkeys(metrics)
                out["error"] = "labels are not numbers; a regression needs numeric labels"
                return out
        proba = None
        column = labelled.column("probabilities")
        if column.null_count == 0 and labelled.num_rows:
            proba = np.asarray(column.to_pylist(), dtype=float)
        for name in metrics:
            try:
                values[name] = metric_lib.compute(name, y_arr, p_arr, proba, classes, positive)
            except (ValueError, TypeError):  # e.g. one class only, or no probabilities
                values[name] = None
    out["metrics"] = values
    return out


def _array(values: list[Any]) -> Any:
    """Labels as NumPy infers them (ints stay ints, so scikit-learn sees binary targets);
    mixed types as text."""
    try:
        out = np.asarray(values)
    except (TypeError, ValueError):
        out = np.asarray([str(v) for v in values])
    if out.dtype == object:
        out = np.asarray([str(v) for v in values])
    return out
