"""A real S3 server for the tests: SeaweedFS, launched by ``vidonate.ops.seaweed``.

Every port it opens is bound to 127.0.0.1, and its S3 gateway knows one access key: a
request signed with any other is refused (SeaweedFS accepts any key when none is set).
"""

from __future__ import annotations

import secrets
from pathlib import Path

from vidonate.ops.seaweed import SeaweedServer, weed_binary

__all__ = ["ACCESS_KEY", "SECRET_KEY", "SeaweedS3", "weed_binary"]

ACCESS_KEY = "vidonate-test"
SECRET_KEY = "vidonate-test-secret-" + "x" * 20


class SeaweedS3(SeaweedServer):
    """One SeaweedFS server (master, volume, filer, S3 gateway) in ``workdir``, with the
    tests' access key and one bucket."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(
            workdir, access_key=ACCESS_KEY, secret_key=SECRET_KEY, bucket="vidonate-test"
        )

    def new_prefix(self) -> str:
        """A fresh prefix in the one bucket: SeaweedFS gives each bucket volumes of its
        own, so a bucket per test would soon use them all up."""
        return "t-" + secrets.token_hex(6)

    def storage_url(self, prefix: str) -> str:
        return f"s3://{self.bucket}/{prefix}?endpoint_url={self.endpoint}"
