"""The HTTP backend: the same interface over the platform API.

Connection failures and 502/503/504 answers are retried with exponential backoff
(``SHIPWAY_RETRIES`` attempts starting at ``SHIPWAY_RETRY_BACKOFF`` seconds); after the last
attempt a ``ConnectionFailed`` names the server and what to check.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import blake3
import httpx
import orjson

from shipway import errors
from shipway.client.contracts_backends import ContractsOverHttp
from shipway.client.models_backends import ModelsOverHttp
from shipway.client.monitoring_backends import MonitoringOverHttp
from shipway.client.serving_backends import ServingOverHttp
from shipway.config import Settings
from shipway.records import (
    Artifact,
    Dataset,
    DatasetVersion,
    Event,
    Experiment,
    GitInfo,
    ManifestEntry,
    MetricPoint,
    Page,
    Run,
    RunInput,
    Token,
    User,
    float_from_json,
)
from shipway.services import os_user
from shipway.store.metrics import Series
from shipway.tracking.artifacts import files_to_log
from shipway.tracking.validation import artifact_path
from shipway.tracking.wire import encode_batch

RETRY_STATUS = {502, 503, 504}
CHUNK = 1 << 20


class HttpBackend(ModelsOverHttp, ServingOverHttp, ContractsOverHttp, MonitoringOverHttp):
    def __init__(self, settings: Settings, uri: str, token: str | None = None) -> None:
        if not uri.startswith(("http://", "https://")):
            raise errors.InvalidInput(f"{uri!r} is not a server URL; use http://HOST:PORT")
        self.location = uri.rstrip("/")
        self.home = settings.home
        self.retries = max(1, settings.retries)
        self.backoff = settings.retry_backoff
        headers = {"X-Shipway-User": settings.user or os_user(), "User-Agent": "shipway-client"}
        token = token or settings.token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.http = httpx.Client(
            base_url=self.location + "/api/v1",
            headers=headers,
            timeout=httpx.Timeout(60.0, connect=5.0),
        )

    # transport -------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Any = None,
        content: Callable[[], Any] | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        body = orjson.dumps(json) if json is not None else None
        delay = self.backoff
        last: str = ""
        for attempt in range(self.retries):
            try:
                request = self.http.build_request(
                    method,
                    path,
                    params=params,
                    content=body if content is None else content(),
                    headers={"Content-Type": "application/json"} if body is not None else None,
                )
                response = self.http.send(request, stream=stream)
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code not in RETRY_STATUS:
                    if response.is_error:
                        if stream:
                            response.read()
                        raise _error_from(response)
                    return response
                last = f"HTTP {response.status_code}"
                response.close()
            if attempt + 1 < self.retries:
                time.sleep(delay)
                delay *= 2
        raise errors.ConnectionFailed(
            f"cannot reach the shipway server at {self.location} after {self.retries} attempts "
            f"({last}); is `shipway server` running there? check SHIPWAY_TRACKING_URI"
        )

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        return orjson.loads(response.content) if response.content else None

    # experiments -----------------------------------------------------------------------

    def create_experiment(self, name: str, description: str = "") -> Experiment:
        data = self._json("POST", "/experiments", json={"name": name, "description": description})
        return Experiment(**data)

    def get_experiment(self, ref: int | str) -> Experiment:
        return Experiment(**self._json("GET", f"/experiments/{_q(str(ref))}"))

    def list_experiments(self, limit: int = 100, cursor: str | None = None) -> Page[Experiment]:
        data = self._json("GET", "/experiments", params=_params(limit=limit, cursor=cursor))
        return Page([Experiment(**e) for e in data["experiments"]], data["next_cursor"])

    # runs ------------------------------------------------------------------------------

    def create_run(
        self,
        experiment: str | None,
        *,
        name: str | None,
        description: str,
        tags: Mapping[str, Any],
        parent_id: str | None,
        git: GitInfo | None,
        source: str | None,
    ) -> Run:
        body = {
            "experiment": experiment,
            "name": name,
            "description": description,
            "tags": {k: str(v) for k, v in tags.items()},
            "parent_id": parent_id,
            "git": git.to_dict() if git else None,
            "source": source,
        }
        return Run.from_dict(self._json("POST", "/runs", json=body))

    def get_run(self, run_id: str) -> Run:
        return Run.from_dict(self._json("GET", f"/runs/{_q(run_id)}"))

    def update_run(self, run_id: str, **changes: Any) -> Run:
        changes.pop("end_time", None)
        return Run.from_dict(self._json("PATCH", f"/runs/{_q(run_id)}", json=changes))

    def delete_run(self, run_id: str, restore: bool = False) -> Run:
        if restore:
            return Run.from_dict(self._json("POST", f"/runs/{_q(run_id)}/restore"))
        return Run.from_dict(self._json("DELETE", f"/runs/{_q(run_id)}"))

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        self._json("POST", f"/runs/{_q(run_id)}/params", json={"params": _plain(params)})

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        body = {"tags": {k: str(v) for k, v in tags.items()}}
        self._json("POST", f"/runs/{_q(run_id)}/tags", json=body)

    def delete_tag(self, run_id: str, key: str) -> None:
        self._json("DELETE", f"/runs/{_q(run_id)}/tags/{_q(key, safe='/')}")

    def log_metric_series(self, run_id: str, batch: Mapping[str, Series]) -> int:
        data = self._json("POST", f"/runs/{_q(run_id)}/metrics", json=encode_batch(batch))
        return int(data["logged"])

    def get_metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        points: list[MetricPoint] = []
        cursor = None
        while True:
            data = self._json(
                "GET",
                f"/runs/{_q(run_id)}/metrics/{_q(key, safe='/')}",
                params=_params(cursor=cursor),
            )
            points.extend(
                MetricPoint(key, float_from_json(p["value"]), p["step"], p["timestamp"])
                for p in data["points"]
            )
            cursor = data["next_cursor"]
            if not cursor:
                return points

    def search_runs(
        self,
        experiment: str | int | Sequence[str | int] | None,
        *,
        filter: str | None,
        order_by: Sequence[str],
        limit: int,
        cursor: str | None,
        include_deleted: bool,
    ) -> Page[Run]:
        if experiment is not None and not isinstance(experiment, str | int):
            experiment = [str(e) for e in experiment]
        elif experiment is not None:
            experiment = str(experiment)
        body = {
            "experiment": experiment,
            "filter": filter,
            "order_by": list(order_by),
            "limit": limit,
            "cursor": cursor,
            "include_deleted": include_deleted,
        }
        data = self._json("POST", "/runs/search", json=body)
        return Page([Run.from_dict(r) for r in data["runs"]], data["next_cursor"])

    # artifacts -------------------------------------------------------------------------

    def log_artifact(self, run_id: str, local: Path, artifact_dir: str | None) -> list[Artifact]:
        logged = []
        # paths are validated here too: an HTTP client would normalise '..' away
        for path, dest in files_to_log(local, artifact_dir):
            data = self._json(
                "PUT",
                f"/runs/{_q(run_id)}/artifacts/{_q(dest, safe='/')}",
                content=lambda p=path: _file_chunks(p),
            )
            logged.append(Artifact(**data))
        return logged

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[Artifact]:
        out: list[Artifact] = []
        cursor = None
        while True:
            data = self._json(
                "GET",
                f"/runs/{_q(run_id)}/artifacts",
                params=_params(path=path, cursor=cursor, limit=1000),
            )
            out.extend(Artifact(**a) for a in data["artifacts"])
            cursor = data["next_cursor"]
            if not cursor:
                return out

    def download_artifacts(self, run_id: str, path: str | None, dest: Path) -> Path:
        found = self.list_artifacts(run_id, path)
        if not found:
            raise errors.NotFound(f"run {run_id} has no artifact {path!r}")
        clean = artifact_path(path) if path else ""
        parent = clean.rsplit("/", 1)[0] if "/" in clean else ""
        for artifact in found:
            # the listing comes from the server: never let it write outside dest
            listed = artifact_path(artifact.path)
            if clean and listed != clean and not listed.startswith(clean + "/"):
                raise errors.ServerError(f"the server listed {listed!r} under {clean!r}")
            rel = listed[len(parent) + 1 :] if parent else listed
            self._download_one(run_id, artifact, Path(dest) / rel)
        return Path(dest) / (clean.rsplit("/", 1)[-1] if clean else "")

    def _download_one(self, run_id: str, artifact: Artifact, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        url = f"/runs/{_q(run_id)}/artifacts/{_q(artifact.path, safe='/')}"
        fd, name = tempfile.mkstemp(prefix=".download-", dir=target.parent)
        hasher = blake3.blake3()
        try:
            with os.fdopen(fd, "wb") as fh:
                response = self._send("GET", url, stream=True)
                try:
                    for chunk in response.iter_bytes(CHUNK):
                        hasher.update(chunk)
                        fh.write(chunk)
                except httpx.HTTPError as exc:
                    raise errors.IntegrityError(
                        f"download of artifact {artifact.path!r} of run {run_id} broke off "
                        f"({exc}); the server may have found the stored blob corrupt"
                    ) from None
                finally:
                    response.close()
                fh.flush()
                os.fsync(fh.fileno())
            expected = response.headers.get("x-shipway-digest", artifact.digest)
            if hasher.hexdigest() != expected:
                raise errors.IntegrityError(
                    f"artifact {artifact.path!r} of run {run_id} arrived corrupt "
                    f"(got {hasher.hexdigest()[:12]}…, expected {expected[:12]}…); retry"
                )
            os.replace(name, target)
        finally:
            Path(name).unlink(missing_ok=True)

    # datasets (the transfer logic lives in client/transfer.py) ------------------------

    def dataset_add(
        self,
        name: str,
        path: Path,
        *,
        message: str,
        source: str | None,
        run_id: str | None,
        git: GitInfo | None,
        link: bool,
        progress: Callable[[int, int], None] | None = None,
    ) -> tuple[DatasetVersion, bool]:
        from shipway.client import transfer
        from shipway.datasets.service import check_name

        check_name(name)
        return transfer.remote_add(
            self,
            self.home,
            name,
            path,
            message=message,
            source=source,
            run_id=run_id,
            git=git,
            progress=progress,
        )

    def dataset_get(self, ref: str) -> DatasetVersion:
        from shipway.datasets.service import parse_ref

        name, number = parse_ref(ref)
        data = self._json("GET", f"/datasets/{_q(name)}/versions/{number or 'latest'}")
        return DatasetVersion.from_dict(data)

    def dataset_versions(self, name: str) -> list[DatasetVersion]:
        data = self._json("GET", f"/datasets/{_q(name)}/versions")
        return [DatasetVersion.from_dict(v) for v in data["versions"]]

    def datasets_list(self) -> list[Dataset]:
        return [Dataset(**d) for d in self._json("GET", "/datasets")["datasets"]]

    def dataset_manifest(self, ref: str) -> list[ManifestEntry]:
        from shipway.client import transfer

        return transfer.remote_manifest(self, ref)[1]

    def dataset_materialize(self, ref: str, dest: Path) -> Path:
        from shipway.client import transfer

        return transfer.remote_materialize(self, ref, dest)

    def dataset_cached_path(self, ref: str) -> Path:
        from shipway.datasets.service import check_name

        version = self.dataset_get(ref)
        check_name(version.name)  # it came from the server and becomes a folder name
        host = self.location.split("://", 1)[-1].replace(":", "_").replace("/", "_")
        target = self.home / "cache" / "remote" / host / version.name / str(version.version)
        if not target.exists():
            self.dataset_materialize(version.ref, target)
        return target

    def dataset_diff(self, a: str, b: str) -> dict[str, Any]:
        result: dict[str, Any] = self._json("GET", "/datasets-diff", params={"a": a, "b": b})
        return result

    def dataset_status(self, name: str, path: Path) -> dict[str, Any]:
        from shipway.datasets.workdir import folder_status

        latest = self.dataset_get(name)
        return folder_status(latest.ref, self.dataset_manifest(latest.ref), path, self.home)

    def dataset_used_by(self, ref: str) -> list[RunInput]:
        version = self.dataset_get(ref)
        url = f"/datasets/{_q(version.name)}/versions/{version.version}/runs"
        return [RunInput(**i) for i in self._json("GET", url)["inputs"]]

    def log_input(self, run_id: str, ref: str, context: str) -> RunInput:
        body = {"dataset": ref, "context": context}
        return RunInput(**self._json("POST", f"/runs/{_q(run_id)}/inputs", json=body))

    def run_inputs(self, run_id: str) -> list[RunInput]:
        data = self._json("GET", f"/runs/{_q(run_id)}/inputs")
        return [RunInput(**i) for i in data["inputs"]]

    # users, tokens, events -------------------------------------------------------------

    def create_user(self, name: str, role: str) -> User:
        return User(**self._json("POST", "/users", json={"name": name, "role": role}))

    def set_role(self, name: str, role: str) -> User:
        return User(**self._json("PATCH", f"/users/{_q(name)}", json={"role": role}))

    def list_users(self) -> list[User]:
        return [User(**u) for u in self._all("/users", "users")]

    def create_token(self, user: str) -> Token:
        return Token(**self._json("POST", f"/users/{_q(user)}/tokens"))

    def list_tokens(self, user: str | None = None) -> list[Token]:
        return [Token(**t) for t in self._all("/tokens", "tokens", user=user)]

    def revoke_token(self, token_id: str) -> None:
        self._json("DELETE", f"/tokens/{_q(token_id)}")

    def list_events(
        self, limit: int = 100, cursor: str | None = None, **filters: Any
    ) -> Page[Event]:
        data = self._json("GET", "/events", params=_params(limit=limit, cursor=cursor, **filters))
        return Page([Event(**e) for e in data["events"]], data["next_cursor"])

    def _all(self, path: str, key: str, **params: Any) -> Iterator[dict[str, Any]]:
        cursor = None
        while True:
            data = self._json("GET", path, params=_params(cursor=cursor, limit=1000, **params))
            yield from data[key]
            cursor = data["next_cursor"]
            if not cursor:
                return

    def whoami(self) -> dict[str, Any]:
        result: dict[str, Any] = self._json("GET", "/me")
        return result

    def close(self) -> None:
        self.http.close()


def _q(part: str, safe: str = "") -> str:
    return quote(part, safe=safe)


def _params(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _plain(values: Mapping[str, Any]) -> dict[str, Any]:
    """Params travel as strings, formatted exactly as the local backend would."""
    return {k: v if isinstance(v, str) else str(v) for k, v in values.items()}


def _file_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            yield chunk


def _error_from(response: httpx.Response) -> errors.ShipwayError:
    try:
        body = orjson.loads(response.content)
        err = body["error"]
        return errors.error_from_code(err["code"], err["message"], err.get("details"))
    except (orjson.JSONDecodeError, KeyError, TypeError):
        snippet = response.text[:200]
        return errors.ServerError(
            f"the server answered HTTP {response.status_code} without a shipway error body: "
            f"{snippet!r}; is {response.request.url.host} a shipway server?"
        )
