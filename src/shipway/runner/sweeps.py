"""Sweeps: an objective run over a search space, trials in parallel on Dask, Optuna
choosing the points (TPE, random, grid) and pruning the hopeless ones.

>>> def objective(C, penalty, data):
...     model = LogisticRegression(C=C, penalty=penalty, solver="liblinear").fit(...)
...     return {"accuracy": model.score(X_test, y_test)}
>>> result = sw.sweep(objective, space={"C": (1e-3, 10.0, "log"), "penalty": ["l1", "l2"]},
...                   metric="accuracy", trials=16, inputs={"data": frame})
>>> result.best_params, result.best_value, result.best_run_id

A space maps each param to ``(low, high)`` (floats: uniform; ints: an integer range),
``(low, high, "log")`` (log-uniform), a list (one of these values), or an Optuna
distribution. The grid sampler takes lists only. Every trial is a nested run of the
sweep's run with its params and metrics; the best one is tagged ``shipway.best``.

Inside a trial, ``sw.current_step().report(value, step)`` records an intermediate value;
with a ``pruner`` Optuna may stop the trial there (it ends ``pruned``). Pruning needs the
trials' shared Optuna storage, a journal file in the home: workers on this machine.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from shipway.errors import InvalidInput, JobFailed, MissingDependency
from shipway.runner.worker import (
    TAG_WORKER,
    Code,
    StepContext,
    client_for,
    running_as,
    worker_address,
)

SAMPLERS = ("tpe", "random", "grid")
TAG_SWEEP = "shipway.sweep"
TAG_TRIAL = "shipway.sweep_trial"
TAG_BEST = "shipway.best"


def _optuna() -> Any:
    try:
        return importlib.import_module("optuna")
    except ImportError:
        raise MissingDependency("sweeps use Optuna: pip install 'shipway[pipelines]'") from None


def distributions(space: Mapping[str, Any]) -> dict[str, Any]:
    """The space as Optuna distributions, or ``InvalidInput`` naming the param."""
    optuna = _optuna()
    d = optuna.distributions
    out: dict[str, Any] = {}
    if not space:
        raise InvalidInput("a sweep needs a space: {param: (low, high) | [values] | ...}")
    for name, spec in space.items():
        if isinstance(spec, d.BaseDistribution):
            out[name] = spec
        elif isinstance(spec, list) and spec:
            out[name] = d.CategoricalDistribution(spec)
        elif isinstance(spec, tuple) and len(spec) in (2, 3):
            low, high = spec[0], spec[1]
            log = len(spec) == 3 and spec[2] == "log"
            if len(spec) == 3 and not log:
                raise InvalidInput(f"space {name!r}: the third item can only be 'log'")
            numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in spec[:2])
            if not numbers or not low < high:
                raise InvalidInput(f"space {name!r}: (low, high) with low < high, got {spec!r}")
            if isinstance(low, int) and isinstance(high, int):
                out[name] = d.IntDistribution(low, high, log=log)
            else:
                out[name] = d.FloatDistribution(float(low), float(high), log=log)
        else:
            raise InvalidInput(
                f"space {name!r}: give (low, high), (low, high, 'log'), a list of values or an "
                f"Optuna distribution, not {spec!r}"
            )
    return out


@dataclasses.dataclass
class Trial:
    number: int
    params: dict[str, Any]
    state: str  # complete | pruned | failed
    value: float | None
    metrics: dict[str, float]
    run_id: str | None
    duration_ms: int
    worker: str | None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class SweepResult:
    run_id: str  # the sweep's parent run
    metric: str
    direction: str
    trials: list[Trial]
    best: Trial | None
    seconds: float

    @property
    def best_params(self) -> dict[str, Any]:
        return dict(self.best.params) if self.best else {}

    @property
    def best_value(self) -> float | None:
        return self.best.value if self.best else None

    @property
    def best_run_id(self) -> str | None:
        return self.best.run_id if self.best else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "metric": self.metric,
            "direction": self.direction,
            "best": self.best.to_dict() if self.best else None,
            "seconds": round(self.seconds, 3),
            "trials": [t.to_dict() for t in self.trials],
        }


@dataclasses.dataclass(frozen=True)
class TrialTask:
    tracking_uri: str
    experiment: str
    parent_run: str
    number: int
    trial_id: int
    params: dict[str, Any]
    fn: Code
    inputs: dict[str, Any]
    metric: str
    storage: str | None  # the Optuna journal file, when pruning
    study: str
    pruner: str | None = None  # the worker asks the same pruner as the study's


class _Pruned(Exception):
    pass


class TrialContext(StepContext):
    """A trial's ``sw.current_step()``: ``report(value, step)`` for pruning."""

    def __init__(self, run: Any, out: Path, task: TrialTask) -> None:
        super().__init__(run, out, f"trial-{task.number}", task.experiment)
        self.task = task
        self._trial: Any = None

    def report(self, value: float, step: int) -> None:
        """An intermediate value of the trial's metric; raises to stop a pruned trial."""
        self.run.log_metric(self.task.metric, float(value), step=step)
        if self.task.storage is None:
            return
        if self._trial is None:
            optuna = _optuna()
            storage = _journal(self.task.storage)
            study = optuna.load_study(
                study_name=self.task.study, storage=storage, pruner=_pruner(self.task.pruner)
            )
            self._trial = optuna.trial.Trial(study, self.task.trial_id)
        self._trial.report(float(value), step)
        if self._trial.should_prune():
            raise _Pruned(f"pruned at step {step} ({self.task.metric} = {value:g})")


def _journal(path: str) -> Any:
    optuna = _optuna()
    from optuna.storages.journal import JournalFileBackend

    return optuna.storages.JournalStorage(JournalFileBackend(path))


def run_trial(task: TrialTask, client: Any = None) -> dict[str, Any]:
    """One trial on a worker: a nested run with its params, the objective, its metrics."""
    import tempfile

    from shipway.client.run import ActiveRun

    worker = "driver" if client is not None else worker_address()
    client = client or client_for(task.tracking_uri)
    info = client.tracking.create_run(
        task.experiment,
        name=f"trial-{task.number}",
        parent_id=task.parent_run,
        tags={TAG_TRIAL: str(task.number), TAG_WORKER: worker},
    )
    run = ActiveRun(client, info)
    run.log_params(task.params)
    started = time.monotonic()
    state, value, metrics, error = "complete", None, {}, None
    with tempfile.TemporaryDirectory(prefix="shipway-trial-") as tmp:
        context = TrialContext(run, Path(tmp), task)
        with running_as(context):
            try:
                answer = task.fn(**task.params, **task.inputs)
                metrics = _metrics(answer, task.metric)
                value = metrics[task.metric]
                run.log_metrics(metrics)
            except _Pruned as exc:
                state, error = "pruned", str(exc)
            except Exception as exc:
                state = "failed"
                error = "".join(traceback.format_exception(exc))[-20000:]
        run.set_tag("shipway.trial_state", state)
        run.end("failed" if state == "failed" else "finished", error=error)
    return {
        "state": state,
        "value": value,
        "metrics": metrics,
        "run_id": run.id,
        "worker": worker,
        "duration_ms": int((time.monotonic() - started) * 1000),
        "error": error,
    }


def _metrics(answer: Any, metric: str) -> dict[str, float]:
    if isinstance(answer, Mapping):
        found = {str(k): float(v) for k, v in answer.items() if _number(v)}
        if metric not in found:
            raise InvalidInput(
                f"the objective returned {sorted(answer)} without the sweep's metric "
                f"{metric!r} as a finite number"
            )
        return found
    if _number(answer):
        return {metric: float(answer)}
    raise InvalidInput(
        f"the objective returned a {type(answer).__name__}; return the metric (a number) "
        "or a dict of metrics that includes it"
    )


def _number(value: Any) -> bool:
    """A finite number (a Python or NumPy int or float, not a bool)."""
    if isinstance(value, bool) or not (
        isinstance(value, int | float) or type(value).__module__ == "numpy"
    ):
        return False
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _sampler(name: str, seed: int | None, space: dict[str, Any]) -> Any:
    optuna = _optuna()
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "grid":  # the points are enqueued (see grid_points); the rest is bookkeeping
        return optuna.samplers.RandomSampler(seed=seed)
    raise InvalidInput(f"sampler {name!r} is not one of {', '.join(SAMPLERS)}")


def grid_points(space: dict[str, Any], seed: int | None) -> list[dict[str, Any]]:
    """Every point of a grid of lists, in a seeded random order (as Optuna's GridSampler
    visits them; its ask/tell form cannot stop at the end of the grid)."""
    import itertools
    import random

    axes = []
    for key, dist in space.items():
        choices = getattr(dist, "choices", None)
        if choices is None:
            raise InvalidInput(f"the grid sampler takes lists of values; {key!r} is a range")
        axes.append([(key, c) for c in choices])
    points = [dict(p) for p in itertools.product(*axes)]
    random.Random(seed).shuffle(points)
    return points


def _pruner(name: str | None) -> Any:
    optuna = _optuna()
    pruners = {
        None: optuna.pruners.NopPruner,
        "none": optuna.pruners.NopPruner,
        "median": optuna.pruners.MedianPruner,
        "hyperband": optuna.pruners.HyperbandPruner,
        "halving": optuna.pruners.SuccessiveHalvingPruner,
    }
    if name not in pruners:
        raise InvalidInput("pruner is one of median, hyperband, halving, none")
    return pruners[name]()


class Sweep:
    """A sweep declared in a file for ``shipway sweep FILE.py``: the objective, its space
    and its defaults; ``run()`` takes the same options as :func:`sweep`."""

    def __init__(self, fn: Callable[..., Any], **options: Any) -> None:
        self.fn = fn
        self.options = options
        self.name = options.pop("name", None) or fn.__name__.replace("_", "-")

    def run(self, **overrides: Any) -> SweepResult:
        return sweep(self.fn, **{**self.options, "name": self.name, **overrides})


def sweep(
    fn: Callable[..., Any],
    *,
    space: Mapping[str, Any],
    metric: str,
    direction: str = "maximize",
    trials: int = 16,
    sampler: str = "tpe",
    pruner: str | None = None,
    seed: int | None = 0,
    inputs: Mapping[str, Any] | None = None,
    experiment: str | None = None,
    name: str | None = None,
    parallel: int | None = None,
    client: Any = None,
    tracking_uri: str | None = None,
    scheduler: str | None = None,
    workers: int = 2,
    dask: Any = None,
    progress: Callable[[Trial], None] | None = None,
) -> SweepResult:
    """Run ``fn(**params, **inputs)`` over ``space`` for ``trials`` trials (at most
    ``parallel`` at once: by default one per worker thread), ``direction`` maximize or
    minimize ``metric``. Returns every trial and the best."""
    from shipway.runner.execute import Cluster, on_this_machine, open_client, worker_location

    started = time.monotonic()
    optuna = _optuna()
    if direction not in ("maximize", "minimize"):
        raise InvalidInput("direction is maximize or minimize")
    if not isinstance(trials, int) or trials < 1:
        raise InvalidInput(f"trials must be a positive number, got {trials!r}")
    if parallel is not None and (not isinstance(parallel, int) or parallel < 1):
        raise InvalidInput(f"parallel must be a positive number, got {parallel!r}")
    space_d = distributions(space)
    client = open_client(client, tracking_uri)
    scheduler, location = worker_location(client, scheduler)
    local = not scheduler or on_this_machine(scheduler)
    if pruner not in (None, "none") and not local and dask is None:
        raise InvalidInput(
            "pruning shares an Optuna journal file between the trials: it needs workers on "
            "this machine (a LocalCluster or a scheduler on 127.0.0.1)"
        )
    if sampler == "grid":
        grid_points(space_d, seed)  # a range in a grid is refused before anything is recorded
    elif sampler not in SAMPLERS:
        raise InvalidInput(f"sampler {sampler!r} is not one of {', '.join(SAMPLERS)}")
    label = name or getattr(fn, "__name__", "sweep").replace("_", "-")
    experiment = experiment or label
    from shipway.client.run import ActiveRun

    parent = ActiveRun(
        client,
        client.tracking.create_run(experiment, name=f"sweep-{label}", tags={TAG_SWEEP: label}),
    )
    parent.log_params(
        {
            "sweep.trials": str(trials),
            "sweep.metric": metric,
            "sweep.direction": direction,
            "sweep.sampler": sampler,
            "sweep.pruner": pruner or "none",
            "sweep.space": repr(dict(space))[:6000],
        },
    )
    storage_path: str | None = None
    storage: Any = None
    if pruner not in (None, "none"):
        folder = client.settings.home / "sweeps"
        folder.mkdir(parents=True, exist_ok=True)
        storage_path = str(folder / f"{parent.id}.journal")
        storage = _journal(storage_path)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=parent.id,
        direction=direction,
        sampler=_sampler(sampler, seed, space_d),
        pruner=_pruner(pruner),
        storage=storage,
    )
    if sampler == "grid":
        points = grid_points(space_d, seed)
        trials = min(trials, len(points))
        for point in points[:trials]:
            study.enqueue_trial(point)
    code = Code(fn)
    cluster = Cluster(scheduler, workers, [], dask)
    done: list[Trial] = []
    wait: Any = None
    try:
        dask_client = cluster.dask()
        wait = importlib.import_module("distributed").wait
        width = parallel or max(1, sum(dask_client.nthreads().values()))
        running: dict[Any, tuple[Any, dict[str, Any]]] = {}
        asked = 0
        while asked < trials or running:
            while asked < trials and len(running) < width:
                trial = study.ask(space_d)
                params = dict(trial.params)
                task = TrialTask(
                    location,
                    experiment,
                    parent.id,
                    trial.number,
                    trial._trial_id,
                    params,
                    code,
                    dict(inputs or {}),
                    metric,
                    storage_path,
                    parent.id,
                    pruner,
                )
                future = dask_client.submit(
                    run_trial, task, key=f"sweep-{parent.id}-{trial.number}", pure=False
                )
                running[future] = (trial, params)
                asked += 1
            finished, _ = wait(list(running), return_when="FIRST_COMPLETED")
            for future in finished:
                trial, params = running.pop(future)
                try:
                    answer = future.result()
                except Exception as exc:  # the task itself failed (its worker lost too often)
                    answer = {
                        "state": "failed",
                        "value": None,
                        "metrics": {},
                        "run_id": None,
                        "worker": None,
                        "duration_ms": 0,
                        "error": f"{type(exc).__name__}: {exc}",
                    }
                state = {
                    "complete": optuna.trial.TrialState.COMPLETE,
                    "pruned": optuna.trial.TrialState.PRUNED,
                    "failed": optuna.trial.TrialState.FAIL,
                }[answer["state"]]
                study.tell(
                    trial, answer["value"] if answer["state"] == "complete" else None, state=state
                )
                record = Trial(
                    trial.number,
                    params,
                    answer["state"],
                    answer["value"],
                    answer["metrics"],
                    answer["run_id"],
                    answer["duration_ms"],
                    answer["worker"],
                    answer["error"],
                )
                done.append(record)
                if progress is not None:
                    progress(record)
    except BaseException as exc:
        parent.end("killed" if isinstance(exc, KeyboardInterrupt) else "failed", f"{exc!r}")
        raise
    finally:
        cluster.close()
        if storage_path:
            Path(storage_path).unlink(missing_ok=True)
    done.sort(key=lambda t: t.number)
    complete = [t for t in done if t.state == "complete" and t.value is not None]
    best: Trial | None = None
    if complete:
        pick = max if direction == "maximize" else min
        best = pick(complete, key=lambda t: t.value if t.value is not None else math.nan)
        assert best.run_id is not None
        client.tracking.set_tags(best.run_id, {TAG_BEST: "true"})
        client.tracking.set_tags(
            parent.id,
            {
                "shipway.best_run": best.run_id,
                **{f"best.{k}": str(v) for k, v in best.params.items()},
            },
        )
        parent.log_metric(f"best_{metric}", float(best.value or 0.0))
    failed = [t for t in done if t.state == "failed"]
    status = "failed" if failed and not complete else "finished"
    parent.end(status, error=failed[0].error if status == "failed" and failed else None)
    result = SweepResult(parent.id, metric, direction, done, best, time.monotonic() - started)
    if status == "failed":
        raise SweepFailed(
            f"every trial failed; the first: {(failed[0].error or '').strip().splitlines()[-1]}",
            result,
        )
    return result


class SweepFailed(JobFailed):
    def __init__(self, message: str, result: SweepResult) -> None:
        super().__init__(message, details=result.to_dict())
        self.result = result
