"""Procrastinate, the queue on PostgreSQL: picked by the queue URL, a job is written in
the caller's transaction, a failing one is retried later, and a running worker picks up
new jobs at once (LISTEN/NOTIFY) and runs the periodic tasks once per deployment.

The worker-crash cases (heartbeats, stalled jobs, giving up) are in test_leases.py, which
runs them on this queue for every PostgreSQL case.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import text

from vidonate.config import Settings
from vidonate.db.engine import transaction
from vidonate.jobs.factory import open_queue, queue_kind
from vidonate.jobs.procrastinate_queue import ProcrastinateQueue
from vidonate.runtime import Runtime

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/vidonate"
SQLITE = "sqlite:////tmp/vidonate.sqlite3"


@pytest.mark.parametrize(
    ("queue_url", "database_url", "kind"),
    [
        ("", PG, "procrastinate"),
        ("", SQLITE, "inprocess"),
        ("inprocess://", PG, "inprocess"),
        ("procrastinate://", PG, "procrastinate"),
        ("postgresql://postgres@127.0.0.1:5432/vidonate", PG, "procrastinate"),
    ],
)
def test_the_queue_url_picks_the_back_end(queue_url: str, database_url: str, kind: str) -> None:
    assert queue_kind(queue_url, database_url) == kind


@pytest.mark.parametrize(
    ("queue_url", "database_url", "says"),
    [
        ("celery://", PG, "unsupported queue URL"),
        ("postgresql://postgres@127.0.0.1:5432/other", PG, "must be the application's own"),
    ],
)
def test_a_queue_url_it_cannot_use_is_refused(queue_url: str, database_url: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        queue_kind(queue_url, database_url)


def test_procrastinate_on_sqlite_is_refused_with_the_reason(tmp_path: Any) -> None:
    settings = Settings(var_dir=tmp_path, queue_url="procrastinate://", secret_key="k" * 32)
    with pytest.raises(ValueError, match="Procrastinate needs PostgreSQL"):
        open_queue(settings, None)  # type: ignore[arg-type]


# These run on PostgreSQL alone: SQLite's queue is the in-process one.
ON_POSTGRES = pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


@pytest.fixture
def pg_rt(rt: Runtime) -> Runtime:
    assert isinstance(rt.jobs, ProcrastinateQueue)
    return rt


def _queue(rt: Runtime) -> ProcrastinateQueue:
    assert isinstance(rt.jobs, ProcrastinateQueue)
    return rt.jobs


@ON_POSTGRES
def test_a_job_exists_only_if_its_transaction_commits(pg_rt: Runtime) -> None:
    ran: list[dict[str, Any]] = []
    pg_rt.jobs.register("note", ran.append)
    with pytest.raises(RuntimeError), transaction(pg_rt.sessions) as s:
        pg_rt.jobs.enqueue(s, "note", {"n": 1})
        s.execute(text("SELECT 1"))
        raise RuntimeError("the change that needed the job failed")
    with transaction(pg_rt.sessions) as s:
        assert pg_rt.jobs.list_jobs(s) == []
        pg_rt.jobs.enqueue(s, "note", {"n": 2})
        # Not visible to other connections before the commit: a worker cannot run it early.
        with pg_rt.engine.connect() as other:
            assert other.execute(text("SELECT count(*) FROM procrastinate_jobs")).scalar() == 0
    assert pg_rt.jobs.run_pending() == 1
    assert ran == [{"n": 2}]
    with transaction(pg_rt.sessions) as s:
        (job,) = pg_rt.jobs.list_jobs(s)
    assert (job.kind, job.status, job.attempts) == ("note", "done", 1)


@ON_POSTGRES
def test_a_failing_job_is_retried_later_then_fails(pg_rt: Runtime) -> None:
    def fail(payload: dict[str, Any]) -> None:
        raise OSError("the disk is full")

    pg_rt.jobs.register("flaky", fail)
    with transaction(pg_rt.sessions) as s:
        pg_rt.jobs.enqueue(s, "flaky", {})
    assert pg_rt.jobs.run_pending() == 1, "one run now; the retry waits"
    with transaction(pg_rt.sessions) as s:
        (job,) = pg_rt.jobs.list_jobs(s)
        assert (job.status, job.attempts) == ("queued", 1)
        # Make the waits pass, then the runs left happen.
        s.execute(text("UPDATE procrastinate_jobs SET scheduled_at = now()"))
    settings = pg_rt.settings
    for _ in range(settings.job_max_attempts - 1):
        assert pg_rt.jobs.run_pending() == 1
        with transaction(pg_rt.sessions) as s:
            s.execute(text("UPDATE procrastinate_jobs SET scheduled_at = now()"))
    assert pg_rt.jobs.run_pending() == 0, "no run left"
    with transaction(pg_rt.sessions) as s:
        (job,) = pg_rt.jobs.list_jobs(s)
    assert (job.status, job.attempts) == ("failed", settings.job_max_attempts)


@ON_POSTGRES
def test_a_running_worker_starts_a_new_job_without_waiting_for_a_poll(pg_rt: Runtime) -> None:
    queue = _queue(pg_rt)
    queue.poll_seconds = 30.0  # only the notification can wake it in time
    done = threading.Event()
    queue.register("ping", lambda payload: done.set())
    queue.start()
    try:
        time.sleep(0.5)  # let it reach its LISTEN
        with transaction(pg_rt.sessions) as s:
            queue.enqueue(s, "ping", {})
        assert done.wait(10), "the job ran within seconds, not after a 30 s poll"
    finally:
        queue.stop()


@ON_POSTGRES
def test_periodic_tasks_run_once_per_deployment_and_stop_with_the_worker(pg_rt: Runtime) -> None:
    runs: list[str] = []
    queues = []
    for name in ("first", "second"):
        queue = ProcrastinateQueue(pg_rt.sessions, pg_rt.settings.database_url, lease_seconds=2)
        queue.schedule("housekeeping", lambda n=name: runs.append(n), 60)
        queues.append(queue)
    for queue in queues:
        queue.start()
    time.sleep(3)
    for queue in queues:
        queue.stop()
    assert len(runs) == 1, runs
    with pg_rt.engine.connect() as c:
        # Both workers unregistered on the way out: no heartbeat row left behind.
        assert c.execute(text("SELECT count(*) FROM procrastinate_workers")).scalar() == 0
