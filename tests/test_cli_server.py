"""`vidonate serve --no-worker` serves without running jobs; `vidonate worker` runs them.

Real processes on the test's database and var dir, as a split deployment runs them.
"""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from jobs.processes import wait_for
from servers import server, vidonate_process
from tus_helpers import upload
from vidonate.config import Settings
from vidonate.db.engine import read_transaction
from vidonate.db.models import Donation
from vidonate.ingest.samples import generate_clip
from vidonate.ingest.tus import PROCESS_JOB
from world import World

pytestmark = pytest.mark.slow


def _status(world: World, donation_id: int) -> str:
    with read_transaction(world.rt.sessions) as s:
        return s.get_one(Donation, donation_id).status


def test_a_server_without_worker_leaves_jobs_to_a_worker_process(
    world: World, settings: Settings, tmp_path: Path
) -> None:
    clip = generate_clip(tmp_path / "clip.mp4", seconds=1.0).read_bytes()
    server_log, worker_log = tmp_path / "server.log", tmp_path / "worker.log"
    with server(settings, server_log, "--no-worker") as url:
        assert "jobs left to `vidonate worker`" in " ".join(server_log.read_text().split())
        with httpx.Client(base_url=url) as http:
            upload(http, world.tokens["alice"], clip, world.metadata())
        with read_transaction(world.rt.sessions) as s:
            donation = s.scalars(select(Donation)).one()
            donation_id = donation.id
            (job,) = world.rt.jobs.list_jobs(s, PROCESS_JOB)
            # Received, its processing job queued and claimed by nobody: this server runs none.
            assert (donation.status, job.status, job.attempts) == ("received", "queued", 0)

        with vidonate_process(settings, worker_log, "worker", "--concurrency", "2") as worker:
            wait_for(lambda: _status(world, donation_id) == "in_review", "the worker's processing")
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(60) == 0, worker_log.read_text()
        assert "worker stopped" in worker_log.read_text()


def test_worker_refuses_a_concurrency_below_one(settings: Settings, tmp_path: Path) -> None:
    with vidonate_process(
        settings, tmp_path / "worker.log", "worker", "--concurrency", "0"
    ) as worker:
        assert worker.wait(60) == 2
    assert "concurrency" in (tmp_path / "worker.log").read_text()
