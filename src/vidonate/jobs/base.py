"""The job-queue interface: what domain code and the wiring may rely on, whatever runs jobs.

* :meth:`JobQueue.enqueue` writes the job in the caller's transaction: it runs only if
  that transaction commits, and it is not lost if the process dies right after;
* handlers are registered by name (:meth:`JobQueue.register`) by the wiring, so a
  separate worker process registers the same names and runs the same jobs;
* periodic work (housekeeping) is registered with :meth:`JobQueue.schedule`.

Two back ends, chosen by the queue URL (:func:`vidonate.jobs.factory.open_queue`):

* :class:`vidonate.jobs.worker.Worker` (``inprocess://``, the embedded default): the
  ``jobs`` table, claimed by threads of whichever processes run it;
* :class:`vidonate.jobs.procrastinate_queue.ProcrastinateQueue` (``procrastinate://``,
  the default on PostgreSQL): Procrastinate's tables and workers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

Payload = dict[str, Any]
# A handler's return value is ignored (object, so one that returns a count still fits).
Handler = Callable[[Payload], object]
# Called instead of the handler once a job has used up its attempts, with the reason.
GiveUp = Callable[[Payload, str], None]


@dataclass(frozen=True)
class JobState:
    """One job as any back end reports it: status is queued, running, done or failed;
    attempts counts its runs started, the one running included."""

    id: int
    kind: str
    payload: Payload
    status: str
    attempts: int


class JobQueue(Protocol):
    # Added to the nice value of the threads that run jobs (jobs.priority), from start on.
    niceness: int

    def enqueue(
        self, session: Session, kind: str, payload: Payload, run_after: datetime | None = None
    ) -> None:
        """Add a job in `session`'s transaction; it runs after that commits."""
        ...

    def register(self, kind: str, handler: Handler, *, give_up: GiveUp | None = None) -> None:
        """Run `handler` for jobs of `kind`; `give_up` when one has used up its attempts."""
        ...

    def kinds(self) -> set[str]:
        """The job kinds registered."""
        ...

    def schedule(
        self,
        name: str,
        task: Callable[[], object],
        every_s: float,
        *,
        once_per_deployment: bool = True,
    ) -> None:
        """Run `task` periodically (at start, then every `every_s` seconds): by one
        worker of the deployment, or with ``once_per_deployment=False`` in every process."""
        ...

    def wake(self) -> None:
        """A commit just enqueued work: start it without waiting for the next poll."""
        ...

    def run_pending(self) -> int:
        """Run every runnable job now, in this thread; returns how many ran."""
        ...

    def run_periodic(self, runner: str, now: float | None = None) -> list[str]:
        """Run the periodic tasks whose turn it is, in this thread; the names of those
        that ran."""
        ...

    def recover(self) -> int:
        """Give back to the queue the jobs of workers that died (their lease or heartbeat
        lapsed); returns how many. Workers do it on their own; tests and operators call it."""
        ...

    def list_jobs(self, session: Session, kind: str | None = None) -> list[JobState]:
        """The jobs (of `kind`) the queue holds, oldest first: for operators and fsck."""
        ...

    def start(self) -> None: ...
    def stop(self, timeout: float = 30.0) -> None: ...
