"""Typed records that cross layers: the store returns them, services pass them on, the API
and the CLI serialise them. Frozen dataclasses, with ``to_dict`` for JSON."""

from __future__ import annotations

import dataclasses
import math
import sys
from array import array
from collections.abc import Iterator, Sequence
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R", bound="Record")

RUN_STATUSES = ("running", "finished", "failed", "killed")
KEY_LEN = 250  # params, metrics and tag keys
PARAM_VALUE_LEN = 6000  # as MLflow
ROLES = ("viewer", "data-scientist", "developer", "admin")


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


MAX_INT = 2**63 - 1  # ids, versions and steps are 64-bit in both databases


def positive_int(text: Any) -> int | None:
    """``text`` as an int in 1..MAX_INT if it is one (ASCII digits only), else None."""
    if isinstance(text, bool):
        return None
    if isinstance(text, int):
        return text if 1 <= text <= MAX_INT else None
    if isinstance(text, str) and text.isascii() and text.isdigit():
        value = int(text)
        return value if 1 <= value <= MAX_INT else None
    return None


def float_from_json(value: Any) -> float:
    """Inverse of the JSON encoding of non-finite floats (NaN, Infinity, -Infinity)."""
    if isinstance(value, str):
        return float({"NaN": "nan", "Infinity": "inf", "-Infinity": "-inf"}.get(value, value))
    if value is None:
        return math.nan
    return float(value)


@dataclasses.dataclass
class Series:
    """Parallel arrays of one metric key's points (what the client buffers and sends)."""

    values: array[float]
    steps: array[int]
    timestamps: array[int]

    def __len__(self) -> int:
        return len(self.values)


_SWAP = sys.byteorder != "little"


def pack(a: array[float] | array[int]) -> bytes:
    """An array's values as little-endian bytes (how metric chunks are stored and sent)."""
    if _SWAP:
        a = array(a.typecode, a)
        a.byteswap()
    return a.tobytes()


def unpack(typecode: str, data: bytes) -> array[float] | array[int]:
    """The array ``pack`` made of ``typecode`` values."""
    a: array[float] | array[int] = array(typecode)
    a.frombytes(data)
    if _SWAP:
        a.byteswap()
    return a


class Record:
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = _jsonable(self)
        return out

    @classmethod
    def from_dict(cls: type[R], d: dict[str, Any]) -> R:
        """Rebuild a record from its JSON form; keys it does not have (extra fields a
        server added, such as ``created``) are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in d.items() if k in names})

    @staticmethod
    def to_dict_value(value: Any) -> Any:
        """One value in its JSON form (non-finite floats as "NaN", "Infinity", "-Infinity")."""
        return _jsonable(value)


@dataclasses.dataclass(frozen=True)
class Experiment(Record):
    id: int
    name: str
    description: str
    created_at: int
    created_by: str
    tags: dict[str, str] = dataclasses.field(default_factory=dict)
    deleted: bool = False


@dataclasses.dataclass(frozen=True)
class MetricPoint(Record):
    key: str
    value: float
    step: int
    timestamp: int

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MetricPoint:
        return cls(d["key"], float_from_json(d["value"]), d["step"], d["timestamp"])


@dataclasses.dataclass(frozen=True)
class MetricSeries(Record):
    """One run's metric as chart data: parallel x and y arrays, thinned on the server to
    about the chart's width (``shown`` of the ``total`` logged points fell in the x range
    asked for; ``nonfinite`` NaN or infinite points were left out)."""

    run_id: str
    key: str
    x: list[float]
    y: list[float]
    total: int
    shown: int
    nonfinite: int = 0


@dataclasses.dataclass(frozen=True)
class RunGroup(Record):
    """Runs sharing a value of a param, tag, status or user: how many, and per metric
    ``{count, mean, min, max, std}`` of their latest values (``value`` None: runs without
    it)."""

    value: str | None
    runs: int
    metrics: dict[str, dict[str, float | int | None]]


@dataclasses.dataclass(frozen=True)
class GitInfo(Record):
    commit: str | None = None
    branch: str | None = None
    remote: str | None = None
    dirty: bool | None = None


@dataclasses.dataclass(frozen=True)
class Run(Record):
    id: str
    experiment_id: int
    experiment: str
    name: str
    description: str
    status: str
    user: str
    start_time: int
    end_time: int | None
    parent_id: str | None
    git: GitInfo
    source: str | None
    error: str | None
    deleted: bool
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Run:
        fields = dict(d)
        fields["git"] = GitInfo(**(d.get("git") or {}))
        fields["metrics"] = {k: float_from_json(v) for k, v in (d.get("metrics") or {}).items()}
        return cls(**fields)


@dataclasses.dataclass(frozen=True)
class Artifact(Record):
    path: str
    size: int
    digest: str


@dataclasses.dataclass(frozen=True)
class User(Record):
    name: str
    role: str
    created_at: int


@dataclasses.dataclass(frozen=True)
class Token(Record):
    id: str
    user: str
    created_at: int
    revoked: bool
    secret: str | None = None  # only set once, when the token is created


@dataclasses.dataclass(frozen=True)
class Event(Record):
    id: int
    time: int
    actor: str
    action: str
    object_type: str
    object_id: str
    details: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: iterate it for the items; ``next_cursor`` fetches the next."""

    items: Sequence[T]
    next_cursor: str | None

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> T:
        return self.items[index]


@dataclasses.dataclass(frozen=True)
class ManifestEntry(Record):
    """One file of a dataset version (or a symlink, stored as its target, never followed)."""

    path: str
    size: int
    digest: str | None
    mode: int
    link: str | None = None


@dataclasses.dataclass(frozen=True)
class Dataset(Record):
    name: str
    description: str
    created_at: int
    created_by: str
    latest: int | None


@dataclasses.dataclass(frozen=True)
class DatasetVersion(Record):
    """An immutable snapshot, addressed ``name@version``."""

    name: str
    version: int
    manifest_digest: str
    file_count: int
    total_size: int
    message: str
    source: str | None
    created_at: int
    created_by: str
    run_id: str | None
    git_commit: str | None
    profile: dict[str, Any] | None

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


@dataclasses.dataclass(frozen=True)
class RunInput(Record):
    run_id: str
    dataset: str
    version: int
    context: str


@dataclasses.dataclass(frozen=True)
class RegisteredModel(Record):
    name: str
    description: str
    owners: list[str]
    tags: dict[str, str]
    created_at: int
    created_by: str
    latest_version: int | None
    aliases: dict[str, int]


@dataclasses.dataclass(frozen=True)
class MlflowLoggedModel(Record):
    """A model logged by MLflow's client: its files are the artifacts under
    ``artifact_path`` of run ``run_id`` (``source_run``: the run that logged it, or else
    one made to hold its files)."""

    id: str
    experiment_id: int
    run_id: str
    source_run: bool
    name: str
    artifact_path: str
    status: str  # pending, ready, failed
    model_type: str
    tags: dict[str, str]
    params: dict[str, str]
    created_at: int
    updated_at: int
    created_by: str
    deleted: bool = False

    @property
    def source(self) -> str:
        return f"runs:/{self.run_id}/{self.artifact_path}"


@dataclasses.dataclass(frozen=True)
class ModelVersion(Record):
    """One registered version: ``models:/<name>/<version>``."""

    name: str
    version: int
    run_id: str
    artifact_path: str
    package_digest: str
    flavor: str
    status: str
    description: str
    tags: dict[str, str]
    aliases: list[str]
    created_at: int
    created_by: str

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"

    @property
    def source(self) -> str:
        return f"runs:/{self.run_id}/{self.artifact_path}"


@dataclasses.dataclass(frozen=True)
class AliasEvent(Record):
    model: str
    alias: str
    from_version: int | None
    to_version: int | None
    actor: str
    reason: str
    time: int


@dataclasses.dataclass(frozen=True)
class LoggedModel(Record):
    """A model package logged by a run (registered or not)."""

    run_id: str
    artifact_path: str
    flavor: str
    package_digest: str

    @property
    def uri(self) -> str:
        return f"runs:/{self.run_id}/{self.artifact_path}"


TRAFFIC_MODES = ("single", "canary", "shadow")


@dataclasses.dataclass(frozen=True)
class Deployment(Record):
    """What an inference server serves under one name: a model URI and a traffic policy.

    ``mode`` single: every request to ``model``; canary: ``percent`` of requests to
    ``candidate`` (sticky by the request's ``X-Traffic-Key`` header when it has one);
    shadow: ``percent`` of requests mirrored to ``candidate``, answered by ``model``.
    """

    name: str
    model: str
    mode: str
    candidate: str | None
    percent: float
    revision: int
    has_api_key: bool
    created_at: int
    created_by: str
    updated_at: int


@dataclasses.dataclass(frozen=True)
class PredictionSegment(Record):
    """One Parquet file of the prediction log: rows of one model version."""

    id: int
    model: str
    version: int
    rows: int
    first_time: int
    last_time: int
    digest: str
    size: int
    created_at: int


@dataclasses.dataclass(frozen=True)
class ContractVersion(Record):
    """One version of a registered model's contract: the YAML as written and its
    validated form."""

    model: str
    version: int
    text: str
    spec: dict[str, Any]
    digest: str
    message: str
    created_at: int
    created_by: str


@dataclasses.dataclass(frozen=True)
class CheckResult(Record):
    """One check of a gate report. ``status`` error: it could not be evaluated (missing
    data, a model that fails to load), with the reason; skipped: nothing to check."""

    kind: str
    name: str
    status: str
    value: Any = None
    threshold: Any = None
    reason: str = ""
    details: dict[str, Any] = dataclasses.field(default_factory=dict)
    seconds: float = 0.0


@dataclasses.dataclass(frozen=True)
class GateReport(Record):
    """One model version checked against one contract version."""

    id: int
    model: str
    version: int
    contract_version: int
    status: str  # passed | failed | error
    checks: list[CheckResult]
    baseline: dict[str, int | None]  # alias -> the version relative gates compared with
    seconds: float
    created_at: int
    created_by: str

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def datasets(self) -> list[str]:
        found = {c.details.get("dataset") for c in self.checks if c.details.get("dataset")}
        return sorted(str(d) for d in found)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GateReport:
        fields = {k: v for k, v in d.items() if k in {f.name for f in dataclasses.fields(cls)}}
        fields["checks"] = [CheckResult.from_dict(c) for c in d.get("checks") or []]
        return cls(**fields)


@dataclasses.dataclass(frozen=True)
class Approval(Record):
    """A sign-off (``approve``) or a rejection under a contract role."""

    id: int
    model: str
    version: int
    role: str
    decision: str
    actor: str
    comment: str
    created_at: int


@dataclasses.dataclass(frozen=True)
class Review(Record):
    """Review feedback on a version: a rating (1-5) and a comment; never a sign-off."""

    id: int
    model: str
    version: int
    actor: str
    rating: int | None
    comment: str
    created_at: int


@dataclasses.dataclass(frozen=True)
class Promotion(Record):
    """One promotion attempt: ``promoted``, ``forced`` (by an admin, with a reason) or
    ``refused`` (with every missing item in ``reasons``)."""

    id: int
    model: str
    version: int
    alias: str
    outcome: str
    reasons: list[str]
    comment: str
    report_id: int | None
    actor: str
    created_at: int


@dataclasses.dataclass(frozen=True)
class Alert(Record):
    """A monitoring rule that fired: its evidence, the action taken and its outcome."""

    id: int
    model: str
    version: int | None
    rule: str
    severity: str
    status: str  # open | acked
    message: str
    evidence: dict[str, Any]
    window_start: int
    window_end: int
    action: str  # none | rollback | retrain
    action_result: dict[str, Any]
    webhook: dict[str, Any]
    fired_at: int
    acked_by: str | None
    acked_at: int | None
    ack_comment: str


# pipelines ------------------------------------------------------------------------------

PIPELINE_TRIGGERS = ("manual", "schedule", "dataset", "alert", "api")
PIPELINE_RUN_STATUSES = ("queued", "running", "finished", "failed")


@dataclasses.dataclass(frozen=True)
class Pipeline(Record):
    """A pipeline the platform knows: where its definition lives (``source``, a Python file
    with its attribute or a ``shipway.yaml``, relative to ``project``) and its last graph."""

    name: str
    source: str
    project: str
    experiment: str
    steps: list[dict[str, Any]]  # [{"name", "step", "needs": [...]}, ...]
    created_at: int
    created_by: str
    updated_at: int


@dataclasses.dataclass(frozen=True)
class PipelineRun(Record):
    """One execution: queued by a trigger, then running under a parent run, then ended
    with an ``outcome`` ("promoted churn v4 to production", "waiting for sign-off …")."""

    id: int
    pipeline: str
    run_id: str | None
    status: str
    trigger: str
    trigger_detail: dict[str, Any]
    params: dict[str, Any]
    outcome: str
    steps: dict[str, Any]  # step -> {"status", "cache", "run_id", "duration_ms", ...}
    error: str | None
    requested_at: int
    started_at: int | None
    ended_at: int | None
    created_by: str


@dataclasses.dataclass(frozen=True)
class CachedStep(Record):
    """What a step produced under one cache key. ``output`` says where: ``kind`` (none,
    value, path), ``digest`` and the artifacts of ``run_id`` holding it; ``components``
    are the digests the key was made of (code, each param, each input)."""

    key: str
    pipeline: str
    step: str
    run_id: str
    output: dict[str, Any]
    components: dict[str, Any]
    duration_ms: int
    created_at: int


@dataclasses.dataclass(frozen=True)
class Schedule(Record):
    """What starts a pipeline by itself: ``kind`` cron (``spec`` a cron expression, UTC) or
    dataset (``spec`` a dataset name; a new version starts it)."""

    id: int
    pipeline: str
    kind: str
    spec: str
    params: dict[str, Any]
    last_fired: int | None
    seen: int
    created_at: int
    created_by: str
