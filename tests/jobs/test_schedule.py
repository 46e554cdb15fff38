"""Periodic tasks: housekeeping runs once per deployment, however many workers run."""

from __future__ import annotations

import threading
from datetime import timedelta

from vidonate.db.engine import transaction
from vidonate.db.models import ScheduledTask, utcnow
from vidonate.jobs.schedule import claim_turn
from vidonate.jobs.worker import Worker
from vidonate.runtime import Runtime

MINUTE = timedelta(minutes=1)


def test_a_turn_goes_to_one_runner_until_the_next_is_due(rt: Runtime) -> None:
    now = utcnow()
    with transaction(rt.sessions) as s:
        assert claim_turn(s, "housekeeping", MINUTE, "a", now)
    with transaction(rt.sessions) as s:
        assert not claim_turn(s, "housekeeping", MINUTE, "b", now + timedelta(seconds=59))
        assert not claim_turn(s, "housekeeping", MINUTE, "a", now + timedelta(seconds=59))
    with transaction(rt.sessions) as s:
        assert claim_turn(s, "housekeeping", MINUTE, "b", now + MINUTE)
        row = s.get_one(ScheduledTask, "housekeeping")
        assert row.last_run_by == "b" and row.next_run_at == now + 2 * MINUTE


def test_racing_claims_give_the_turn_to_exactly_one(rt: Runtime) -> None:
    """Eight workers whose clocks say it is time, at once: one runs it (both databases)."""
    now, start = utcnow(), threading.Barrier(8)
    won: list[str] = []

    def claim(name: str) -> None:
        start.wait()
        with transaction(rt.sessions) as s:
            if claim_turn(s, "housekeeping", MINUTE, name, now):
                won.append(name)

    threads = [threading.Thread(target=claim, args=(f"w{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1


def test_two_workers_share_housekeeping_but_each_sweeps_its_own_host(rt: Runtime) -> None:
    """Two worker processes (two Worker objects on one database): the shared task runs
    once per turn in the deployment, the per-process one in each."""
    runs: list[str] = []
    workers = []
    for name in ("first", "second"):
        worker = Worker(sessions=rt.sessions)
        worker.schedule("housekeeping", lambda n=name: runs.append(f"shared by {n}"), 60)
        worker.schedule(
            "scratch_sweep",
            lambda n=name: runs.append(f"own by {n}"),
            60,
            once_per_deployment=False,
        )
        workers.append(worker)
    assert workers[0].run_periodic("first", now=0.0) == ["housekeeping", "scratch_sweep"]
    assert workers[1].run_periodic("second", now=0.0) == ["scratch_sweep"]
    assert runs == ["shared by first", "own by first", "own by second"]
    # Within its minute neither worker runs either task again.
    assert workers[0].run_periodic("first", now=30.0) == []
    assert workers[1].run_periodic("second", now=30.0) == []


def test_a_failing_periodic_task_does_not_stop_the_others(rt: Runtime) -> None:
    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("the blob store is down")

    worker = Worker(sessions=rt.sessions)
    worker.schedule("broken", broken, 60)
    worker.schedule("after", lambda: ran.append("after"), 60)
    assert worker.run_periodic("w", now=0.0) == ["broken", "after"]
    assert ran == ["after"]
