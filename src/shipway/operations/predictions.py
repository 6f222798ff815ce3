"""The prediction-log operations that travel as JSON: listing segments, and recording one
an inference server uploaded (its bytes go through the blob routes first)."""

from __future__ import annotations

from typing import Annotated, Protocol

from annotated_types import Ge

from shipway.operations.declare import op
from shipway.operations.types import Number
from shipway.records import PredictionSegment

Count = Annotated[int, Ge(0)]


class Predictions(Protocol):
    @op("POST", "/predictions/segments", role="data-scientist", status=201)
    def record_segment(
        self,
        model: str,
        version: Number,
        *,
        digest: str,
        size: Count,
        rows: Count,
        first: int,
        last: int,
    ) -> PredictionSegment:
        """List a segment whose Parquet file is already in the blob store."""
        ...

    @op("GET", "/predictions/segments", role="viewer", key="segments")
    def segments(
        self,
        model: str | None = None,
        *,
        since: int | None = None,
        until: int | None = None,
        version: int | None = None,
    ) -> list[PredictionSegment]:
        """Segments with rows in [since, until] (ms since the epoch), oldest first."""
        ...
