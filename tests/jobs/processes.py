"""Helpers for tests that run real worker processes against the test's database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from vidonate.config import Settings

WORKER = Path(__file__).with_name("worker_process.py")
SRC = Path(__file__).resolve().parents[2] / "src"


def start_worker(settings: Settings, tmpdir: Path, **extra: str) -> subprocess.Popen[str]:
    """A worker process on `settings`' database and var dir, its temp dir `tmpdir`."""
    tmpdir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "TMPDIR": str(tmpdir),
        "VIDONATE_VAR_DIR": str(settings.var_dir),
        "VIDONATE_DATABASE_URL": settings.database_url,
        "VIDONATE_SECRET_KEY": settings.secret_key,
        "VIDONATE_WORKER_THREADS": "1",
        "VIDONATE_JOB_POLL_SECONDS": "0.1",
        **extra,
    }
    worker = subprocess.Popen(
        [sys.executable, str(WORKER)], env=env, stdout=subprocess.PIPE, text=True
    )
    assert worker.stdout is not None
    assert worker.stdout.readline().strip() == "ready"
    return worker


def children(pid: int) -> list[int]:
    """The direct children of process `pid` (Linux /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting to be reaped does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def wait_for(condition: Callable[[], object], what: str, within_s: float = 120.0) -> object:
    """Poll until `condition` is truthy; fails the test with `what` after `within_s`."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")
