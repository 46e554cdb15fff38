"""Job threads yield the CPU to requests: they run at a lower priority than the threads
that serve pages and the API, on both queues (the in-process one on SQLite, Procrastinate
on PostgreSQL), and what a job starts inherits it."""

from __future__ import annotations

import subprocess
import sys
import threading
from typing import Any

import pytest

from vidonate.db.engine import transaction
from vidonate.jobs.priority import lower_this_thread, thread_niceness
from vidonate.runtime import Runtime

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="a nice value per thread is Linux's"
)


def test_a_job_runs_niced_and_so_does_the_process_it_starts(rt: Runtime) -> None:
    before = thread_niceness()
    seen: dict[str, Any] = {}
    done = threading.Event()

    def job(payload: dict[str, Any]) -> None:
        seen["thread"] = thread_niceness()
        child = subprocess.run(["cat", "/proc/self/stat"], capture_output=True, text=True)
        seen["child"] = int(child.stdout.rsplit(")", 1)[1].split()[16])  # field 19: nice
        done.set()

    rt.jobs.niceness = 5
    rt.jobs.register("probe", job)
    rt.jobs.start()
    try:
        with transaction(rt.sessions) as s:
            rt.jobs.enqueue(s, "probe", {})
        rt.jobs.wake()
        assert done.wait(30), "the job ran"
    finally:
        rt.jobs.stop()
    assert seen == {"thread": min(19, before + 5), "child": min(19, before + 5)}
    assert thread_niceness() == before, "the thread that started the queue is not lowered"


def test_lowering_is_capped_at_19_and_zero_changes_nothing() -> None:
    result: list[int] = []

    def lower() -> None:
        lower_this_thread(0)
        result.append(thread_niceness())
        lower_this_thread(25)
        result.append(thread_niceness())

    before = thread_niceness()
    thread = threading.Thread(target=lower)
    thread.start()
    thread.join()
    assert result == [before, 19]
    assert thread_niceness() == before
