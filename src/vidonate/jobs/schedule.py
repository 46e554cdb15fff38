"""Periodic tasks: once per deployment, or in every process.

Housekeeping (expiring uploads, retention, sweeping the blob store) must run once per
interval however many workers a deployment runs: each worker would otherwise repeat it,
and two at once would race each other. Such a task has a row in ``scheduled_tasks``;
a worker whose turn it thinks it is moves the row's ``next_run_at`` forward with a
conditional UPDATE, and only the one whose UPDATE matched runs the task. Should that worker
die mid-task, the next turn comes ``every`` later, from whichever worker is alive.

A task that concerns the process itself (sweeping the scratch space of its own host) runs
in every process instead (``once_per_deployment=False``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import CursorResult, update
from sqlalchemy.orm import Session, sessionmaker

from vidonate.db.engine import transaction
from vidonate.db.models import ScheduledTask, utcnow
from vidonate.db.upsert import insert_unless_present

log = logging.getLogger(__name__)


def claim_turn(
    session: Session, name: str, every: timedelta, runner: str, now: datetime | None = None
) -> bool:
    """Whether ``runner`` has the turn of task ``name`` now; if so, the next turn is
    ``every`` from now. At most one caller per turn gets True, across processes."""
    now = now or utcnow()
    insert_unless_present(session, ScheduledTask, {"name": name, "next_run_at": now}, ["name"])
    result = session.execute(
        update(ScheduledTask)
        .where(ScheduledTask.name == name, ScheduledTask.next_run_at <= now)
        .values(next_run_at=now + every, last_run_at=now, last_run_by=runner)
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


@dataclass
class Periodic:
    """One periodic task and when this process next looks at it."""

    name: str
    task: Callable[[], object]
    every_s: float
    once_per_deployment: bool = True
    _next_look: float = field(default=float("-inf"))  # monotonic time; -inf: at start

    def look_every_s(self) -> float:
        # A task shared by the deployment is looked at more often than it runs, so that
        # the turn passes quickly to a live worker when the last runner died.
        return min(self.every_s, 5.0) if self.once_per_deployment else self.every_s

    def time_to_look(self, now: float) -> bool:
        """Whether this process looks at the task at ``now`` (then not again for
        :meth:`look_every_s`)."""
        if now < self._next_look:
            return False
        self._next_look = now + self.look_every_s()
        return True


@dataclass
class Schedule:
    """The periodic tasks of one process, whichever job queue runs them: its loop calls
    :meth:`run_due` every second or so."""

    sessions: sessionmaker[Session]
    tasks: list[Periodic] = field(default_factory=list)

    def add(
        self, name: str, task: Callable[[], object], every_s: float, once_per_deployment: bool
    ) -> None:
        self.tasks.append(Periodic(name, task, every_s, once_per_deployment))

    def run_due(self, runner: str, now: float | None = None) -> list[str]:
        """Run the tasks whose turn it is; the names of those that ran. A failing task is
        logged and tried again next turn."""
        now = time.monotonic() if now is None else now
        ran = []
        for periodic in self.tasks:
            if not periodic.time_to_look(now):
                continue
            if periodic.once_per_deployment:
                every = timedelta(seconds=periodic.every_s)
                with transaction(self.sessions) as session:
                    if not claim_turn(session, periodic.name, every, runner):
                        continue
            guarded(periodic.name, periodic.task)
            ran.append(periodic.name)
        return ran


class RunsPeriodicTasks:
    """The periodic half of a job queue, the same whichever back end runs the jobs: its
    loop calls ``run_periodic`` every second or so."""

    periodic: Schedule

    def schedule(
        self,
        name: str,
        task: Callable[[], object],
        every_s: float,
        *,
        once_per_deployment: bool = True,
    ) -> None:
        """Run `task` at start and every ``every_s`` seconds: by one worker of the whole
        deployment, or with ``once_per_deployment=False`` by every process."""
        self.periodic.add(name, task, every_s, once_per_deployment)

    def run_periodic(self, runner: str, now: float | None = None) -> list[str]:
        """Run the periodic tasks whose turn it is; the names of those that ran."""
        return self.periodic.run_due(runner, now)


def guarded(what: str, task: Callable[[], object]) -> None:
    """Run `task`; log what it raises. For loops that must outlive one failing turn."""
    try:
        task()
    except Exception:  # logged; the loop goes on and tries again next turn
        log.exception("%s failed", what)
