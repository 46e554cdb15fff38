"""Pick the job queue's back end from the settings: the one place that knows them all."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from vidonate.config import Settings
from vidonate.jobs.base import JobQueue
from vidonate.jobs.worker import Worker


def queue_kind(queue_url: str, database_url: str) -> str:
    """``inprocess`` or ``procrastinate``. An empty URL means the database's default:
    Procrastinate on PostgreSQL, the in-process queue on SQLite. A PostgreSQL URL selects
    Procrastinate on that database, which must be the application's own (a job is written
    in the transaction of the change that needs it)."""
    database = make_url(database_url)
    if not queue_url:
        return "procrastinate" if database.get_backend_name() == "postgresql" else "inprocess"
    scheme = queue_url.split(":", 1)[0]
    if scheme in ("inprocess", "procrastinate"):
        return scheme
    if scheme.startswith("postgresql"):
        queue = make_url(queue_url)
        same = (queue.host, queue.port, queue.database) == (
            database.host,
            database.port,
            database.database,
        )
        if not same:
            raise ValueError(
                f"the queue's database ({queue.render_as_string()}) must be the application's "
                f"own ({database.render_as_string()}): jobs are written in its transactions"
            )
        return "procrastinate"
    raise ValueError(
        f"unsupported queue URL {queue_url!r}: use inprocess://, procrastinate:// or the "
        "application's PostgreSQL URL"
    )


def open_queue(settings: Settings, sessions: sessionmaker[Session]) -> JobQueue:
    kind = queue_kind(settings.queue_url, settings.database_url)
    if kind == "procrastinate":
        # Imported here: the embedded default never loads Procrastinate and its pool.
        from vidonate.jobs.procrastinate_queue import ProcrastinateQueue

        return ProcrastinateQueue(
            sessions,
            settings.database_url,
            concurrency=settings.worker_threads,
            poll_seconds=settings.job_poll_seconds,
            lease_seconds=settings.job_lease_seconds,
            max_attempts=settings.job_max_attempts,
            niceness=settings.job_nice,
        )
    return Worker(
        sessions=sessions,
        threads=max(settings.worker_threads, 1),
        poll_seconds=settings.job_poll_seconds,
        lease_seconds=settings.job_lease_seconds,
        max_attempts=settings.job_max_attempts,
        niceness=settings.job_nice,
    )
