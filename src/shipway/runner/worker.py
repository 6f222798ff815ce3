"""What runs on a Dask worker: one step, as a nested run of the pipeline's run.

The worker opens the platform the driver names (a server URL, or a home whose stores
every worker can reach: PostgreSQL and S3, or the one machine's own folder for a
``LocalCluster``), records the step run, fetches its inputs from the blob store, calls the
function with its logs captured, stores the output content-addressed as the run's
artifacts and records the cache entry — before the driver hears of it, so a finished
step stays cached even if the driver dies.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import os
import shutil
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from shipway.runner.keys import digest_bytes

OUTPUTS = "outputs"
LOG_FILE = "logs/step.log"
TAG_PIPELINE = "shipway.pipeline"
TAG_PIPELINE_RUN = "shipway.pipeline_run"
TAG_STEP = "shipway.step"
TAG_CACHE = "shipway.cache"
TAG_KEY = "shipway.cache_key"
TAG_WORKER = "shipway.worker"
TAG_CACHED_FROM = "shipway.cached_from"

_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()
_current: contextvars.ContextVar[StepContext | None] = contextvars.ContextVar(
    "shipway_step", default=None
)


class StepError(Exception):
    """A step raised: carries the step's name, its run and the error as text (the user's
    exception class may not exist in the driver's process)."""

    def __init__(self, step: str, run_id: str, message: str, text: str) -> None:
        super().__init__(step, run_id, message, text)
        self.step = step
        self.run_id = run_id
        self.message = message
        self.text = text

    def __str__(self) -> str:
        return f"step {self.step!r} failed: {self.message}"


class Code:
    """A user's function on its way to a worker, always by value (cloudpickle). Plain
    pickle — what Dask tries first — would send a function of a file loaded as a module
    by reference, which a worker cannot import."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        import cloudpickle

        _by_value(fn, cloudpickle)
        self.fn = fn
        self.data = cloudpickle.dumps(fn)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_code_from, (self.data,))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)


def _by_value(fn: Callable[..., Any], cloudpickle: Any) -> None:
    """Send the function's module and the project's modules beside it by value: a project
    folder (the module's, outside the Python installation) need not exist on a worker."""
    import sys

    from shipway.runner.keys import PROJECTS, in_project

    module = sys.modules.get(getattr(fn, "__module__", "") or "")
    file = getattr(module, "__file__", None)
    if module is None or not file:
        return
    root = str(Path(file).resolve().parent)
    if root not in PROJECTS:
        return  # not from a loaded pipeline file: an installed package workers import
    for candidate in list(sys.modules.values()):
        if in_project(getattr(candidate, "__file__", None), root):
            with contextlib.suppress(ValueError):
                cloudpickle.register_pickle_by_value(candidate)


def _code_from(data: bytes) -> Code:
    import cloudpickle

    code = Code.__new__(Code)
    code.data = data
    code.fn = cloudpickle.loads(data)
    return code


@dataclasses.dataclass(frozen=True)
class OutputRef:
    """An upstream step's output as an input: where it is stored."""

    step: str
    output: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class DatasetRef:
    """A dataset version as an input, resolved to its number (``name@N``)."""

    ref: str
    digest: str


@dataclasses.dataclass(frozen=True)
class StepTask:
    tracking_uri: str  # a server URL, a home folder, or "" for the worker's own settings
    pipeline: str
    experiment: str
    parent_run: str
    pipeline_run: int
    step: str
    fn: Code  # the step's function
    arguments: dict[str, Any]  # params as values, inputs as OutputRef / DatasetRef
    params: dict[str, str]  # canonical JSON per param, logged as the run's params
    key: str
    components: dict[str, Any]
    cache: bool
    project: str = ""  # the folder the pipeline was defined in (shell stages run there)
    builtin: str | None = None  # a release step the driver runs
    lineage: list[DatasetRef] = dataclasses.field(default_factory=list)  # release steps


class StepContext:
    """What a running step can reach: ``sw.current_step()``.

    ``run`` is the step's run (``log_metric``, ``log_artifact``, ``log_model``), ``out`` a
    fresh folder: a step that returns nothing but writes files there outputs that folder.
    """

    def __init__(self, run: Any, out: Path, step: str, pipeline: str, project: str = "") -> None:
        self.run = run
        self.out = out
        self.project = project
        self.step = step
        self.pipeline = pipeline
        self.detail = ""  # what a release step decided, shown as the pipeline's outcome

    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        self.run.log_metric(key, value, step=step)

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self.run.log_metrics(metrics, step=step)


@contextlib.contextmanager
def running_as(context: StepContext) -> Iterator[None]:
    """This thread runs ``context``'s step (or trial): ``sw.current_step()`` and
    ``sw.active_run()`` answer it until the block ends."""
    from shipway.client.run import step_run

    token = _current.set(context)
    own = step_run.set(context.run)
    try:
        yield
    finally:
        _current.reset(token)
        step_run.reset(own)


def current_step() -> StepContext:
    """The step running in this process (``sw.current_step().log_metric("acc", 0.9)``)."""
    context = _current.get()
    if context is None:
        from shipway.errors import InvalidInput

        raise InvalidInput("sw.current_step() is only available inside a running pipeline step")
    return context


def client_for(tracking_uri: str) -> Any:
    """One client per platform per worker process, reused by every task."""
    from shipway.client import Client

    with _clients_lock:
        if tracking_uri not in _clients:
            _clients[tracking_uri] = Client(tracking_uri or None)
        return _clients[tracking_uri]


def worker_address() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"local:{os.getpid()}"


def execute(task: StepTask, client: Any = None) -> dict[str, Any]:
    """Run one step; its result: ``{"output", "run_id", "worker", "duration_ms"}``. The
    driver runs release steps itself, with its own ``client``."""
    from shipway.client.run import ActiveRun

    in_driver = client is not None
    worker = "driver" if in_driver else worker_address()
    client = client or client_for(task.tracking_uri)
    _end_lost_attempts(client, task, worker)
    info = client.tracking.create_run(
        task.experiment,
        name=task.step,
        parent_id=task.parent_run,
        tags={
            TAG_PIPELINE: task.pipeline,
            TAG_PIPELINE_RUN: str(task.pipeline_run),
            TAG_STEP: task.step,
            TAG_CACHE: "miss" if task.cache else "off",
            TAG_KEY: task.key,
            TAG_WORKER: worker,
        },
    )
    run = ActiveRun(client, info)
    with tempfile.TemporaryDirectory(prefix="shipway-step-") as tmp:
        work = Path(tmp)
        log_path = work / "step.log"
        out = work / "out"
        out.mkdir()
        started = time.monotonic()
        context = StepContext(run, out, task.step, task.pipeline, task.project)
        with running_as(context):
            try:
                if task.params:
                    run.log_params({k: v[:6000] for k, v in task.params.items()})
                for ref in _dataset_refs(task.arguments):
                    client.datasets.log_input(run.id, ref.ref, "input")
                for ref in task.lineage:  # a release step: the model's data, for its lineage
                    client.datasets.log_input(run.id, ref.ref, "training")
                arguments = {k: _resolve(client, v, work) for k, v in task.arguments.items()}
                if in_driver:  # a release step: it only calls the platform, prints nothing
                    value = task.fn(**arguments)
                else:
                    with log_path.open("w", buffering=1) as log, _captured(log):
                        value = task.fn(**arguments)
                duration_ms = int((time.monotonic() - started) * 1000)
                output = store_output(client, run.id, value, out, work)
                if context.detail:
                    output["detail"] = context.detail
                if isinstance(value, dict) and task.builtin == "add_dataset":
                    output["dataset"] = value["dataset"]  # where downstream steps read it
                run.log_metric("shipway.duration_s", duration_ms / 1000)
                _log_file(run, log_path)
                if task.cache:
                    client.pipelines.record_step(
                        task.pipeline,
                        task.step,
                        task.key,
                        run.id,
                        output,
                        task.components,
                        duration_ms,
                    )
            except BaseException as exc:
                text = "".join(traceback.format_exception(exc))[-20000:]
                with contextlib.suppress(Exception):
                    _log_file(run, log_path)
                with contextlib.suppress(Exception):
                    run.end("failed", error=text)
                if isinstance(exc, Exception):
                    raise StepError(
                        task.step, run.id, f"{type(exc).__name__}: {exc}", text
                    ) from None
                raise
        run.end("finished")
    return {"output": output, "run_id": run.id, "worker": worker, "duration_ms": duration_ms}


def _end_lost_attempts(client: Any, task: StepTask, worker: str) -> None:
    """A step whose worker died was retried here: end the lost attempt's run."""
    found = client.tracking.search_runs(
        task.experiment,
        filter=(
            f"attributes.parent_id = '{task.parent_run}' and status = 'running' "
            f"and tags.`{TAG_STEP}` = '{_quote(task.step)}'"
        ),
        limit=100,
    )
    for lost in found:
        with contextlib.suppress(Exception):
            client.tracking.update_run(
                lost.id,
                status="killed",
                error=f"its worker ({lost.tags.get(TAG_WORKER, '?')}) was lost; "
                f"the step was retried on {worker}",
            )


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


_log_target: contextvars.ContextVar[IO[str] | None] = contextvars.ContextVar(
    "shipway_step_log", default=None
)
_streams_lock = threading.Lock()


class _ThreadStreams:
    """``sys.stdout`` / ``sys.stderr`` that write to the step log of the calling thread
    when it runs a step, else where they wrote before: the threads of one worker each
    capture their own step's prints."""

    def __init__(self, original: Any) -> None:
        self.original = original

    def write(self, text: str) -> int:
        target = _log_target.get()
        return int((target or self.original).write(text))

    def flush(self) -> None:
        target = _log_target.get()
        (target or self.original).flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.original, name)


@contextlib.contextmanager
def _captured(log: IO[str]) -> Iterator[None]:
    """The step's prints and warnings go to its log, whatever other threads print."""
    with _streams_lock:
        if not isinstance(sys.stdout, _ThreadStreams):
            sys.stdout = _ThreadStreams(sys.stdout)
        if not isinstance(sys.stderr, _ThreadStreams):
            sys.stderr = _ThreadStreams(sys.stderr)
    token = _log_target.set(log)
    try:
        yield
    finally:
        _log_target.reset(token)
        log.flush()


def _log_file(run: Any, path: Path) -> None:
    if path.exists() and path.stat().st_size:
        run.log_artifact(path, "logs")


def _dataset_refs(arguments: dict[str, Any]) -> list[DatasetRef]:
    from shipway.runner.define import walk

    return [d for v in arguments.values() for d in walk(v) if isinstance(d, DatasetRef)]


def _resolve(client: Any, value: Any, work: Path) -> Any:
    if isinstance(value, OutputRef):
        if value.output.get("dataset"):  # an sw.add_dataset step: the version's handle
            from shipway.client.datasets import get

            return get(value.output["dataset"], client=client)
        return fetch_output(client, value.output, work)
    if isinstance(value, DatasetRef):
        from shipway.client.datasets import get

        return get(value.ref, client=client)
    if isinstance(value, list):
        return [_resolve(client, v, work) for v in value]
    if isinstance(value, tuple):
        return tuple(_resolve(client, v, work) for v in value)
    if isinstance(value, dict):
        return {k: _resolve(client, v, work) for k, v in value.items()}
    return value


# outputs --------------------------------------------------------------------------------


def store_output(client: Any, run_id: str, value: Any, out: Path, work: Path) -> dict[str, Any]:
    """Store a step's result as artifacts of its run: a returned path (file or folder)
    as it is, ``None`` with files written to ``out`` as that folder, any other value
    pickled (cloudpickle). The output's digest is its content's."""
    if value is None and any(out.iterdir()):
        value = out
    if value is None:
        return {"kind": "none", "digest": digest_bytes(b"none")}
    if isinstance(value, Path):
        if not value.exists():
            from shipway.errors import InvalidInput

            raise InvalidInput(f"the step returned the path {value}, which does not exist")
        name = value.name or "out"
        logged = client.log_artifact(run_id, value, f"{OUTPUTS}")
        # a folder's digest is its files' (relative paths and contents), not its name,
        # which may be a temporary one; a file's includes its name
        prefix = f"{OUTPUTS}/{name}/" if value.is_dir() else f"{OUTPUTS}/"
        files = sorted((a.path.removeprefix(prefix), a.digest) for a in logged)
        return {
            "kind": "path",
            "digest": digest_bytes(repr(files).encode()),
            "run_id": run_id,
            "artifact": f"{OUTPUTS}/{name}",
            "name": name,
            "dir": value.is_dir(),
            "size": sum(a.size for a in logged),
        }
    import cloudpickle

    data = cloudpickle.dumps(value)
    path = work / "value.pkl"
    path.write_bytes(data)
    client.log_artifact(run_id, path, OUTPUTS)
    return {
        "kind": "value",
        "digest": digest_bytes(data),
        "run_id": run_id,
        "artifact": f"{OUTPUTS}/value.pkl",
        "type": f"{type(value).__module__}.{type(value).__qualname__}",
        "size": len(data),
    }


def fetch_output(client: Any, output: dict[str, Any], work: Path) -> Any:
    """An upstream output where this process can use it: the value unpickled, or the path
    downloaded into ``work`` (a folder per digest)."""
    kind = output["kind"]
    if kind == "none":
        return None
    dest = work / "inputs" / output["digest"][:16]
    if not dest.exists():
        tmp = work / "inputs" / f".tmp-{output['digest'][:16]}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        client.download_artifacts(output["run_id"], output["artifact"], tmp)
        tmp.rename(dest)
    if kind == "value":
        import cloudpickle

        with (dest / "value.pkl").open("rb") as f:
            return cloudpickle.load(f)
    return dest / output["name"]
