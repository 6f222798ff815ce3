"""The serving half of both client backends: deployments, the prediction log, and what an
inference server asks of the platform (is auth on, whose token is this)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from shipway.blobs.hashing import hash_file_sized
from shipway.client.remote import RemotePlatform
from shipway.errors import Unauthenticated
from shipway.records import PredictionSegment
from shipway.services import Services
from shipway.serving.deployments import check_deployment_name
from shipway.serving.predictions import query_files


def _d(name: str) -> str:
    return quote(check_deployment_name(name), safe="")


class ServingInProcess:
    services: Services

    def prediction_segment_add(
        self, model: str, version: int, path: Path, rows: int, first: int, last: int
    ) -> PredictionSegment:
        return self.services.predictions.add_segment(
            model, version, path, rows=rows, first=first, last=last
        )

    def predictions_query(
        self, model: str, sql: str, since: int | None = None, until: int | None = None
    ) -> Any:
        return self.services.predictions.query(model, sql, since=since, until=until)

    def auth_required(self) -> bool:
        return self.services.settings.auth

    def token_role(self, token: str) -> str | None:
        user = self.services.accounts.authenticate(token)
        return None if user is None else user.role


class ServingOverHttp:
    # provided by HttpBackend
    _json: Any
    _send: Any
    home: Path
    location: str
    http: httpx.Client
    platform: RemotePlatform

    def prediction_segment_add(
        self, model: str, version: int, path: Path, rows: int, first: int, last: int
    ) -> PredictionSegment:
        from shipway.client.transfer import upload_file

        digest, size = hash_file_sized(path)
        upload_file(self, digest, path)  # type: ignore[arg-type]
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
                download(self, segment.digest, path)  # type: ignore[arg-type]
            files.append(path)
        return query_files(files, sql)

    def auth_required(self) -> bool:
        return bool(self._json("GET", "/health").get("auth"))

    def token_role(self, token: str) -> str | None:
        response = self.http.get("/me", headers={"Authorization": f"Bearer {token}"})
        if response.status_code == 401:
            return None
        if response.is_error:
            raise Unauthenticated(f"could not check the token: HTTP {response.status_code}")
        return str(response.json()["role"])
