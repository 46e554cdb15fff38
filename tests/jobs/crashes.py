"""What a crashed worker leaves behind, written for whichever queue the runtime runs."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from vidonate.db.models import Job, utcnow
from vidonate.jobs.base import JobState
from vidonate.jobs.worker import Worker
from vidonate.runtime import Runtime


def only_job(rt: Runtime, session: Session) -> JobState:
    (job,) = rt.jobs.list_jobs(session)
    return job


def as_if_its_worker_died(rt: Runtime, session: Session, job_id: int, runs: int = 1) -> None:
    """Job `job_id` started `runs` times, the last run by a worker that died an hour ago
    (its lease or heartbeat long lapsed)."""
    an_hour_ago = utcnow() - timedelta(hours=1)
    if isinstance(rt.jobs, Worker):
        job = session.get_one(Job, job_id)
        job.status, job.attempts, job.locked_by, job.locked_at = (
            "running",
            runs,
            "gone-host:1:x:0",
            an_hour_ago,
        )
        return
    worker_id = session.execute(
        text("INSERT INTO procrastinate_workers (last_heartbeat) VALUES (:at) RETURNING id"),
        {"at": an_hour_ago},
    ).scalar_one()
    session.execute(
        text(
            "UPDATE procrastinate_jobs SET status = 'doing', worker_id = :worker,"
            " attempts = :earlier WHERE id = :id"
        ),
        {"worker": worker_id, "earlier": runs - 1, "id": job_id},
    )
