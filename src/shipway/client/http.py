"""The HTTP backend: the operations not declared yet, over the platform API, through the
client's one session (``client/session.py``: retries, error decoding, verified downloads).
The declared ones are ``self.platform`` (``client/remote.py``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from shipway import errors
from shipway.blobs.hashing import hash_file_sized
from shipway.client.remote import RemotePlatform
from shipway.client.session import Session, file_chunks
from shipway.config import Settings
from shipway.records import (
    Artifact,
    DatasetVersion,
    GitInfo,
    ManifestEntry,
    PredictionSegment,
    Series,
)
from shipway.tracking.validation import artifact_path, files_to_log
from shipway.tracking.wire import encode_batch

RETRY_STATUS = {502, 503, 504}
CHUNK = 1 << 20


class HttpBackend:
    def __init__(self, settings: Settings, uri: str, token: str | None = None) -> None:
        self.session = Session(settings, uri, token)
        self.location = self.session.location
        self.home = settings.home
        self.http = self.session.http
        self.platform = RemotePlatform(self.session)

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.session.send(method, path, **kwargs)

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.session.json(method, path, **kwargs)

    # experiments -----------------------------------------------------------------------

    # runs ------------------------------------------------------------------------------

    def log_metric_series(self, run_id: str, batch: Mapping[str, Series]) -> int:
        data = self._json("POST", f"/runs/{_q(run_id)}/metrics", json=encode_batch(batch))
        return int(data["logged"])

    # artifacts -------------------------------------------------------------------------

    def log_artifact(self, run_id: str, local: Path, artifact_dir: str | None) -> list[Artifact]:
        logged = []
        # paths are validated here too: an HTTP client would normalise '..' away
        for path, dest in files_to_log(local, artifact_dir):
            data = self._json(
                "PUT",
                f"/runs/{_q(run_id)}/artifacts/{_q(dest, safe='/')}",
                content=lambda p=path: file_chunks(p),
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
        url = f"/runs/{_q(run_id)}/artifacts/{_q(artifact.path, safe='/')}"
        self.session.download(
            url, target, lambda response: response.headers.get("x-shipway-digest", artifact.digest)
        )

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

    def dataset_manifest(self, ref: str) -> list[ManifestEntry]:
        from shipway.client import transfer

        return transfer.remote_manifest(self, ref)[1]

    def dataset_materialize(self, ref: str, dest: Path) -> Path:
        from shipway.client import transfer

        return transfer.remote_materialize(self, ref, dest)

    def dataset_cached_path(self, ref: str) -> Path:
        from shipway.datasets.service import check_name

        version = self.platform.datasets.get(ref)
        check_name(version.name)  # it came from the server and becomes a folder name
        host = self.location.split("://", 1)[-1].replace(":", "_").replace("/", "_")
        target = self.home / "cache" / "remote" / host / version.name / str(version.version)
        if not target.exists():
            self.dataset_materialize(version.ref, target)
        return target

    def dataset_status(self, name: str, path: Path) -> dict[str, Any]:
        from shipway.datasets.workdir import folder_status

        latest = self.platform.datasets.get(name)
        return folder_status(latest.ref, self.dataset_manifest(latest.ref), path, self.home)

    # users, tokens, events -------------------------------------------------------------

    def whoami(self) -> dict[str, Any]:
        result: dict[str, Any] = self._json("GET", "/me")
        return result

    def close(self) -> None:
        self.http.close()

    # serving: the prediction log, and what an inference server asks of the platform

    def prediction_segment_add(
        self, model: str, version: int, path: Path, rows: int, first: int, last: int
    ) -> PredictionSegment:
        from shipway.client.transfer import upload_file

        digest, size = hash_file_sized(path)
        upload_file(self, digest, path)
        return self.platform.predictions.record_segment(
            model, version, digest=digest, size=size, rows=rows, first=first, last=last
        )

    def predictions_query(
        self, model: str, sql: str, since: int | None = None, until: int | None = None
    ) -> Any:
        from shipway.client.transfer import download

        cache = self.home / "cache" / "predictions"
        cache.mkdir(parents=True, exist_ok=True)
        files = []
        for segment in self.platform.predictions.segments(model, since=since, until=until):
            path = cache / f"{segment.digest}.parquet"
            if not path.exists():
                download(self, segment.digest, path)
            files.append(path)
        from shipway.serving.predictions import query_files

        return query_files(files, sql)

    def auth_required(self) -> bool:
        return bool(self._json("GET", "/health").get("auth"))

    def token_role(self, token: str) -> str | None:
        response = self.http.get("/me", headers={"Authorization": f"Bearer {token}"})
        if response.status_code == 401:
            return None
        if response.is_error:
            raise errors.Unauthenticated(f"could not check the token: HTTP {response.status_code}")
        return str(response.json()["role"])


def _q(part: str, safe: str = "") -> str:
    return quote(part, safe=safe)


def _params(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}
