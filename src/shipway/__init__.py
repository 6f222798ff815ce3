"""shipway: carry a machine-learning model from experiment to a monitored endpoint.

>>> import shipway as sw
>>> with sw.start_run(experiment="churn", name="rf") as run:
...     run.log_params({"model": "rf"})
...     run.log_metric("acc", 0.93)
"""

from shipway._version import __version__
from shipway.client import (
    ActiveRun,
    Client,
    active_run,
    get_tracking_uri,
    set_tracking_uri,
    start_run,
)
from shipway.client import datasets as _datasets_api  # noqa: F401 (registers sw.datasets.*)
from shipway.client import models as _models_api  # noqa: F401 (registers sw.models.load)
from shipway.errors import ShipwayError
from shipway.records import Experiment, MetricPoint, Page, Run

__all__ = [
    "ActiveRun",
    "Client",
    "Experiment",
    "MetricPoint",
    "Page",
    "Run",
    "ShipwayError",
    "__version__",
    "active_run",
    "get_tracking_uri",
    "set_tracking_uri",
    "start_run",
]
