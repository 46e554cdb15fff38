"""In-process workers: threads that claim jobs from the database and run their handlers.

While a job runs, a heartbeat thread renews its lease; the first worker thread also
requeues jobs whose lease lapsed (see :mod:`vidonate.jobs.queue`) and runs the periodic
tasks, housekeeping once per deployment (see :mod:`vidonate.jobs.schedule`).
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from vidonate.db.engine import transaction
from vidonate.db.models import Job
from vidonate.jobs import queue
from vidonate.jobs.base import GiveUp, Handler, JobState, Payload
from vidonate.jobs.patience import PATIENCE_S, run_patiently
from vidonate.jobs.priority import lower_this_thread
from vidonate.jobs.schedule import RunsPeriodicTasks, Schedule, guarded

log = logging.getLogger(__name__)


@dataclass
class Worker(RunsPeriodicTasks):
    """The database-backed :class:`~vidonate.jobs.base.JobQueue`: runs jobs in threads
    until ``stop``. A failing job never stops the worker."""

    sessions: sessionmaker[Session]
    handlers: dict[str, Handler] = field(default_factory=dict)
    threads: int = 1
    poll_seconds: float = 1.0
    lease_seconds: float = queue.LEASE.total_seconds()
    max_attempts: int = queue.MAX_ATTEMPTS
    patience_s: float = PATIENCE_S  # how long a run waits out an outage (jobs.patience)
    niceness: int = 0  # added to each job thread's nice value (jobs.priority)
    give_up: dict[str, GiveUp] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _wake: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _running: dict[int, str] = field(default_factory=dict)  # job id -> worker name
    _running_lock: threading.Lock = field(default_factory=threading.Lock)
    periodic: Schedule = field(init=False)

    def __post_init__(self) -> None:
        self.periodic = Schedule(self.sessions)

    def enqueue(
        self, session: Session, kind: str, payload: Payload, run_after: datetime | None = None
    ) -> None:
        queue.enqueue(session, kind, payload, run_after)

    def register(self, kind: str, handler: Handler, *, give_up: GiveUp | None = None) -> None:
        self.handlers[kind] = handler
        if give_up is not None:
            self.give_up[kind] = give_up

    def kinds(self) -> set[str]:
        return set(self.handlers)

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.lease_seconds)

    def start(self) -> None:
        self._stop.clear()
        self.recover()
        targets: list[tuple[Callable[..., None], tuple[int, ...], str]] = [
            (self._loop, (index,), f"vidonate-worker-{index}") for index in range(self.threads)
        ]
        targets.append((self._heartbeat, (), "vidonate-heartbeat"))
        for target, args, name in targets:
            thread = threading.Thread(target=target, args=args, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def wake(self) -> None:
        """Called after a commit that enqueued work, so it starts without waiting a poll."""
        self._wake.set()

    def run_pending(self, worker: str = "inline") -> int:
        """Run jobs until none is runnable; returns how many ran. Used by tests and the CLI."""
        ran = 0
        while self._run_one(worker):
            ran += 1
        return ran

    def list_jobs(self, session: Session, kind: str | None = None) -> list[JobState]:
        query = select(Job).order_by(Job.id)
        if kind is not None:
            query = query.where(Job.kind == kind)
        return [
            JobState(job.id, job.kind, dict(job.payload), job.status, job.attempts)
            for job in session.scalars(query)
        ]

    def recover(self) -> int:
        with transaction(self.sessions) as session:
            recovered = queue.recover(session, self.lease)
        if recovered:
            log.info("requeued %d jobs whose worker stopped renewing their lease", recovered)
        return recovered

    def _loop(self, index: int) -> None:
        lower_this_thread(self.niceness)
        worker = queue.worker_name(index)
        since_recovery = 0.0
        while not self._stop.is_set():
            if index == 0:
                guarded("the periodic tasks", lambda: self.run_periodic(worker))
                if since_recovery >= self.lease_seconds / 2:
                    since_recovery = 0.0
                    guarded("lease recovery", self.recover)
            try:
                if self._run_one(worker):
                    continue
            except Exception:  # a database hiccup must not kill the thread
                log.exception("worker %s could not claim a job", worker)
            self._wake.wait(self.poll_seconds)
            self._wake.clear()
            since_recovery += self.poll_seconds

    def _heartbeat(self) -> None:
        """Renew the lease of every job this process runs, well before it lapses."""
        while not self._stop.wait(self.lease_seconds / 4):
            with self._running_lock:
                running = dict(self._running)
            by_worker: dict[str, list[int]] = {}
            for job_id, worker in running.items():
                by_worker.setdefault(worker, []).append(job_id)
            try:
                with transaction(self.sessions) as session:
                    for worker, job_ids in by_worker.items():
                        queue.renew(session, worker, job_ids)
            except Exception:
                log.exception("could not renew the leases of jobs %s", sorted(running))

    def _run_one(self, worker: str) -> bool:
        with transaction(self.sessions) as session:
            job = queue.claim(session, worker)
            if job is None:
                return False
            job_id, kind, payload, attempts = job.id, job.kind, dict(job.payload), job.attempts
        with self._running_lock:
            self._running[job_id] = worker
        try:
            error = self._run(job_id, kind, payload, attempts)
        finally:
            with self._running_lock:
                self._running.pop(job_id, None)
        with transaction(self.sessions) as session:
            queue.finish(
                session,
                job_id,
                error,
                worker=worker,
                # a job given up on is not retried, whatever attempts it has left
                max_attempts=0 if attempts > self.max_attempts else self.max_attempts,
            )
        return True

    def _run(self, job_id: int, kind: str, payload: dict[str, Any], attempts: int) -> str | None:
        """Run one claimed job; returns its error, or None."""
        if attempts > self.max_attempts:
            # Earlier attempts never finished: each took its worker down with it.
            reason = (
                f"gave up after {self.max_attempts} attempts that did not finish "
                "(the worker stopped while running it each time)"
            )
            log.error("job %s (%s): %s", job_id, kind, reason)
            give_up = self.give_up.get(kind)
            if give_up is not None:
                try:
                    give_up(payload, reason)
                except Exception:
                    return f"{reason}; giving up failed too:\n{traceback.format_exc()}"
            return reason
        handler = self.handlers.get(kind)
        if handler is None:
            return f"no handler for job kind {kind!r}"
        try:
            run_patiently(handler, payload, kind=kind, patience_s=self.patience_s)
        except Exception:
            error = traceback.format_exc()
            log.error("job %s (%s) failed:\n%s", job_id, kind, error)
            return error
        return None
