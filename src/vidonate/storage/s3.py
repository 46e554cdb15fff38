"""A blob store in an S3 bucket (AWS, SeaweedFS, MinIO, Ceph...), through boto3.

What reaches the bucket is what the vault hands the store: ciphertext only. Keys are the
store's keys under an optional prefix.

* Writes stream: bytes are buffered up to ``part_size`` (at least 8 MiB; S3 wants 5 MiB
  parts) and sent as the parts of a multipart upload, so a 2 GB clip never sits in
  memory. A blob smaller than one part goes in one PUT at commit. Nothing is visible
  under the key before ``commit``; ``abort`` removes the parts already sent.
* Reads are ranged GETs: a reviewer who seeks, and the vault, which opens only the
  chunks it needs, fetch those bytes and no others.
* ``keys`` pages through the listing; ``sweep_partial`` aborts multipart uploads that a
  crashed writer left (S3 keeps their parts, and bills them, until someone does).
* A bucket that does not answer after boto3's retries raises
  :class:`~vidonate.errors.ServiceUnavailable` (``storage_unavailable``, HTTP 503).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from vidonate.errors import ServiceUnavailable
from vidonate.storage.base import BlobNotFound, check_key

MIN_PART_SIZE = 8 * 1024 * 1024
_UNREACHABLE = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ConnectionClosedError,
)
_MISSING = {"404", "NoSuchKey", "NotFound"}
T = TypeVar("T")


def _answered(call: Callable[[], T]) -> T:
    """``call()``, with an unreachable bucket turned into one clear, stable error."""
    try:
        return call()
    except _UNREACHABLE as exc:
        raise ServiceUnavailable(
            "storage_unavailable", f"the blob store did not answer ({type(exc).__name__})"
        ) from exc


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class S3BlobWriter:
    """One blob on its way in: a PUT at commit when small, else a multipart upload."""

    def __init__(self, store: S3Store, key: str) -> None:
        self._store, self._key = store, key
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._size = 0
        self._done = False

    def write(self, data: bytes) -> None:
        if self._done:
            raise ValueError("this writer was committed or aborted")
        self._buffer += data
        self._size += len(data)
        part_size = self._store.part_size
        while len(self._buffer) >= part_size:
            self._send_part(bytes(self._buffer[:part_size]))
            del self._buffer[:part_size]

    def _send_part(self, body: bytes) -> None:
        s3, bucket, key = self._store.client, self._store.bucket, self._store.object_key(self._key)
        if self._upload_id is None:
            created = _answered(lambda: s3.create_multipart_upload(Bucket=bucket, Key=key))
            self._upload_id = str(created["UploadId"])
        number = len(self._parts) + 1
        sent = _answered(
            lambda: s3.upload_part(
                Bucket=bucket, Key=key, UploadId=self._upload_id, PartNumber=number, Body=body
            )
        )
        self._parts.append({"PartNumber": number, "ETag": sent["ETag"]})

    def commit(self) -> int:
        if self._done:
            raise ValueError("this writer was committed or aborted")
        s3, bucket, key = self._store.client, self._store.bucket, self._store.object_key(self._key)
        try:
            if self._upload_id is None:
                body = bytes(self._buffer)
                _answered(lambda: s3.put_object(Bucket=bucket, Key=key, Body=body))
            else:
                if self._buffer:
                    self._send_part(bytes(self._buffer))
                parts = {"Parts": self._parts}
                _answered(
                    lambda: s3.complete_multipart_upload(
                        Bucket=bucket, Key=key, UploadId=self._upload_id, MultipartUpload=parts
                    )
                )
        except BaseException:
            self.abort()
            raise
        self._done, self._buffer = True, bytearray()
        return self._size

    def abort(self) -> None:
        self._done, self._buffer = True, bytearray()
        if self._upload_id is None:
            return
        upload_id, self._upload_id = self._upload_id, None
        # Best effort: should the bucket be unreachable now, sweep_partial aborts it later.
        with contextlib.suppress(ClientError, *_UNREACHABLE):
            self._store.client.abort_multipart_upload(
                Bucket=self._store.bucket,
                Key=self._store.object_key(self._key),
                UploadId=upload_id,
            )


class S3Store:
    """Blobs as objects of ``bucket`` under ``prefix`` (``""``: the bucket's root)."""

    def __init__(
        self, bucket: str, prefix: str = "", client: Any = None, part_size: int = MIN_PART_SIZE
    ) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes")
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = client if client is not None else boto3.client("s3")
        self.part_size = part_size
        self.page_size = 1000  # keys per listing request (S3's largest page)

    @classmethod
    def connect(
        cls,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
    ) -> S3Store:
        """A store on ``bucket``, credentials from boto3's usual chain (environment,
        shared files, instance role). Connection failures are retried a few times, then
        raise ``storage_unavailable``."""
        config = Config(
            connect_timeout=5,
            read_timeout=60,
            retries={"max_attempts": 4, "mode": "standard"},
            s3={"addressing_style": "path"} if endpoint_url else None,
        )
        client = boto3.client(
            "s3", endpoint_url=endpoint_url, region_name=region or "us-east-1", config=config
        )
        return cls(bucket, prefix, client)

    def object_key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def writer(self, key: str) -> S3BlobWriter:
        return S3BlobWriter(self, check_key(key))

    def _get(self, key: str, start: int, end: int | None) -> Any:
        """The GET's body for ``[start, end)``; None when the range is empty or past the end."""
        if end is not None and end <= start:
            self.size(key)  # a missing blob is refused even for an empty range
            return None
        byte_range = f"bytes={start}-" if end is None else f"bytes={start}-{end - 1}"
        try:
            answer = _answered(
                lambda: self.client.get_object(
                    Bucket=self.bucket, Key=self.object_key(key), Range=byte_range
                )
            )
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise BlobNotFound(key) from None
            if _code(exc) == "InvalidRange":  # start at or past the end: nothing to read
                self.size(key)
                return None
            raise
        return answer["Body"]

    def read(
        self, key: str, chunk_size: int = 1 << 20, start: int = 0, end: int | None = None
    ) -> Iterator[bytes]:
        body = self._get(key, start, end)  # missing: raised at the call, as locally

        def chunks() -> Iterator[bytes]:
            if body is None:
                return
            try:
                for chunk in body.iter_chunks(chunk_size):
                    if chunk:
                        yield chunk
            except _UNREACHABLE as exc:
                raise ServiceUnavailable(
                    "storage_unavailable", "the blob store stopped answering mid-read"
                ) from exc
            finally:
                body.close()

        return chunks()

    def size(self, key: str) -> int:
        try:
            head = _answered(
                lambda: self.client.head_object(Bucket=self.bucket, Key=self.object_key(key))
            )
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise BlobNotFound(key) from None
            raise
        return int(head["ContentLength"])

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except BlobNotFound:
            return False
        return True

    def delete(self, key: str) -> None:
        # S3 answers a DELETE of a missing object with success: nothing to special-case.
        target = self.object_key(key)
        _answered(lambda: self.client.delete_object(Bucket=self.bucket, Key=target))

    def keys(self, prefix: str = "") -> list[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        found: list[str] = []
        pages = paginator.paginate(
            Bucket=self.bucket,
            Prefix=self.prefix + prefix,
            PaginationConfig={"PageSize": self.page_size},
        )
        for page in _answered(lambda: list(pages)):
            found += [str(item["Key"])[len(self.prefix) :] for item in page.get("Contents", [])]
        return sorted(found)

    def sweep_partial(self, older_than_s: float = 24 * 3600) -> int:
        """Abort the multipart uploads under this store's prefix begun more than
        ``older_than_s`` ago: a writer still at work is younger than that."""
        cutoff = datetime.now(UTC) - timedelta(seconds=older_than_s)
        paginator = self.client.get_paginator("list_multipart_uploads")
        pages = paginator.paginate(Bucket=self.bucket, Prefix=self.prefix)
        aborted = 0
        for page in _answered(lambda: list(pages)):
            for upload in page.get("Uploads", []):
                if upload["Initiated"] < cutoff:
                    with contextlib.suppress(ClientError):
                        self.client.abort_multipart_upload(
                            Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                        )
                        aborted += 1
        return aborted
