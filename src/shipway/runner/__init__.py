"""Defining and running pipelines over the platform: ``sw.step``, ``sw.pipeline``, the
release steps, execution on Dask (see ``execute``). Workers reach the platform through the
client, in-process or over HTTP, like any other caller."""

from shipway.runner.batch import BatchReport, predict
from shipway.runner.define import DatasetInput, Node, Step, dataset, step
from shipway.runner.execute import PipelineFailed, PipelineResult, StepResult, StepStatus
from shipway.runner.flow import Pipeline, pipeline
from shipway.runner.load import load
from shipway.runner.release import gates, promote, register
from shipway.runner.sweeps import Sweep, SweepFailed, SweepResult, Trial, sweep
from shipway.runner.worker import StepContext, current_step

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
