"""Blob bytes in an S3 bucket (AWS, SeaweedFS, MinIO…): one object per key under a prefix."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shipway.blobs.backends import CHUNK_SIZE, check_key
from shipway.errors import (
    Conflict,
    ConnectionFailed,
    IntegrityError,
    InvalidInput,
    MissingDependency,
    NotFound,
    PermissionDenied,
    ServerError,
    ShipwayError,
)

_MISSING = {"404", "NoSuchKey", "NotFound"}
_DENIED = {
    "403",
    "AccessDenied",
    "AllAccessDisabled",
    "ExpiredToken",
    "InvalidAccessKeyId",
    "InvalidToken",
    "SignatureDoesNotMatch",
}
_CREDENTIALS_FIX = (
    "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the AWS profile) "
    "and that they may use the bucket"
)


class S3Backend:
    """A :class:`~shipway.blobs.backends.ByteBackend` over ``s3://bucket/prefix``.

    Credentials come from boto3's usual chain (``AWS_ACCESS_KEY_ID``… or a profile); the
    endpoint from ``endpoint_url``, else ``AWS_ENDPOINT_URL``, else AWS. ``config`` is a
    ``botocore.config.Config`` merged over shipway's (tests use it to cut retries).

    Example::

        backend = S3Backend("ml-artifacts", "shipway/blobs", "http://127.0.0.1:8333")
        backend.ensure_bucket()
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        *,
        config: Any = None,
    ) -> None:
        try:
            import boto3
            import boto3.exceptions
            import botocore.exceptions
            from botocore.config import Config
        except ImportError:
            raise MissingDependency("S3 blobs need boto3: pip install 'shipway[s3]'") from None
        if not bucket:
            raise InvalidInput("S3 blob location needs a bucket: s3://bucket/prefix")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._exc: Any = botocore.exceptions
        # Everything boto3/botocore raise on purpose; translated in _errors.
        self._boto_errors: tuple[type[BaseException], ...] = (
            botocore.exceptions.BotoCoreError,
            botocore.exceptions.ClientError,
            boto3.exceptions.Boto3Error,
        )
        client_config = Config(user_agent_extra="shipway")
        if config is not None:
            client_config = client_config.merge(config)
        # A session of our own: the default one is shared and not thread-safe to create.
        session = boto3.session.Session()
        #: The boto3 S3 client; thread-safe, usable for what this class does not cover.
        self.client: Any = session.client(
            "s3", endpoint_url=endpoint_url or None, config=client_config
        )
        self.endpoint_url: str = self.client.meta.endpoint_url

    def __repr__(self) -> str:
        return f"S3Backend({self.bucket!r}, {self.prefix!r}, {self.endpoint_url!r})"

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist."""
        with self._errors(None):
            try:
                self.client.head_bucket(Bucket=self.bucket)
                return
            except self._exc.ClientError as exc:
                if _code(exc) not in _MISSING | {"NoSuchBucket"}:
                    raise
            region = self.client.meta.region_name
            extra: dict[str, Any] = {}
            # us-east-1 is the one region that rejects an explicit location constraint.
            if region and region != "us-east-1":
                extra["CreateBucketConfiguration"] = {"LocationConstraint": region}
            try:
                self.client.create_bucket(Bucket=self.bucket, **extra)
            except self._exc.ClientError as exc:
                # Another process won the race; the bucket is ours either way.
                if _code(exc) != "BucketAlreadyOwnedByYou":
                    raise

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except NotFound:
            return False
        return True

    def put_file(self, key: str, path: Path) -> None:
        # upload_file streams and goes multipart for big files; S3 only shows the object
        # once the last part is committed, so a failed upload leaves nothing behind.
        with self._errors(key):
            self.client.upload_file(str(path), self.bucket, self._full(key))

    def put_bytes(self, key: str, data: bytes) -> None:
        with self._errors(key):
            self.client.put_object(Bucket=self.bucket, Key=self._full(key), Body=data)

    def get_file(self, key: str, dest: Path) -> None:
        with self._errors(key):
            self.client.download_file(self.bucket, self._full(key), str(dest))

    def iter_chunks(self, key: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        with self._errors(key):
            body = self.client.get_object(Bucket=self.bucket, Key=self._full(key))["Body"]
        return self._read_chunks(body, key, chunk_size)

    def size(self, key: str) -> int:
        with self._errors(key):
            head = self.client.head_object(Bucket=self.bucket, Key=self._full(key))
        return int(head["ContentLength"])

    def delete(self, key: str) -> None:
        # S3 deletes a missing key without complaint; the contract says NotFound.
        self.size(key)
        with self._errors(key):
            self.client.delete_object(Bucket=self.bucket, Key=self._full(key))

    def list(self, prefix: str = "") -> Iterator[str]:
        base = f"{self.prefix}/" if self.prefix else ""
        paginator = self.client.get_paginator("list_objects_v2")
        with self._errors(None):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=base + prefix):
                for item in page.get("Contents", []):
                    yield str(item["Key"])[len(base) :]

    def _read_chunks(self, body: Any, key: str, chunk_size: int) -> Iterator[bytes]:
        try:
            with self._errors(key):
                yield from body.iter_chunks(chunk_size)
        finally:
            body.close()

    def _full(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    @contextlib.contextmanager
    def _errors(self, key: str | None) -> Iterator[None]:
        try:
            yield
        except self._boto_errors as exc:
            raise self._translate(exc, key) from exc

    def _translate(self, exc: BaseException, key: str | None) -> ShipwayError:
        e = self._exc
        inner = getattr(exc, "last_exception", None) or exc.__context__
        if not isinstance(exc, e.BotoCoreError | e.ClientError) and inner is not None:
            # boto3's transfer manager wraps the ClientError that says what went wrong.
            return self._translate(inner, key)
        where = f"s3://{self.bucket}/{self._full(key)}" if key else self.describe()
        if isinstance(exc, e.ConnectionError | e.HTTPClientError):
            return ConnectionFailed(
                f"cannot reach S3 endpoint {self.endpoint_url} ({exc}): is the server running? "
                "set SHIPWAY_S3_ENDPOINT_URL or AWS_ENDPOINT_URL"
            )
        if isinstance(
            exc,
            e.NoCredentialsError | e.PartialCredentialsError | e.CredentialRetrievalError,
        ):
            return PermissionDenied(
                f"no usable S3 credentials for {where} ({exc}): "
                "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            )
        if isinstance(exc, e.ChecksumError | e.FlexibleChecksumError):
            return IntegrityError(f"{where} was corrupted in transfer ({exc}); try again")
        if not isinstance(exc, e.ClientError):
            return ServerError(f"S3 request on {where} failed: {exc}")
        code = _code(exc)
        operation = exc.operation_name
        if code == "NoSuchBucket":
            return NotFound(
                f"S3 bucket {self.bucket} does not exist at {self.endpoint_url}: create it "
                f"(aws s3 mb s3://{self.bucket}) or open the blob store with create=True"
            )
        if code in _MISSING:
            return NotFound(f"blob object {where} not found")
        if code in _DENIED:
            return PermissionDenied(
                f"S3 denied {operation} on {where} ({code}) at {self.endpoint_url}: "
                + _CREDENTIALS_FIX
            )
        if code == "BucketAlreadyExists":
            return Conflict(f"S3 bucket name {self.bucket} is taken by another account")
        return ServerError(f"S3 {operation} on {where} failed ({code}): {exc}")


def _code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
