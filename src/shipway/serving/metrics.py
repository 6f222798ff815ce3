"""Prometheus metrics of one inference server (all its worker processes).

With several workers, ``PROMETHEUS_MULTIPROC_DIR`` is set by the supervisor and each
worker's values live in files there; ``/metrics`` sums them.
"""

from __future__ import annotations

import os

import prometheus_client
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

LATENCY_BUCKETS = (
    0.001,
    0.002,
    0.003,
    0.005,
    0.0075,
    0.01,
    0.015,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)

# *_created series only double the size of a scrape
prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]


class ServingMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "shipway_requests",
            "Prediction requests by model, version, protocol and HTTP status",
            ["model", "version", "protocol", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "shipway_request_duration_seconds",
            "Time from the request's arrival to its answer",
            ["model", "version", "protocol"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.predictions = Counter(
            "shipway_predictions",
            "Rows predicted, by model, version and traffic arm",
            ["model", "version", "arm"],
            registry=r,
        )
        self.batch_size = Histogram(
            "shipway_batch_size",
            "Rows per model call (micro-batches)",
            ["model", "version"],
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.queue_depth = Gauge(
            "shipway_batch_queue_depth",
            "Requests waiting for a micro-batch",
            ["model", "version"],
            registry=r,
            multiprocess_mode="livesum",
        )
        self.log_dropped = Counter(
            "shipway_prediction_log_dropped",
            "Prediction records dropped (queue full or write failed)",
            registry=r,
        )
        self.log_written = Counter(
            "shipway_prediction_log_written", "Prediction records written to the log", registry=r
        )
        self.model_loads = Counter(
            "shipway_model_loads",
            "Model versions loaded, by result",
            ["model", "version", "result"],
            registry=r,
        )
        self.ready = Gauge(
            "shipway_model_ready",
            "1 when the served version is loaded and warmed up",
            ["endpoint", "model", "version"],
            registry=r,
            multiprocess_mode="liveall",
        )

    def exposition(self) -> tuple[bytes, str]:
        """The text format of every worker's metrics."""
        directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if directory:
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
