"""``sw.start_run``: a run being recorded, as a context manager.

Inside ``with sw.start_run(...) as run`` an exception marks the run failed (with the error
recorded) after flushing its metrics; a normal exit marks it finished. A process that dies
leaves the run "running", which is the truth as far as anyone can know.
"""

from __future__ import annotations

import atexit
import contextvars
import os
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson

from shipway.client.buffer import MetricBuffer
from shipway.client.client import Client
from shipway.errors import Conflict, InvalidInput
from shipway.records import Artifact, LoggedModel, ModelVersion, Run, RunInput
from shipway.tracking import validation as check
from shipway.tracking.capture import capture_git, entry_point, environment

_stack: list[ActiveRun] = []
_stack_lock = threading.Lock()


class ActiveRun:
    """A run in progress. ``run.id``, ``run.experiment`` and the ``log_*`` methods."""

    def __init__(self, client: Client, info: Run) -> None:
        self.client = client
        self.info = info
        self.id = info.id
        self.experiment = info.experiment
        self.name = info.name
        self._steps: dict[str, int] = {}
        self._ended = False
        self._environment: Any = None  # the environment capture (a future), logged at end
        settings = client.settings
        self._metrics = MetricBuffer(
            self._send_metrics, settings.metric_batch_size, settings.flush_interval
        )

    def _send_metrics(self, batch: Any) -> None:
        self.client.backend.log_metric_series(self.id, batch)

    # logging ---------------------------------------------------------------------------

    def log_param(self, key: str, value: Any) -> None:
        self.log_params({key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Params are immutable: re-logging a key with another value raises ParamConflict."""
        self.client.tracking.log_params(self.id, params)

    def log_metric(
        self, key: str, value: Any, step: int | None = None, timestamp: int | None = None
    ) -> None:
        self.log_metrics({key: value}, step=step, timestamp=timestamp)

    def log_metrics(
        self, metrics: Mapping[str, Any], step: int | None = None, timestamp: int | None = None
    ) -> None:
        """Buffer one point per key. Without ``step``, each key counts up from 0 on its own.
        NaN and infinities are stored as they are."""
        if self._ended:
            raise Conflict(
                f"run {self.id} has ended; log to it with sw.Client().log_params/set_tags "
                "or start a new run"
            )
        values: dict[str, float] = {}
        for key, value in metrics.items():
            if key not in self._steps:
                check.check_key("metric", key)
            values[key] = value if type(value) is float else check.metric_value(key, value)
        if timestamp is not None and not _is_int64(timestamp):
            raise InvalidInput(
                f"timestamp must be an integer (ms since the epoch), got {timestamp!r}"
            )
        steps: int | dict[str, int]
        if step is None:
            auto = {k: self._steps.get(k, -1) + 1 for k in values}
            self._steps.update(auto)
            steps = auto
        else:
            if not _is_int64(step):
                raise InvalidInput(f"step must be an integer within int64, got {step!r}")
            steps = step
            for key in values:
                if step > self._steps.get(key, -1):
                    self._steps[key] = step
        self._metrics.add(
            values, steps, int(time.time() * 1000) if timestamp is None else timestamp
        )

    def set_tag(self, key: str, value: Any) -> None:
        self.set_tags({key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self.client.tracking.set_tags(self.id, tags)

    def log_artifact(
        self, local_path: str | Path, artifact_path: str | None = None
    ) -> list[Artifact]:
        """Log a file, or a folder with everything in it, streamed (never read into memory)."""
        return self.client.backend.log_artifact(self.id, Path(local_path), artifact_path)

    def log_text(self, text: str, artifact_file: str) -> Artifact:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / Path(artifact_file).name
            path.write_text(text)
            folder = artifact_file.rsplit("/", 1)[0] if "/" in artifact_file else None
            return self.client.backend.log_artifact(self.id, path, folder)[0]

    def log_dict(self, data: Any, artifact_file: str) -> Artifact:
        return self.log_text(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode(), artifact_file)

    def log_model(
        self,
        model: Any,
        name: str = "model",
        *,
        input_example: Any = None,
        signature: Any = None,
        register: str | None = None,
        description: str | None = None,
        python_files: Sequence[str | Path] = (),
    ) -> LoggedModel | ModelVersion:
        """Write ``model`` as a model package (model.yaml with flavor, signature inferred
        from ``input_example``, pinned requirements and file digests, plus the model files)
        stored as this run's artifacts under ``name``. With ``register="churn"`` it also
        becomes a version of that registered model, which is returned."""
        from shipway.models import save_package

        path = check.artifact_path(name)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / path.rsplit("/", 1)[-1]
            info = save_package(
                model,
                folder,
                input_example=input_example,
                signature=signature,
                description=description,
                python_files=[Path(p) for p in python_files],
            )
            parent = path.rsplit("/", 1)[0] if "/" in path else None
            logged = self.client.backend.log_artifact(self.id, folder, parent)
        digest = next(a.digest for a in logged if a.path == f"{path}/model.yaml")
        result = LoggedModel(self.id, path, info.flavor, digest)
        if register is None:
            return result
        registry = self.client.registry
        version, _ = registry.register(result.uri, register, description=description or "")
        return version

    def log_input(self, dataset: Any, context: str = "training") -> RunInput:
        """Record that this run read a dataset version (``sw.datasets.get(...)``, a
        ``DatasetVersion`` or ``"name@version"``), as ``training``, ``validation``, …"""
        ref = dataset if isinstance(dataset, str) else dataset.ref
        return self.client.datasets.log_input(self.id, ref, context)

    def flush(self) -> None:
        """Send buffered metrics now; raises if sending failed (nothing is dropped)."""
        self._metrics.flush()

    def refresh(self) -> Run:
        """The run as stored now (params, latest metrics, tags, status)."""
        self.flush()
        self.info = self.client.get_run(self.id)
        return self.info

    # lifecycle -------------------------------------------------------------------------

    def end(self, status: str = "finished", error: str | None = None) -> None:
        if self._ended:
            return
        try:
            try:
                if self._environment is not None:
                    pending, self._environment = self._environment, None
                    self.log_dict(pending.result(), "_shipway/environment.json")
            finally:
                self._metrics.close()
        finally:
            self._ended = True
            with _stack_lock:
                if self in _stack:
                    _stack.remove(self)
            changes: dict[str, Any] = {"status": status}
            if error is not None:
                changes["error"] = error
            self.info = self.client.tracking.update_run(self.id, **changes)

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.end("finished")
            return
        status = "killed" if issubclass(exc_type, KeyboardInterrupt) else "failed"
        text = "".join(traceback.format_exception(exc_type, exc, tb))[-20000:]
        try:
            self.end(status, error=text)
        except Exception as flush_error:  # the user's exception wins; keep ours attached
            if exc is not None:
                exc.add_note(f"shipway: also failed to finish run {self.id}: {flush_error}")

    def __repr__(self) -> str:
        return f"<ActiveRun {self.id} {self.name!r} experiment={self.experiment!r}>"


def _is_int64(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63


ALERT_TAG = "shipway.alert"  # set on runs a monitoring alert's retraining command starts


def start_run(
    experiment: str | None = None,
    name: str | None = None,
    *,
    description: str = "",
    tags: Mapping[str, Any] | None = None,
    parent_id: str | None = None,
    nested: bool = False,
    capture: bool = True,
    client: Client | None = None,
) -> ActiveRun:
    """Start a run and make it the active one.

    >>> with sw.start_run(experiment="churn", name="rf") as run:
    ...     run.log_params({"model": "rf", "depth": 8})
    ...     run.log_metric("acc", 0.93, step=1)

    ``nested=True`` makes the currently active run the parent. ``capture`` records the git
    commit, branch, remote and dirty diff, the entry point, Python, platform and packages.
    """
    client = client or Client()
    alert = os.environ.get("SHIPWAY_ALERT_ID")
    if alert:  # started by the monitor's retraining action: link the run to its alert
        tags = {**(tags or {}), ALERT_TAG: alert}
    if nested and parent_id is None:
        parent = active_run()
        parent_id = parent.id if parent else None
    git = None
    diff = None
    source = None
    if capture:
        env = environment(packages=client.settings.capture_packages)
        captured = capture_git()
        git, diff = captured.info, captured.diff
        source = entry_point()
    info = client.tracking.create_run(
        experiment,
        name=name,
        description=description,
        tags=tags or {},
        parent_id=parent_id,
        git=git,
        source=source,
    )
    run = ActiveRun(client, info)
    if capture:
        try:
            _log_capture(run, diff, env)
        except BaseException as exc:
            run.end("failed", error=f"could not record the run's environment: {exc}")
            raise
    with _stack_lock:
        _stack.append(run)
    return run


def _log_capture(run: ActiveRun, diff: bytes | None, env: Any) -> None:
    run._environment = env  # captured off the critical path; logged when the run ends
    if diff:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "git.diff"
            path.write_bytes(diff)
            run.client.backend.log_artifact(run.id, path, "_shipway")


# the run of the pipeline step or sweep trial this thread is running (a Dask worker runs
# several at once in its threads); it comes before the process's stack of started runs
step_run: contextvars.ContextVar[ActiveRun | None] = contextvars.ContextVar(
    "shipway_step_run", default=None
)


def active_run() -> ActiveRun | None:
    own = step_run.get()
    if own is not None:
        return own
    with _stack_lock:
        return _stack[-1] if _stack else None


def _at_exit() -> None:
    """Flush and close runs still open when the interpreter exits normally."""
    failed = getattr(sys, "last_value", None) is not None
    for run in reversed(list(_stack)):
        try:
            run.end("failed" if failed else "finished")
        except Exception as exc:  # no traceback at exit; say what was lost
            print(f"shipway: could not finish run {run.id}: {exc}", file=sys.stderr)


atexit.register(_at_exit)

__all__ = ["ALERT_TAG", "ActiveRun", "active_run", "start_run"]
