"""Real vidonate processes (servers, workers) on a test's database and var dir."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from jobs.processes import SRC, wait_for
from vidonate.config import Settings
from vidonate.server import free_port


def process_env(settings: Settings, **extra: str) -> dict[str, str]:
    """Our environment without foreign VIDONATE_ variables, plus the test's settings."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("VIDONATE_")},
        "PYTHONPATH": str(SRC),
        "VIDONATE_VAR_DIR": str(settings.var_dir),
        "VIDONATE_DATABASE_URL": settings.database_url,
        "VIDONATE_STORAGE_URL": settings.storage_url,
        "VIDONATE_SECRET_KEY": settings.secret_key,
        "VIDONATE_JOB_POLL_SECONDS": "0.1",
        **extra,
    }


@contextmanager
def vidonate_process(
    settings: Settings, log: Path, *args: str, **extra_env: str
) -> Iterator[subprocess.Popen[bytes]]:
    """``vidonate <args>`` running until the block ends (then killed if still alive)."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "vidonate.cli", *args],
            env=process_env(settings, **extra_env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)


@contextmanager
def server(settings: Settings, log: Path, *args: str, **extra_env: str) -> Iterator[str]:
    """A ``vidonate serve`` on a free loopback port, answering; yields its base URL."""
    port = free_port()
    with vidonate_process(
        settings, log, "serve", "--port", str(port), *args, **extra_env
    ) as process:
        url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            assert process.poll() is None, log.read_text()
            try:
                return httpx.get(f"{url}/openapi.json", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(up, f"the server on port {port} to answer", within_s=60)
        yield url
