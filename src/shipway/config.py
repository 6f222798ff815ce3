"""Settings, declared as data.

Each setting has a name, an environment variable, a type, a default and a help text.
Values are read once, in this order: environment variable > ``config.toml`` in the home
folder > default. The result is a frozen :class:`Settings`; change a setting by building a
new one (``Settings.load(overrides={...})``). Every setting is documented in
``docs/reference/settings.md``; a test fails when one is not.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shipway.errors import InvalidInput


@dataclasses.dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    kind: type = str

    @property
    def env(self) -> str:
        return "SHIPWAY_" + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("home", ".shipway", "Folder holding the embedded database and blobs."),
    Setting("db_url", "", "SQLAlchemy URL of the metadata database; empty: SQLite in the home."),
    Setting(
        "blobs_url", "", "Where blobs live: a folder path or s3://bucket/prefix; empty: home/blobs."
    ),
    Setting(
        "tracking_uri", "", "Server the client talks to (http://host:port); empty: the local home."
    ),
    Setting("token", "", "Bearer token the client sends to a server that has auth on."),
    Setting(
        "user", "", "Who you are when auth is off (recorded as the actor); empty: the OS user."
    ),
    Setting("auth", False, "Require a bearer token on every API request.", bool),
    Setting("host", "127.0.0.1", "Interface `shipway server` listens on."),
    Setting("port", 5050, "Port `shipway server` listens on.", int),
    Setting("max_request_mb", 64, "Largest JSON request body the API accepts, in MiB.", int),
    Setting("max_artifact_mb", 0, "Largest artifact upload, in MiB; 0: no limit.", int),
    Setting("metric_batch_size", 10000, "Most metric points the client sends in one request.", int),
    Setting(
        "flush_interval", 1.0, "Seconds between background flushes of buffered metrics.", float
    ),
    Setting(
        "retries", 5, "Attempts the client makes before giving up on an unreachable server.", int
    ),
    Setting("retry_backoff", 0.2, "Seconds before the first retry; doubles each time.", float),
    Setting("capture_packages", True, "Record installed package versions at run start.", bool),
    Setting(
        "monitor_interval",
        300.0,
        "Seconds between the platform server's monitor runs (0: never; `shipway monitor run`).",
        float,
    ),
    Setting(
        "scheduler_interval",
        60.0,
        "Seconds between the platform server's pipeline-scheduler rounds (0: no scheduler).",
        float,
    ),
    Setting(
        "dask_scheduler",
        "",
        "Dask scheduler pipelines run on (tcp://host:8786); empty: a LocalCluster per run.",
    ),
    Setting(
        "webhook_allow",
        "",
        "Internal addresses alert webhooks may reach (comma-separated hosts or networks, e.g. "
        "10.0.0.0/8); empty: loopback, private and link-local addresses are refused.",
    ),
    Setting("s3_endpoint_url", "", "S3 endpoint for s3:// blobs; empty: AWS_ENDPOINT_URL or AWS."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def _coerce(setting: Setting, raw: Any, source: str) -> Any:
    if isinstance(raw, setting.kind) and not (setting.kind is int and isinstance(raw, bool)):
        return raw
    text = str(raw).strip()
    try:
        if setting.kind is bool:
            if text.lower() in {"1", "true", "yes", "on"}:
                return True
            if text.lower() in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(text)
        return setting.kind(text)
    except ValueError:
        raise InvalidInput(
            f"setting {setting.name} from {source} must be a {setting.kind.__name__}, got {raw!r}"
        ) from None


@dataclasses.dataclass(frozen=True)
class Settings:
    home: Path
    db_url: str
    blobs_url: str
    tracking_uri: str
    token: str
    user: str
    auth: bool
    host: str
    port: int
    max_request_mb: int
    max_artifact_mb: int
    metric_batch_size: int
    flush_interval: float
    retries: int
    retry_backoff: float
    capture_packages: bool
    monitor_interval: float
    scheduler_interval: float
    dask_scheduler: str
    webhook_allow: str
    s3_endpoint_url: str

    @classmethod
    def load(
        cls,
        overrides: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """Read settings: ``overrides`` > environment > ``HOME/config.toml`` > defaults."""
        env = os.environ if environ is None else environ
        overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
        for key in overrides:
            if key not in _BY_NAME:
                raise InvalidInput(f"unknown setting {key!r}; known: {', '.join(_BY_NAME)}")
        home_raw = overrides.get("home") or env.get("SHIPWAY_HOME") or ".shipway"
        home = Path(home_raw).expanduser().resolve()
        from_file = _read_file(home / "config.toml")
        values: dict[str, Any] = {}
        for s in SETTINGS:
            if s.name in overrides:
                values[s.name] = _coerce(s, overrides[s.name], "the caller")
            elif s.env in env:
                values[s.name] = _coerce(s, env[s.env], s.env)
            elif s.name in from_file:
                values[s.name] = _coerce(s, from_file[s.name], str(home / "config.toml"))
            else:
                values[s.name] = s.default
        values["home"] = home
        return cls(**values)

    @property
    def database_url(self) -> str:
        return self.db_url or f"sqlite:///{self.home / 'shipway.db'}"

    @property
    def blob_location(self) -> str:
        return self.blobs_url or str(self.home / "blobs")


def _read_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{path} is not valid TOML: {exc}") from None
    if "home" in data:
        raise InvalidInput(
            f"{path}: 'home' cannot be set in the home's own config.toml; "
            "use SHIPWAY_HOME or --home"
        )
    unknown = sorted(set(data) - set(_BY_NAME))
    if unknown:
        raise InvalidInput(f"{path}: unknown setting(s) {', '.join(unknown)}")
    return data


def os_user() -> str:
    """The operating system's user name: who acts when no one else is named."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
