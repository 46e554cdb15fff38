"""`vidonate serve --no-worker` serves without running jobs; `vidonate worker` runs them.

Real processes on the test's database and var dir, as a split deployment runs them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from jobs.processes import SRC, wait_for
from tus_helpers import upload
from vidonate.config import Settings
from vidonate.db.engine import read_transaction
from vidonate.db.models import Donation, Job
from vidonate.ingest.samples import generate_clip
from vidonate.ingest.tus import PROCESS_JOB
from vidonate.server import free_port
from world import World

pytestmark = pytest.mark.slow


def _env(settings: Settings) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("VIDONATE_")},
        "PYTHONPATH": str(SRC),
        "VIDONATE_VAR_DIR": str(settings.var_dir),
        "VIDONATE_DATABASE_URL": settings.database_url,
        "VIDONATE_SECRET_KEY": settings.secret_key,
        "VIDONATE_JOB_POLL_SECONDS": "0.1",
    }


@contextmanager
def _process(settings: Settings, log: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "vidonate.cli", *args],
            env=_env(settings),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)


def _status(world: World, donation_id: int) -> str:
    with read_transaction(world.rt.sessions) as s:
        return s.get_one(Donation, donation_id).status


def test_a_server_without_worker_leaves_jobs_to_a_worker_process(
    world: World, settings: Settings, tmp_path: Path
) -> None:
    clip = generate_clip(tmp_path / "clip.mp4", seconds=1.0).read_bytes()
    port = free_port()
    server_log, worker_log = tmp_path / "server.log", tmp_path / "worker.log"
    with _process(settings, server_log, "serve", "--no-worker", "--port", str(port)) as server:
        url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            assert server.poll() is None, server_log.read_text()
            try:
                return httpx.get(f"{url}/openapi.json", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(up, "the server to answer", within_s=60)
        assert "jobs left to `vidonate worker`" in " ".join(server_log.read_text().split())
        with httpx.Client(base_url=url) as http:
            upload(http, world.tokens["alice"], clip, world.metadata())
        with read_transaction(world.rt.sessions) as s:
            donation = s.scalars(select(Donation)).one()
            donation_id = donation.id
            job = s.scalars(select(Job).where(Job.kind == PROCESS_JOB)).one()
            # Received, its processing job queued and claimed by nobody: this server runs none.
            assert (donation.status, job.status, job.attempts) == ("received", "queued", 0)

        with _process(settings, worker_log, "worker", "--concurrency", "2") as worker:
            wait_for(lambda: _status(world, donation_id) == "in_review", "the worker's processing")
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(60) == 0, worker_log.read_text()
        assert "worker stopped" in worker_log.read_text()


def test_worker_refuses_a_concurrency_below_one(settings: Settings, tmp_path: Path) -> None:
    with _process(settings, tmp_path / "worker.log", "worker", "--concurrency", "0") as worker:
        assert worker.wait(60) == 2
    assert "concurrency" in (tmp_path / "worker.log").read_text()
