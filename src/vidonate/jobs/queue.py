"""The job table as a queue: enqueue inside a transaction, claim, finish, recover."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from vidonate.db.models import Job, utcnow

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
MAX_ATTEMPTS = 3
LEASE = timedelta(minutes=30)


def worker_name(index: int = 0) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{index}"


def enqueue(
    session: Session, kind: str, payload: dict[str, Any], run_after: datetime | None = None
) -> Job:
    job = Job(kind=kind, payload=payload, run_after=run_after or utcnow())
    session.add(job)
    session.flush()
    return job


def claim(session: Session, worker: str) -> Job | None:
    """Take the oldest runnable job. SKIP LOCKED lets PostgreSQL workers share the table."""
    now = utcnow()
    query = (
        select(Job)
        .where(Job.status == QUEUED, Job.run_after <= now)
        .order_by(Job.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    job = session.scalar(query)
    if job is None:
        return None
    job.status = RUNNING
    job.locked_by = worker
    job.locked_at = now
    job.attempts += 1
    session.flush()
    return job


def finish(session: Session, job_id: int, error: str | None = None) -> None:
    job = session.get(Job, job_id)
    if job is None:
        return
    job.locked_by = None
    job.finished_at = utcnow()
    if error is None:
        job.status = DONE
        return
    job.last_error = error[-4000:]
    if job.attempts >= MAX_ATTEMPTS:
        job.status = FAILED
    else:
        job.status = QUEUED
        job.finished_at = None
        job.run_after = utcnow() + timedelta(seconds=5 * 2**job.attempts)


def recover(session: Session) -> int:
    """Requeue jobs whose worker died: this host's earlier processes, or any lapsed lease."""
    host = socket.gethostname()
    me = f"{host}:{os.getpid()}:"
    stale = (
        update(Job)
        .where(
            Job.status == RUNNING,
            ((Job.locked_by.like(f"{host}:%")) & ~Job.locked_by.like(f"{me}%"))
            | (Job.locked_at < utcnow() - LEASE),
        )
        .values(status=QUEUED, locked_by=None)
    )
    return session.execute(stale).rowcount or 0
