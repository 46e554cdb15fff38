"""In-process workers: threads that claim jobs from the database and run their handlers."""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from vidonate.db.engine import transaction
from vidonate.jobs import queue

log = logging.getLogger(__name__)
Handler = Callable[[dict[str, Any]], None]


@dataclass
class Worker:
    """Runs jobs in threads until ``stop``. A failing job never stops the worker."""

    sessions: sessionmaker[Session]
    handlers: dict[str, Handler]
    housekeeping: Callable[[], None] | None = None
    threads: int = 1
    poll_seconds: float = 1.0
    housekeeping_seconds: float = 60.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _wake: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        with transaction(self.sessions) as session:
            recovered = queue.recover(session)
        if recovered:
            log.info("requeued %d jobs left running by an earlier process", recovered)
        for index in range(self.threads):
            thread = threading.Thread(
                target=self._loop, args=(index,), name=f"vidonate-worker-{index}", daemon=True
            )
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

    def _loop(self, index: int) -> None:
        worker = queue.worker_name(index)
        elapsed = self.housekeeping_seconds  # run housekeeping once at start
        while not self._stop.is_set():
            if index == 0 and self.housekeeping and elapsed >= self.housekeeping_seconds:
                elapsed = 0.0
                self._guarded(self.housekeeping)
            try:
                if self._run_one(worker):
                    continue
            except Exception:  # a database hiccup must not kill the thread
                log.exception("worker %s could not claim a job", worker)
            self._wake.wait(self.poll_seconds)
            self._wake.clear()
            elapsed += self.poll_seconds

    def _run_one(self, worker: str) -> bool:
        with transaction(self.sessions) as session:
            job = queue.claim(session, worker)
            if job is None:
                return False
            job_id, kind, payload = job.id, job.kind, dict(job.payload)
        error = None
        handler = self.handlers.get(kind)
        if handler is None:
            error = f"no handler for job kind {kind!r}"
        else:
            try:
                handler(payload)
            except Exception:
                error = traceback.format_exc()
                log.error("job %s (%s) failed:\n%s", job_id, kind, error)
        with transaction(self.sessions) as session:
            queue.finish(session, job_id, error)
        return True

    @staticmethod
    def _guarded(task: Callable[[], None]) -> None:
        try:
            task()
        except Exception:
            log.exception("housekeeping failed")
