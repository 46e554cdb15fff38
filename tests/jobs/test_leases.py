"""Leases and attempts: a live worker's job is never taken from it, a dead worker's job is
redone once, and a job that kills its worker every time is given up after the limit.

The worker-process tests run on each database's queue: the in-process one on SQLite,
Procrastinate (heartbeats, retry of stalled jobs) on PostgreSQL."""

from __future__ import annotations

import signal
from datetime import timedelta
from pathlib import Path

from crashes import as_if_its_worker_died, only_job
from fastapi.testclient import TestClient
from processes import start_worker, wait_for

from tus_helpers import upload
from vidonate.config import Settings
from vidonate.db.engine import transaction
from vidonate.db.models import Donation, Job, utcnow
from vidonate.ingest.samples import generate_clip
from vidonate.jobs import queue
from vidonate.jobs.base import JobState
from vidonate.runtime import Runtime
from world import World

LEASE_S = "1.5"


def _lines(log: Path) -> list[list[str]]:
    return [line.split() for line in log.read_text().splitlines()] if log.exists() else []


def test_only_a_lapsed_lease_is_recovered(rt: Runtime) -> None:
    with transaction(rt.sessions) as s:
        lapsed = queue.enqueue(s, "k", {})
        fresh = queue.enqueue(s, "k", {})
        for job, heartbeat in ((lapsed, utcnow() - timedelta(seconds=61)), (fresh, utcnow())):
            # the same host and a pid long gone: only the lease tells
            job.status, job.locked_by, job.locked_at = "running", "host:1:x:0", heartbeat
    with transaction(rt.sessions) as s:
        assert queue.recover(s, timedelta(seconds=60)) == 1
    with transaction(rt.sessions) as s:
        assert s.get(Job, lapsed.id).status == "queued"  # type: ignore[union-attr]
        assert s.get(Job, fresh.id).status == "running"  # type: ignore[union-attr]


def test_a_renewed_lease_is_not_recovered_and_a_stale_claim_cannot_finish(rt: Runtime) -> None:
    with transaction(rt.sessions) as s:
        queue.enqueue(s, "k", {})
    with transaction(rt.sessions) as s:
        job = queue.claim(s, "me")
        assert job is not None
        job.locked_at = utcnow() - timedelta(seconds=100)
    with transaction(rt.sessions) as s:
        assert queue.renew(s, "me", [job.id]) == 1
        assert queue.renew(s, "someone-else", [job.id]) == 0
    with transaction(rt.sessions) as s:
        assert queue.recover(s, timedelta(seconds=60)) == 0
        queue.finish(s, job.id, worker="someone-else")
    with transaction(rt.sessions) as s:
        assert s.get(Job, job.id).status == "running"  # type: ignore[union-attr]


def test_two_workers_on_one_host_keep_their_jobs_and_a_killed_ones_is_redone_once(
    world: World, settings: Settings, tmp_path: Path
) -> None:
    log = tmp_path / "jobs.log"
    extra = {"WORKER_TEST_LOG": str(log), "VIDONATE_JOB_LEASE_SECONDS": LEASE_S}
    a = start_worker(settings, tmp_path / "a", **extra)
    b = start_worker(settings, tmp_path / "b", **extra)
    try:
        with transaction(world.rt.sessions) as s:
            for name in ("first", "second"):
                # Each runs several leases long: only heartbeats keep it with its worker.
                world.rt.jobs.enqueue(s, "test_hold", {"name": name, "seconds": 6})
        wait_for(lambda: len(_lines(log)) >= 2, "both jobs to start")
        (_, job_a, pid_a), (_, job_b, pid_b) = _lines(log)[:2]
        assert {pid_a, pid_b} == {str(a.pid), str(b.pid)}, "one job each"
        victim, survivor = (a, b) if pid_a == str(a.pid) else (b, a)
        killed_job = job_a if pid_a == str(victim.pid) else job_b
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        wait_for(
            lambda: {j.status for j in _jobs(world)} == {"done"},
            "the survivor to finish its job and redo the other",
        )
        starts = [(job, pid) for event, job, pid in _lines(log) if event == "start"]
        assert starts.count((killed_job, str(survivor.pid))) == 1
        assert len(starts) == 3, "no job ran twice but the killed one"
        assert [line[0] for line in _lines(log)].count("done") == 2
    finally:
        for worker in (a, b):
            worker.kill()
            worker.wait()
    jobs = {j.payload["name"]: (j.status, j.attempts) for j in _jobs(world)}
    survivor_job = "first" if killed_job == "second" else "second"
    assert jobs == {killed_job: ("done", 2), survivor_job: ("done", 1)}


def test_a_job_that_kills_its_worker_every_time_is_given_up_after_the_limit(
    world: World, settings: Settings, tmp_path: Path
) -> None:
    log = tmp_path / "jobs.log"
    with transaction(world.rt.sessions) as s:
        world.rt.jobs.enqueue(s, "test_crash", {"name": "bomb"})
    with transaction(world.rt.sessions) as s:
        job_id = only_job(world.rt, s).id
    extra = {"WORKER_TEST_LOG": str(log), "VIDONATE_JOB_LEASE_SECONDS": "0.3"}
    for attempt in range(1, 4):
        worker = start_worker(settings, tmp_path / str(attempt), **extra)
        assert worker.wait() == -signal.SIGKILL, "the job took its worker down"
    last = start_worker(settings, tmp_path / "last", **extra)
    try:
        wait_for(lambda: _job(world, job_id).status == "failed", "the job to be given up")
        assert last.poll() is None, "the fourth worker lives on"
    finally:
        last.kill()
        last.wait()
    assert [line[0] for line in _lines(log)] == ["crash"] * 3
    assert _job(world, job_id).attempts == 4, "three crashes, then the run that gave up"


def _jobs(world: World) -> list[JobState]:
    with transaction(world.rt.sessions) as s:
        return world.rt.jobs.list_jobs(s)


def _job(world: World, job_id: int) -> JobState:
    (job,) = [j for j in _jobs(world) if j.id == job_id]
    return job


def test_a_clip_whose_processing_never_finishes_fails_with_a_reason_and_loses_its_upload(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    clip = generate_clip(tmp_path / "a.mp4", seconds=1.2, width=64, height=48)
    upload(client, world.tokens["alice"], clip.read_bytes(), world.metadata())
    with transaction(world.rt.sessions) as s:
        # What three crashes leave: three runs started, the last one's worker gone.
        as_if_its_worker_died(world.rt, s, only_job(world.rt, s).id, runs=3)
        s.query(Donation).one().status = "processing"
    assert world.rt.jobs.recover() == 1
    assert world.rt.jobs.run_pending() == 1
    with transaction(world.rt.sessions) as s:
        donation = s.query(Donation).one()
        assert (donation.status, donation.failure_reason) == ("failed", "processing_interrupted")
        assert "3 attempts" in (donation.failure_detail or "")
        assert only_job(world.rt, s).status == "failed"
    assert world.rt.store.keys("uploads/") == []
