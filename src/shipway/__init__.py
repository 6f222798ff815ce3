"""shipway: carry a machine-learning model from experiment to a monitored endpoint.

>>> import shipway as sw
>>> with sw.start_run(experiment="churn", name="rf") as run:
...     run.log_params({"model": "rf"})
...     run.log_metric("acc", 0.93)

The names below load on first use, so ``import shipway`` (and the ``shipway`` command,
which lives in this package) starts without importing the client or what it needs.
"""

import importlib as _importlib
import typing as _typing

from shipway._version import __version__

if _typing.TYPE_CHECKING:
    from shipway import datasets as datasets
    from shipway import models as models
    from shipway.client import (
        ActiveRun,
        Client,
        active_run,
        get_tracking_uri,
        set_tracking_uri,
        start_run,
    )
    from shipway.errors import ShipwayError
    from shipway.records import Experiment, MetricPoint, Page, Run
    from shipway.runner import (
        Pipeline,
        Sweep,
        add_dataset,
        current_step,
        dataset,
        gates,
        pipeline,
        promote,
        register,
        step,
        sweep,
    )

__all__ = [
    "ActiveRun",
    "Client",
    "Experiment",
    "MetricPoint",
    "Page",
    "Pipeline",
    "Run",
    "ShipwayError",
    "Sweep",
    "__version__",
    "active_run",
    "add_dataset",
    "current_step",
    "dataset",
    "gates",
    "get_tracking_uri",
    "pipeline",
    "promote",
    "register",
    "set_tracking_uri",
    "start_run",
    "step",
    "sweep",
]

# public name -> the module that defines it
_LAZY = {
    "ActiveRun": "shipway.client",
    "Client": "shipway.client",
    "active_run": "shipway.client",
    "get_tracking_uri": "shipway.client",
    "set_tracking_uri": "shipway.client",
    "start_run": "shipway.client",
    "ShipwayError": "shipway.errors",
    "Experiment": "shipway.records",
    "MetricPoint": "shipway.records",
    "Page": "shipway.records",
    "Run": "shipway.records",
    "Pipeline": "shipway.runner",
    "add_dataset": "shipway.runner",
    "current_step": "shipway.runner",
    "dataset": "shipway.runner",
    "gates": "shipway.runner",
    "pipeline": "shipway.runner",
    "promote": "shipway.runner",
    "register": "shipway.runner",
    "step": "shipway.runner",
    "Sweep": "shipway.runner",
    "sweep": "shipway.runner",
}
# ``sw.datasets.*`` and ``sw.models.load`` forward to the client (see those packages)
_SUBMODULES = ("datasets", "models")


def __getattr__(name: str) -> _typing.Any:
    if name in _LAZY:
        value = getattr(_importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return _importlib.import_module(f"shipway.{name}")
    raise AttributeError(f"module 'shipway' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_SUBMODULES})
