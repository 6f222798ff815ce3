"""Profiles from the prediction log (per version, arm and time bucket) and from a dataset
version (the reference)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from shipway.contracts.terms import Column
from shipway.models.loaded import LoadedModel
from shipway.monitoring.sketches import (
    CATEGORICAL,
    NUMERIC,
    Profile,
    profile_column,
    profile_table,
)

PREDICTION = "@prediction"
LATENCY = "@latency_ms"
Bounds = dict[str, tuple[float | None, float | None]]


def feature_kinds(model: LoadedModel) -> dict[str, str]:
    """Numeric for int and float inputs, categorical for the rest; the prediction is
    categorical for classifiers."""
    kinds: dict[str, str] = {}
    if model.signature is not None:
        for column in model.signature.columns:
            kinds[column.name] = NUMERIC if column.type in ("int", "float") else CATEGORICAL
    kinds[PREDICTION] = CATEGORICAL if model.classes else NUMERIC
    return kinds


def schema_bounds(schema: Mapping[str, Column]) -> Bounds:
    """The contract's ``min``/``max`` of each column that has one (out-of-range counts)."""
    return {
        name: (column.min, column.max)
        for name, column in schema.items()
        if column.min is not None or column.max is not None
    }


def flatten_log(table: Any) -> Any:
    """The log's ``inputs`` struct as top-level columns, next to the prediction and latency."""
    import pyarrow as pa

    inputs = table.column("inputs").combine_chunks()
    columns = {inputs.type.field(i).name: inputs.field(i) for i in range(inputs.type.num_fields)}
    prediction = table.column("prediction").combine_chunks()
    if pa.types.is_fixed_size_list(prediction.type):  # multi-output: the first output
        prediction = prediction.flatten().take(
            pa.array(np.arange(len(prediction)) * prediction.type.list_size)
        )
    columns[PREDICTION] = prediction
    return pa.table(columns)


def profile_log(
    table: Any, kinds: Mapping[str, str], bounds: Bounds, bucket_seconds: int
) -> dict[tuple[int, str, int], Profile]:
    """Profiles of a prediction-log table keyed by (version, arm, bucket start in ms)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if table.num_rows == 0:
        return {}
    flat = flatten_log(table)
    # one latency per request (a request's rows repeat it): the rows at position 0
    first_rows = pc.equal(table.column("row"), 0).combine_chunks()
    latency = table.column("latency_ms").combine_chunks()
    times = table.column("time").cast(pa.int64()).to_numpy()
    bucket_ms = bucket_seconds * 1000
    buckets = times // bucket_ms * bucket_ms
    versions = table.column("version").combine_chunks()
    arms = table.column("arm").combine_chunks()
    out: dict[tuple[int, str, int], Profile] = {}
    # a segment is usually one version, one arm and one or two buckets: test before masking
    version_values = pc.unique(versions).to_pylist()
    arm_values = pc.unique(arms).to_pylist()
    first, last = int(buckets.min()), int(buckets.max())
    bucket_values = [first] if first == last else np.unique(buckets).tolist()
    for version in version_values:
        by_version = (
            None
            if len(version_values) == 1
            else pc.equal(versions, version).to_numpy(zero_copy_only=False)
        )
        for arm in arm_values:
            by_arm = (
                None if len(arm_values) == 1 else pc.equal(arms, arm).to_numpy(zero_copy_only=False)
            )
            for bucket in bucket_values:
                mask = None if len(bucket_values) == 1 else buckets == bucket
                for extra in (by_version, by_arm):
                    if extra is not None:
                        mask = extra if mask is None else mask & extra
                if mask is not None and not mask.any():
                    continue
                part = flat if mask is None else flat.filter(pa.array(mask))
                profile = profile_table(part, dict(kinds), bounds)
                first = first_rows if mask is None else pc.and_(first_rows, pa.array(mask))
                profile.requests = int(pc.sum(first).as_py() or 0)
                profile.columns[LATENCY] = profile_column(latency.filter(first), NUMERIC)
                out[(int(version), str(arm), int(bucket))] = profile
    return out


def reference_profile(
    frame: Any,
    model: LoadedModel,
    kinds: Mapping[str, str],
    bounds: Bounds,
    max_rows: int = 200_000,
) -> Profile:
    """Profile a dataset's model inputs and the model's predictions on them."""
    import pyarrow as pa

    if len(frame) > max_rows:
        frame = frame.sample(max_rows, random_state=0)
    names = [n for n in kinds if n != PREDICTION and n in frame.columns]
    table = pa.Table.from_pandas(frame[names], preserve_index=False)
    profile = profile_table(table, {n: kinds[n] for n in names}, bounds)
    try:
        predicted = np.asarray(model.predict(frame[names]))
    except Exception:  # inputs the model cannot take: no prediction reference
        return profile
    if predicted.ndim > 1:
        predicted = predicted[:, 0]
    # the same conversion the log's writer makes, so both sides compare equal values
    values = pa.array(predicted.astype(str) if predicted.dtype == object else predicted)
    profile.columns.update(
        profile_table(pa.table({PREDICTION: values}), {PREDICTION: kinds[PREDICTION]}).columns
    )
    return profile
