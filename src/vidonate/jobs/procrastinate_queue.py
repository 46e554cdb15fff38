"""Jobs on Procrastinate, the PostgreSQL task engine: the back end of a deployment with
many worker processes on many machines.

* :meth:`ProcrastinateQueue.enqueue` runs Procrastinate's own defer function on the
  connection of the caller's SQLAlchemy session: the job row is part of that transaction,
  so it exists exactly when the change that needs it committed;
* :meth:`ProcrastinateQueue.start` runs Procrastinate's worker in a thread of its own (an
  asyncio loop; handlers run in threads beside it, up to ``concurrency`` at once). The
  worker renews its heartbeat in ``procrastinate_workers`` while its jobs run;
* beside it, the same loop runs the periodic tasks (:mod:`vidonate.jobs.schedule`), one
  of which gives the jobs of workers whose heartbeat lapsed (killed, machine lost) back to
  the queue. A live worker's job is never taken, however long it runs.

Attempts are counted as in the in-process back end: a handler that raises is retried
with a growing wait until ``max_attempts`` runs; a job whose runs kept killing their
worker is handed to its give-up callback instead of a further run.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import UTC, datetime
from typing import Any

import procrastinate
from procrastinate.job_context import JobContext
from sqlalchemy import bindparam, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from vidonate.jobs.base import GiveUp, Handler, JobState, Payload
from vidonate.jobs.patience import PATIENCE_S, run_patiently
from vidonate.jobs.priority import lower_this_thread
from vidonate.jobs.queue import DONE, FAILED, QUEUED, RUNNING, worker_name
from vidonate.jobs.schedule import RunsPeriodicTasks, Schedule, guarded

log = logging.getLogger(__name__)

STATUSES = {
    "todo": QUEUED,
    "doing": RUNNING,
    "succeeded": DONE,
    "failed": FAILED,
    "cancelled": FAILED,
    "aborting": RUNNING,
    "aborted": FAILED,
}
RUNNING_NOW = ("doing", "aborting")
RETRY_WAIT_SECONDS = 5
# How often the loop looks at the periodic tasks (each decides whether it is due).
TICK_SECONDS = 1.0


class GaveUp(Exception):
    """A job whose earlier runs never finished: handed to its give-up callback instead."""


def conninfo(database_url: str) -> str:
    """The libpq connection string of a SQLAlchemy PostgreSQL URL."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError(
            f"Procrastinate needs PostgreSQL; the database is {url.get_backend_name()} "
            "(use inprocess:// as the queue URL there)"
        )
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class ProcrastinateQueue(RunsPeriodicTasks):
    """The :class:`~vidonate.jobs.base.JobQueue` on Procrastinate."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        database_url: str,
        *,
        concurrency: int = 1,
        poll_seconds: float = 1.0,
        lease_seconds: float = 60.0,
        max_attempts: int = 3,
        niceness: int = 0,
    ) -> None:
        self.sessions = sessions
        self.conninfo = conninfo(database_url)
        self.concurrency = max(concurrency, 1)
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self.niceness = niceness  # added to the worker thread's nice value (jobs.priority)
        self.patience_s = PATIENCE_S  # how long a run waits out an outage (jobs.patience)
        self.app = procrastinate.App(connector=self._connector())
        # Jobs are deferred on the caller's (synchronous) connection; the worker's app may
        # meanwhile hold an open asynchronous pool, which cannot use it. A second app
        # with a synchronous connector, never opened, only ever sees callers' connections.
        self._deferrer = procrastinate.App(
            connector=procrastinate.SyncPsycopgConnector(conninfo=self.conninfo)
        )
        self.periodic = Schedule(sessions)
        self.periodic.add("retry_stalled_jobs", self.recover, lease_seconds / 2, True)
        self._kinds: set[str] = set()
        self._ran = 0
        self._ran_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._started = threading.Event()

    def _connector(self) -> procrastinate.PsycopgConnector:
        # A worker holds one connection to LISTEN, one for its heartbeat and one per
        # running job, at most.
        return procrastinate.PsycopgConnector(
            conninfo=self.conninfo, min_size=1, max_size=self.concurrency + 3
        )

    # -- the JobQueue interface -------------------------------------------------------

    def enqueue(
        self, session: Session, kind: str, payload: Payload, run_after: datetime | None = None
    ) -> None:
        connection = session.connection().connection.driver_connection
        options: dict[str, Any] = {"connection": connection}
        if run_after is not None:
            options["schedule_at"] = (
                run_after if run_after.tzinfo else run_after.replace(tzinfo=UTC)
            )
        self._deferrer.configure_task(kind, **options).defer(**payload)

    def register(self, kind: str, handler: Handler, *, give_up: GiveUp | None = None) -> None:
        max_attempts = self.max_attempts

        def run(context: JobContext, **payload: Any) -> None:
            job = context.job
            # Procrastinate counts earlier runs: those that raised, and those whose worker
            # died (their job given back by retry_stalled_jobs).
            if job.attempts >= max_attempts:
                reason = (
                    f"gave up after {max_attempts} attempts that did not finish "
                    "(the worker stopped while running it each time)"
                )
                log.error("job %s (%s): %s", job.id, kind, reason)
                try:
                    if give_up is not None:
                        give_up(payload, reason)
                finally:
                    self._count_run()
                # Failed, not succeeded; and no retry is left (its attempts are used up).
                raise GaveUp(reason)
            try:
                run_patiently(handler, payload, kind=kind, patience_s=self.patience_s)
            finally:
                self._count_run()

        # Procrastinate retries while its earlier attempts are fewer than max_attempts:
        # `runs - 1` of them; 0 would mean "for ever".
        retry: procrastinate.RetryStrategy | bool = (
            procrastinate.RetryStrategy(
                max_attempts=max_attempts - 1,
                wait=RETRY_WAIT_SECONDS,
                linear_wait=RETRY_WAIT_SECONDS,
            )
            if max_attempts > 1
            else False
        )
        self.app.task(name=kind, pass_context=True, retry=retry)(run)
        self._kinds.add(kind)

    def kinds(self) -> set[str]:
        return set(self._kinds)

    def wake(self) -> None:
        """Nothing to do: the job's INSERT notifies listening workers (LISTEN/NOTIFY)."""

    def run_pending(self) -> int:
        """Run every runnable job now, in this thread (tests, ``vidonate process``)."""
        with self._ran_lock:
            before = self._ran
        # An app of its own: the background worker, if any, owns the main app's pool.
        app = self.app.with_connector(self._connector())
        app.run_worker(
            wait=False,
            concurrency=1,
            install_signal_handlers=False,
            listen_notify=False,
            name=worker_name(),
        )
        with self._ran_lock:
            return self._ran - before

    def list_jobs(self, session: Session, kind: str | None = None) -> list[JobState]:
        query = text(
            "SELECT id, task_name, args, status, attempts FROM procrastinate_jobs"
            " WHERE CAST(:kind AS varchar) IS NULL OR task_name = :kind ORDER BY id"
        ).bindparams(bindparam("kind", kind))
        return [
            # Procrastinate counts the runs ended; a running job has one more started (the
            # count the in-process queue keeps).
            JobState(id, kind, dict(args), STATUSES[status], attempts + (status in RUNNING_NOW))
            for id, kind, args, status, attempts in session.execute(query)
        ]

    def start(self) -> None:
        self._started.clear()
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._main()), name="vidonate-procrastinate", daemon=True
        )
        self._thread.start()
        self._started.wait(30)

    def stop(self, timeout: float = 30.0) -> None:
        loop, stopping, thread = self._loop, self._stopping, self._thread
        if thread is None:
            return
        if loop is not None and stopping is not None:
            loop.call_soon_threadsafe(stopping.set)
        thread.join(timeout)
        self._thread = None

    # -- the worker ---------------------------------------------------------------------

    def recover(self) -> int:
        """Give back to the queue the jobs of workers whose heartbeat lapsed; how many."""
        loop = self._loop
        if loop is not None:  # called by the periodic tasks, beside the running worker
            return asyncio.run_coroutine_threadsafe(self._retry_stalled(self.app), loop).result()
        return asyncio.run(self._retry_stalled_now())

    async def _retry_stalled_now(self) -> int:
        app = self.app.with_connector(self._connector())
        async with app.open_async():
            return await self._retry_stalled(app)

    async def _retry_stalled(self, app: procrastinate.App) -> int:
        manager = app.job_manager
        stalled = list(await manager.get_stalled_jobs(seconds_since_heartbeat=self.lease_seconds))
        for job in stalled:
            log.warning("job %s (%s): its worker stopped; running it again", job.id, job.task_name)
            await manager.retry_job(job)
        return len(stalled)

    async def _main(self) -> None:
        # The job threads Procrastinate's loop starts inherit this thread's priority.
        lower_this_thread(self.niceness)
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        runner = worker_name()
        try:
            async with self.app.open_async():
                worker = asyncio.create_task(
                    self.app.run_worker_async(
                        concurrency=self.concurrency,
                        name=runner,
                        install_signal_handlers=False,
                        fetch_job_polling_interval=self.poll_seconds,
                        update_heartbeat_interval=self.lease_seconds / 4,
                        stalled_worker_timeout=self.lease_seconds,
                    )
                )
                periodic = asyncio.create_task(self._run_periodic_forever(runner))
                self._started.set()
                await self._stopping.wait()
                periodic.cancel()
                worker.cancel()  # Procrastinate lets the running jobs finish first
                await asyncio.gather(worker, periodic, return_exceptions=True)
        finally:
            self._started.set()
            self._loop = None

    async def _run_periodic_forever(self, runner: str) -> None:
        while True:
            # The tasks block (database, blob store): in a thread, so the worker's
            # heartbeat and job fetching go on meanwhile.
            await asyncio.to_thread(
                guarded, "the periodic tasks", lambda: self.run_periodic(runner)
            )
            await asyncio.sleep(TICK_SECONDS)

    def _count_run(self) -> None:
        with self._ran_lock:
            self._ran += 1
