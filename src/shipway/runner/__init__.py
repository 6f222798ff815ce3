"""Defining and running pipelines over the platform: ``sw.step``, ``sw.pipeline``, the
release steps, execution on Dask (see ``execute``), sweeps and batch scoring. Workers reach
the platform through the client, in-process or over HTTP, like any other caller.

The names load on first use, so ``shipway pipelines status`` imports neither the sweep
nor the batch-scoring code (nor Optuna, Dask or cloudpickle)."""

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from shipway.runner.batch import BatchReport, predict
    from shipway.runner.define import DatasetInput, Node, Step, dataset, step
    from shipway.runner.execute import PipelineFailed, PipelineResult, StepResult, StepStatus
    from shipway.runner.flow import Pipeline, pipeline
    from shipway.runner.loading import load
    from shipway.runner.release import add_dataset, gates, promote, register
    from shipway.runner.sweeps import Sweep, SweepFailed, SweepResult, Trial, sweep
    from shipway.runner.worker import StepContext, current_step

_LAZY = {
    "BatchReport": "batch",
    "predict": "batch",
    "DatasetInput": "define",
    "Node": "define",
    "Step": "define",
    "dataset": "define",
    "step": "define",
    "PipelineFailed": "execute",
    "PipelineResult": "execute",
    "StepResult": "execute",
    "StepStatus": "execute",
    "Pipeline": "flow",
    "pipeline": "flow",
    "load": "loading",
    "add_dataset": "release",
    "gates": "release",
    "promote": "release",
    "register": "release",
    "Sweep": "sweeps",
    "SweepFailed": "sweeps",
    "SweepResult": "sweeps",
    "Trial": "sweeps",
    "sweep": "sweeps",
    "StepContext": "worker",
    "current_step": "worker",
}

__all__ = [
    "BatchReport",
    "DatasetInput",
    "Node",
    "Pipeline",
    "PipelineFailed",
    "PipelineResult",
    "Step",
    "StepContext",
    "StepResult",
    "StepStatus",
    "Sweep",
    "SweepFailed",
    "SweepResult",
    "Trial",
    "add_dataset",
    "current_step",
    "dataset",
    "gates",
    "load",
    "pipeline",
    "predict",
    "promote",
    "register",
    "step",
    "sweep",
]


def __getattr__(name: str) -> _typing.Any:
    if name in _LAZY:
        value = getattr(_importlib.import_module(f"shipway.runner.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'shipway.runner' has no attribute {name!r}")
