"""Running a pipeline: cache lookups, Dask tasks, the parent run and its nested step runs.

The driver walks the graph in dependency order. A step whose inputs are known gets its
key (``shipway.runner.keys``); a key the cache holds is a hit (a nested run records it,
pointing at the run that produced the outputs) and a miss becomes a Dask task
(``shipway.runner.worker.execute``). Independent steps run in parallel; the Dask cluster
starts only at the first miss, so an unchanged pipeline re-runs without one. A failed step
stops new tasks, lets running ones finish (and be cached), and fails the pipeline with its
error: a re-run starts where it stopped.

>>> result = cancer.run(params={"C": 0.5})                  # a LocalCluster, 2 workers
>>> result = cancer.run(scheduler="tcp://10.0.0.5:8786")    # an existing Dask cluster
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from shipway.errors import InvalidInput, JobFailed, ShipwayError
from shipway.runner.define import DatasetInput, FileInput, Node, walk

if TYPE_CHECKING:
    from shipway.runner.flow import Pipeline
from shipway.runner.keys import canonical, code_digest, key_of
from shipway.runner.worker import (
    TAG_PIPELINE,
    TAG_PIPELINE_RUN,
    Code,
    DatasetRef,
    OutputRef,
    StepError,
    StepTask,
    execute,
)


class PipelineFailed(JobFailed):
    """A step of the pipeline failed; ``result`` has every step's state."""

    def __init__(self, message: str, result: PipelineResult) -> None:
        super().__init__(message, details=result.to_dict())
        self.result = result


@dataclasses.dataclass
class StepResult:
    name: str
    status: str  # cached | ran | failed | not run
    key: str | None = None
    run_id: str | None = None
    cached_from: str | None = None
    duration_ms: int = 0
    worker: str | None = None
    output: dict[str, Any] | None = None
    error: str | None = None
    detail: str = ""  # what a built-in step decided ("promoted v4 to production")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class PipelineResult:
    pipeline: str
    number: int  # the pipeline run
    run_id: str  # the parent run
    status: str  # finished | failed
    outcome: str
    steps: list[StepResult]
    seconds: float

    def step(self, name: str) -> StepResult:
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "pipeline": self.pipeline,
            "number": self.number,
            "run_id": self.run_id,
            "status": self.status,
            "outcome": self.outcome,
            "seconds": round(self.seconds, 3),
            "steps": [s.to_dict() for s in self.steps],
        }


@dataclasses.dataclass
class StepStatus:
    name: str
    state: str  # cached | stale | unknown (an upstream step will re-run first)
    reasons: list[str]
    key: str | None
    run_id: str | None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# the graph's keys ---------------------------------------------------------------------


class _Keys:
    """Computes each node's key components from its upstream outputs' digests."""

    def __init__(self, client: Any, pipeline: Pipeline, nodes: list[Node]) -> None:
        self.project = Path(pipeline.project or os.getcwd())
        self.datasets: dict[str, DatasetRef] = {}
        for node in nodes:
            for d in node.datasets():
                if d.ref not in self.datasets:
                    version = client.datasets.get(d.ref)
                    self.datasets[d.ref] = DatasetRef(
                        f"{version.name}@{version.version}", version.manifest_digest
                    )

    def components(self, node: Node, outputs: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
        params: dict[str, str] = {}
        inputs: dict[str, str] = {}
        for arg, value in node.arguments.items():
            if any(isinstance(v, Node | DatasetInput | FileInput) for v in walk(value)):
                inputs[arg] = canonical(self._marked(value, outputs), what=arg)
            else:
                params[arg] = canonical(value, what=f"param {arg!r} of step {node.name!r}")
        if node.step.builtin:
            code = f"builtin:{node.step.builtin}"
        elif node.step.code:
            code = node.step.code
        else:
            code = code_digest(node.step.fn, self.project)
        return {"code": code, "params": params, "inputs": inputs}

    def _marked(self, value: Any, outputs: Mapping[str, dict[str, Any]]) -> Any:
        if isinstance(value, Node):
            return {"step": value.name, "digest": outputs[value.name]["digest"]}
        if isinstance(value, DatasetInput):
            ref = self.datasets[value.ref]
            return {"dataset": ref.ref, "digest": ref.digest}
        if isinstance(value, FileInput):
            return {"file": value.path, "digest": value.digest}
        if isinstance(value, list | tuple):
            return [self._marked(v, outputs) for v in value]
        if isinstance(value, dict):
            return {k: self._marked(v, outputs) for k, v in value.items()}
        return value

    def arguments(self, node: Node, outputs: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
        return {k: self._task_value(v, outputs) for k, v in node.arguments.items()}

    def _task_value(self, value: Any, outputs: Mapping[str, dict[str, Any]]) -> Any:
        if isinstance(value, Node):
            return OutputRef(value.name, outputs[value.name])
        if isinstance(value, DatasetInput):
            return self.datasets[value.ref]
        if isinstance(value, FileInput):
            return value.path
        if isinstance(value, list):
            return [self._task_value(v, outputs) for v in value]
        if isinstance(value, tuple):
            return tuple(self._task_value(v, outputs) for v in value)
        if isinstance(value, dict):
            return {k: self._task_value(v, outputs) for k, v in value.items()}
        return value


def _graph(nodes: list[Node]) -> list[dict[str, Any]]:
    return [
        {
            "name": n.name,
            "step": n.step.name,
            "needs": sorted({u.name for u in n.upstream()}),
            "datasets": sorted({d.ref for d in n.datasets()}),
            "builtin": n.step.builtin,
        }
        for n in nodes
    ]


def open_client(client: Any, tracking_uri: str | None) -> Any:
    if client is not None:
        return client
    from shipway.client import Client

    return Client(tracking_uri)


# running ------------------------------------------------------------------------------


class Cluster:
    """The Dask client, started at the first task that needs one."""

    def __init__(
        self,
        scheduler: str | None,
        workers: int,
        nodes: list[Node],
        existing: Any = None,
        processes: bool = True,
    ) -> None:
        self.scheduler = scheduler
        self.workers = workers
        # worker processes for Python code holding the GIL (steps, trials); threads in one
        # worker for work that releases it (batch scoring: Arrow, NumPy), which start at once
        self.processes = processes
        self.resources: dict[str, float] = {}
        for node in nodes:
            for name, amount in node.step.resources.items():
                self.resources[name] = max(self.resources.get(name, 0), amount)
        self.existing = existing  # a distributed.Client the caller owns
        self.client: Any = existing
        self.cluster: Any = None

    def dask(self) -> Any:
        if self.client is None:
            try:
                distributed: Any = importlib.import_module("distributed")
            except ImportError:
                from shipway.errors import MissingDependency

                raise MissingDependency(
                    "pipelines run on Dask: pip install 'shipway[pipelines]'"
                ) from None
            if self.scheduler:
                try:
                    self.client = distributed.Client(self.scheduler, timeout="20s")
                except OSError as exc:
                    from shipway.errors import ConnectionFailed

                    raise ConnectionFailed(
                        f"cannot reach the Dask scheduler at {self.scheduler}: {exc}; is "
                        "`dask scheduler` running there (or unset SHIPWAY_DASK_SCHEDULER "
                        "for a LocalCluster)?"
                    ) from None
            else:
                self.cluster = distributed.LocalCluster(
                    n_workers=self.workers if self.processes else 1,
                    threads_per_worker=1 if self.processes else self.workers,
                    processes=self.processes,
                    dashboard_address=":0",  # a free port: never a clash with another cluster
                    resources=self.resources or None,
                )
                self.client = distributed.Client(self.cluster)
        return self.client

    def close(self) -> None:
        if self.client is not None and self.client is not self.existing:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def run(
    pipeline: Pipeline,
    params: Mapping[str, Any] | None = None,
    *,
    client: Any = None,
    tracking_uri: str | None = None,
    scheduler: str | None = None,
    workers: int = 2,
    dask: Any = None,
    force: bool = False,
    trigger: str = "manual",
    detail: Mapping[str, Any] | None = None,
    queued: int | None = None,
    progress: Callable[[StepResult], None] | None = None,
) -> PipelineResult:
    """Run the pipeline: cached steps are reused, the others run on Dask (a LocalCluster
    of ``workers`` processes, the cluster at ``scheduler`` or the ``dask_scheduler``
    setting, or ``dask``, a ``distributed.Client`` of the caller's). ``force`` re-runs
    every step. Raises :class:`PipelineFailed` when a step fails."""
    started = time.monotonic()
    client = open_client(client, tracking_uri)
    scheduler, location = worker_location(client, scheduler)
    values = pipeline.params(dict(params or {}))
    nodes = pipeline.nodes(values)
    keys = _Keys(client, pipeline, nodes)
    source, project = _origin(pipeline)
    client.pipelines.register(
        pipeline.name,
        source,
        project,
        experiment=pipeline.experiment,
        steps=_graph(nodes),
    )
    plain = {k: orjson.loads(canonical(v, what=f"param {k!r}")) for k, v in values.items()}
    parent = client.tracking.create_run(
        pipeline.experiment,
        name=pipeline.name,
        tags={TAG_PIPELINE: pipeline.name, "shipway.trigger": trigger},
    )
    try:
        record = client.pipelines.start_run(
            pipeline.name,
            run_id=parent.id,
            trigger=trigger,
            detail=dict(detail or {}),
            params=plain,
            queued=queued,
        )
    except BaseException as exc:
        with contextlib.suppress(Exception):
            client.tracking.update_run(parent.id, status="failed", error=f"{exc}")
        raise
    driver = _Driver(client, pipeline, nodes, keys, parent.id, record.id, location, force)
    driver.progress = progress
    cluster = Cluster(scheduler, workers, nodes, dask)
    try:
        client.tracking.set_tags(parent.id, {TAG_PIPELINE_RUN: str(record.id)})
        if plain:
            client.tracking.log_params(
                parent.id, {k: canonical(v, what=k) for k, v in plain.items()}
            )
        driver.loop(cluster)
        driver.flush_hits()
    except BaseException as exc:  # the driver itself failed (no cluster, interrupted)
        text = f"{type(exc).__name__}: {exc}"
        steps = {n: r.to_dict() for n, r in driver.results.items()}
        with contextlib.suppress(Exception):
            client.pipelines.finish_run(record.id, status="failed", outcome=text, steps=steps)
            killed = isinstance(exc, KeyboardInterrupt)
            client.tracking.update_run(
                parent.id, status="killed" if killed else "failed", error=text
            )
        raise
    finally:
        cluster.close()
    results = [driver.results.get(n.name) or StepResult(n.name, "not run") for n in nodes]
    failed = [r for r in results if r.status == "failed"]
    status = "failed" if failed else "finished"
    outcome = driver.outcome(failed)
    client.pipelines.finish_run(
        record.id,
        status=status,
        outcome=outcome,
        steps={r.name: r.to_dict() for r in results},
        error=failed[0].error if failed else None,
    )
    client.tracking.update_run(parent.id, status=status, error=failed[0].error if failed else None)
    result = PipelineResult(
        pipeline.name, record.id, parent.id, status, outcome, results, time.monotonic() - started
    )
    if failed:
        raise PipelineFailed(outcome, result)
    return result


def _origin(pipeline: Pipeline) -> tuple[str, str]:
    """(source, project) of a pipeline: as loaded, or the file that defines it (a
    pipeline run from a script or a notebook), so a schedule can run it again."""
    if pipeline.source and pipeline.project:
        return pipeline.source, pipeline.project
    import inspect

    try:
        file = inspect.getsourcefile(pipeline.fn)
    except TypeError:
        file = None
    if not file or not Path(file).is_file():
        return f"<no file>:{pipeline.fn.__name__}", str(pipeline.project or os.getcwd())
    return f"{Path(file).name}:{pipeline.fn.__name__}", str(Path(file).resolve().parent)


BATCH = 1000  # keys per lookup and hits per record (the operations' limit)


def _lookup(client: Any, keys: list[str]) -> dict[str, Any]:
    """The cache entries among ``keys``, a thousand keys per request."""
    found: dict[str, Any] = {}
    for start in range(0, len(keys), BATCH):
        for entry in client.pipelines.lookup(keys[start : start + BATCH]):
            found[entry.key] = entry
    return found


def on_this_machine(address: str) -> bool:
    """A scheduler on this machine (its workers see this machine's home too)."""
    host = address.split("://", 1)[-1].rsplit(":", 1)[0].strip("[]")
    return host in ("127.0.0.1", "localhost", "::1")


def worker_location(client: Any, scheduler: str | None) -> tuple[str | None, str]:
    """(the scheduler to use — given, or the ``dask_scheduler`` setting —, the tracking URI
    the workers open). Workers of a scheduler on another machine cannot see a local home:
    refused, unless its stores are PostgreSQL and S3, which every worker then opens with
    its own settings (the location is ``""``)."""
    location = client.tracking_uri
    scheduler = scheduler or client.settings.dask_scheduler or None
    if not scheduler or on_this_machine(scheduler) or location.startswith(("http://", "https://")):
        return scheduler, location
    settings = client.settings
    shared = settings.database_url.startswith("postgresql") and str(
        settings.blob_location
    ).startswith("s3://")
    if not shared:
        raise InvalidInput(
            f"workers of the Dask cluster at {scheduler} cannot reach the local home "
            f"{location}: start 'shipway server' and set SHIPWAY_TRACKING_URI to its URL "
            "(or use PostgreSQL and S3 stores every worker can reach)"
        )
    return scheduler, ""


class _Driver:
    def __init__(
        self,
        client: Any,
        pipeline: Pipeline,
        nodes: list[Node],
        keys: _Keys,
        parent: str,
        number: int,
        location: str,
        force: bool,
    ) -> None:
        self.client = client
        self.pipeline = pipeline
        self.nodes = nodes
        self.keys = keys
        self.parent = parent
        self.number = number
        self.location = location
        self.force = force
        self.outputs: dict[str, dict[str, Any]] = {}
        self.results: dict[str, StepResult] = {}
        self.progress: Callable[[StepResult], None] | None = None
        self.decisions: list[str] = []  # what the release steps decided, in order
        self.hits: list[StepResult] = []  # hits whose nested runs are not recorded yet

    def _done(self, result: StepResult) -> None:
        self.results[result.name] = result
        if result.output is not None:
            self.outputs[result.name] = result.output
        if self.progress is not None:
            self.progress(result)

    def loop(self, cluster: Cluster) -> None:
        waiting = list(self.nodes)
        running: dict[Any, tuple[Node, str]] = {}  # future -> (node, key)
        failed = False
        while waiting or running:
            if not failed:
                ready = [n for n in waiting if all(u.name in self.outputs for u in n.upstream())]
                # a node downstream of a stopped step never becomes ready
                waiting = [n for n in waiting if n not in ready]
                failed = self._start(ready, cluster, running) or failed
            if not running:
                if failed or not waiting:
                    break
                if not any(
                    all(u.name in self.outputs for u in n.upstream()) for n in waiting
                ):  # nothing can start: the upstream of every waiting node stopped
                    break
                continue
            self.flush_hits()
            wait: Any = importlib.import_module("distributed").wait
            done, _ = wait(list(running), return_when="FIRST_COMPLETED")
            for future in done:
                node, key = running.pop(future)
                try:
                    answer = future.result()
                except StepError as exc:
                    failed = True
                    self._done(StepResult(node.name, "failed", key, exc.run_id, error=exc.text))
                    continue
                except Exception as exc:  # the task could not run at all (lost too often)
                    failed = True
                    self._done(StepResult(node.name, "failed", key, error=f"{exc}"))
                    continue
                self._done(
                    StepResult(
                        node.name,
                        "ran",
                        key,
                        answer["run_id"],
                        duration_ms=answer["duration_ms"],
                        worker=answer["worker"],
                        output=answer["output"],
                    )
                )

    def _start(
        self, ready: list[Node], cluster: Cluster, running: dict[Any, tuple[Node, str]]
    ) -> bool:
        """Start the ready nodes: hits recorded, built-ins run here, the rest submitted.
        True when a built-in step failed."""
        if not ready:
            return False
        planned = [(n, self.keys.components(n, self.outputs)) for n in ready]
        keyed = [(n, c, key_of(c)) for n, c in planned]
        hits = {}
        if not self.force:
            wanted = [k for n, _, k in keyed if n.step.cache]
            hits = _lookup(self.client, wanted)
        for node, components, key in keyed:
            if key in hits:
                self._hit(node, key, hits[key])
            elif node.step.builtin:
                if not self._builtin(node, components, key):
                    return True
            else:
                task = self._task(node, components, key)
                dask = cluster.dask()
                future = dask.submit(
                    execute,
                    task,
                    key=f"{self.pipeline.name}-{node.name}-{self.parent}",  # unique per run
                    pure=False,
                    retries=node.step.retries,
                    resources=node.step.resources or None,
                )
                running[future] = (node, key)
        return False

    def _task(self, node: Node, components: dict[str, Any], key: str) -> StepTask:
        return StepTask(
            tracking_uri=self.location,
            pipeline=self.pipeline.name,
            experiment=self.pipeline.experiment,
            parent_run=self.parent,
            pipeline_run=self.number,
            step=node.name,
            fn=Code(node.step.fn),
            arguments=self.keys.arguments(node, self.outputs),
            params=dict(components["params"]),
            key=key,
            components=components,
            cache=node.step.cache,
            project=str(self.keys.project),
            builtin=node.step.builtin,
        )

    def _hit(self, node: Node, key: str, entry: Any) -> None:
        """A step reused from the cache: its outputs are known at once; its nested run is
        recorded with the other hits in one call (``flush_hits``)."""
        if node.hook is not None:
            node.hook(self.client, entry.output)
        detail = entry.output.get("detail", "")
        if detail:
            self.decisions.append(detail)
        result = StepResult(
            node.name, "cached", key, None, cached_from=entry.run_id, output=entry.output
        )
        result.detail = detail
        self.hits.append(result)
        self._done(result)

    def flush_hits(self) -> None:
        """Record the pending hits as finished nested runs, in one call."""
        pending, self.hits = self.hits, []
        if not pending:
            return
        ids: list[str] = []
        for start in range(0, len(pending), BATCH):
            ids += self.client.pipelines.record_hits(
                self.pipeline.name,
                self.number,
                self.parent,
                [
                    {"step": r.name, "key": r.key, "cached_from": r.cached_from}
                    for r in pending[start : start + BATCH]
                ],
            )
        for result, run_id in zip(pending, ids, strict=True):
            result.run_id = run_id

    def _builtin(self, node: Node, components: dict[str, Any], key: str) -> bool:
        """Run a release step here (it only calls the platform); False when it failed."""
        self.flush_hits()
        task = self._task(node, components, key)
        task = dataclasses.replace(task, lineage=self._lineage(node))
        started = time.monotonic()
        try:
            answer = execute(task, client=self.client)
        except StepError as exc:
            self._done(StepResult(node.name, "failed", key, exc.run_id, error=exc.text))
            return False
        detail = answer["output"].get("detail", "")
        if detail:
            self.decisions.append(detail)
        self._done(
            StepResult(
                node.name,
                "ran",
                key,
                answer["run_id"],
                duration_ms=int((time.monotonic() - started) * 1000),
                worker="driver",
                output=answer["output"],
                detail=detail,
            )
        )
        return True

    def _lineage(self, node: Node) -> list[DatasetRef]:
        """Every dataset version upstream of ``node`` (a registered model's lineage)."""
        found: dict[str, DatasetRef] = {}
        stack = [node]
        while stack:
            current = stack.pop()
            for d in current.datasets():
                found[d.ref] = self.keys.datasets[d.ref]
            made = self.outputs.get(current.name, {}).get("dataset")
            if made:  # a version an sw.add_dataset step made upstream
                found[made] = DatasetRef(made, "")
            stack.extend(current.upstream())
        return sorted(found.values(), key=lambda d: d.ref)

    def outcome(self, failed: list[StepResult]) -> str:
        if failed:
            first = failed[0]
            last = (first.error or "").strip().splitlines()
            return f"step {first.name!r} failed: {last[-1] if last else 'no error text'}"
        if self.decisions:
            return self.decisions[-1]
        ran = sum(1 for r in self.results.values() if r.status == "ran")
        cached = sum(1 for r in self.results.values() if r.status == "cached")
        return f"{ran} step(s) ran, {cached} cached"


# status -------------------------------------------------------------------------------


def status(
    pipeline: Pipeline,
    params: Mapping[str, Any] | None = None,
    *,
    client: Any = None,
    tracking_uri: str | None = None,
) -> list[StepStatus]:
    """Which steps a run would reuse and which it would re-run, and why (which code,
    param or input changed since the step last ran), without running anything."""
    client = open_client(client, tracking_uri)
    nodes = pipeline.nodes(pipeline.params(dict(params or {})))
    keys = _Keys(client, pipeline, nodes)
    try:
        latest = {e.step: e for e in client.pipelines.latest_steps(pipeline.name)}
    except ShipwayError as exc:
        if getattr(exc, "code", "") != "not_found":
            raise
        latest = {}
    outputs: dict[str, dict[str, Any]] = {}
    found: dict[str, StepStatus] = {}
    waiting = list(nodes)
    while waiting:
        ready = [n for n in waiting if all(u.name in found for u in n.upstream())]
        waiting = [n for n in waiting if n not in ready]
        known = [n for n in ready if all(u.name in outputs for u in n.upstream())]
        planned = [(n, keys.components(n, outputs)) for n in known]
        wanted = [key_of(c) for n, c in planned if n.step.cache]
        hits = _lookup(client, wanted)
        for node, components in planned:
            key = key_of(components)
            if key in hits and node.step.cache:
                outputs[node.name] = hits[key].output
                found[node.name] = StepStatus(node.name, "cached", [], key, hits[key].run_id)
            else:
                why = _why(node, components, latest.get(node.name))
                found[node.name] = StepStatus(node.name, "stale", why, key, None)
        for node in ready:
            if node.name in found:
                continue
            stale = sorted(u.name for u in node.upstream() if found[u.name].state != "cached")
            found[node.name] = StepStatus(
                node.name, "unknown", [f"upstream {', '.join(stale)} will run first"], None, None
            )
    return [found[n.name] for n in nodes]


def _why(node: Node, now: dict[str, Any], last: Any) -> list[str]:
    if not node.step.cache:
        return ["not cached (it runs every time)"]
    if last is None:
        return ["never ran"]
    before = last.components
    reasons = []
    if before.get("code") != now["code"]:
        reasons.append("code changed")
    for kind in ("params", "inputs"):
        old, new = before.get(kind, {}), now[kind]
        for name in sorted(set(old) | set(new)):
            if old.get(name) == new.get(name):
                continue
            if name not in old:
                reasons.append(f"{kind[:-1]} {name} added")
            elif name not in new:
                reasons.append(f"{kind[:-1]} {name} removed")
            elif kind == "params":
                reasons.append(f"param {name} changed ({old[name]} → {new[name]})")
            else:
                reasons.append(_input_change(name, old[name], new[name]))
    return reasons or ["its outputs are not in the cache"]


def _input_change(name: str, old: str, new: str) -> str:
    old_sets = _find(orjson.loads(old), "dataset")
    new_sets = _find(orjson.loads(new), "dataset")
    if old_sets != new_sets and old_sets and new_sets:
        return f"input {name}: dataset {', '.join(old_sets)} → {', '.join(new_sets)}"
    old_files, new_files = _files(orjson.loads(old)), _files(orjson.loads(new))
    changed = sorted(f for f in new_files if old_files.get(f) != new_files[f])
    if changed:
        return f"input {name}: {', '.join(changed)} changed"
    steps = _find(orjson.loads(new), "step")
    if steps:
        return f"input {name}: the output of {', '.join(steps)} changed"
    return f"input {name} changed"


def _files(value: Any) -> dict[str, str]:
    """{file: digest} of the project files in an input's marked form."""
    if isinstance(value, dict):
        if "file" in value:
            return {str(value["file"]): str(value["digest"])}
        return {k: d for v in value.values() for k, d in _files(v).items()}
    if isinstance(value, list):
        return {k: d for v in value for k, d in _files(v).items()}
    return {}


def _find(value: Any, field: str) -> list[str]:
    if isinstance(value, dict):
        if field in value:
            return [str(value[field])]
        return [x for v in value.values() for x in _find(v, field)]
    if isinstance(value, list):
        return [x for v in value for x in _find(v, field)]
    return []
