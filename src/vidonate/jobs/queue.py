"""The job table as a queue: enqueue inside a transaction, claim, renew, finish, recover.

A claimed job carries a lease: ``locked_at`` is its last heartbeat, renewed by the worker
running it for as long as it runs. Only a job whose lease lapsed (its worker died, on
this host or another) is given back to the queue, so a live worker's job is never taken
from it, however long it runs. Attempts are counted when a job is claimed, so a job whose
run kills its worker (and so never finishes) is counted too, and given up after the limit.
"""

from __future__ import annotations

import os
import secrets
import socket
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from vidonate.db.dml import rows_matched
from vidonate.db.models import Job, utcnow

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
MAX_ATTEMPTS = 3
LEASE = timedelta(seconds=60)


# Tells apart two processes that got the same pid, so no one renews a dead one's lease.
_START = secrets.token_hex(3)


def worker_name(index: int = 0) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{_START}:{index}"


def enqueue(
    session: Session, kind: str, payload: dict[str, Any], run_after: datetime | None = None
) -> Job:
    job = Job(kind=kind, payload=payload, run_after=run_after or utcnow())
    session.add(job)
    session.flush()
    return job


def claim(session: Session, worker: str) -> Job | None:
    """Take the oldest runnable job and count the attempt. SKIP LOCKED lets PostgreSQL
    workers share the table."""
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


def renew(session: Session, worker: str, job_ids: list[int]) -> int:
    """The heartbeat: extend the leases of `worker`'s running jobs; returns how many."""
    if not job_ids:
        return 0
    renewed = rows_matched(
        session,
        update(Job)
        .where(Job.id.in_(job_ids), Job.locked_by == worker, Job.status == RUNNING)
        .values(locked_at=utcnow()),
    )
    return renewed or 0


def finish(
    session: Session,
    job_id: int,
    error: str | None = None,
    *,
    worker: str | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> None:
    """Record a run's end: done, or failed and retried later until `max_attempts`.

    With `worker`, only that worker's claim is finished: a job whose lease lapsed and
    that another worker now runs is not the late one's to finish."""
    job = session.get(Job, job_id, with_for_update=True)
    if job is None or (worker is not None and job.locked_by != worker):
        return
    job.locked_by = None
    job.finished_at = utcnow()
    if error is None:
        job.status = DONE
        return
    job.last_error = error[-4000:]
    if job.attempts >= max_attempts:
        job.status = FAILED
    else:
        job.status = QUEUED
        job.finished_at = None
        job.run_after = utcnow() + timedelta(seconds=5 * 2**job.attempts)


def recover(session: Session, lease: timedelta = LEASE) -> int:
    """Requeue running jobs whose lease lapsed (their worker is gone); returns how many."""
    stale = (
        update(Job)
        .where(Job.status == RUNNING, Job.locked_at < utcnow() - lease)
        .values(status=QUEUED, locked_by=None)
    )
    return rows_matched(session, stale) or 0
