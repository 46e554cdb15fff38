"""The job-queue interface: what domain code and the wiring may rely on, whatever runs jobs.

* :meth:`JobQueue.enqueue` writes the job in the caller's transaction: it runs only if
  that transaction commits, and it is not lost if the process dies right after;
* handlers are registered by name (:meth:`JobQueue.register`) by the wiring, so a
  separate worker process registers the same names and runs the same jobs;
* periodic work (housekeeping) is registered with :meth:`JobQueue.schedule`.

The first back end is :class:`vidonate.jobs.worker.Worker`: the ``jobs`` table, claimed by
threads of whichever processes run it (the server, or a process of its own).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

Payload = dict[str, Any]
# A handler's return value is ignored (object, so one that returns a count still fits).
Handler = Callable[[Payload], object]
# Called instead of the handler once a job has used up its attempts, with the reason.
GiveUp = Callable[[Payload, str], None]


class JobQueue(Protocol):
    def enqueue(
        self, session: Session, kind: str, payload: Payload, run_after: datetime | None = None
    ) -> None:
        """Add a job in `session`'s transaction; it runs after that commits."""
        ...

    def register(self, kind: str, handler: Handler, *, give_up: GiveUp | None = None) -> None:
        """Run `handler` for jobs of `kind`; `give_up` when one has used up its attempts."""
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

    def start(self) -> None: ...
    def stop(self, timeout: float = 30.0) -> None: ...
