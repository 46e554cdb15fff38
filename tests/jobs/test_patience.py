"""A job that meets an outage waits it out in its run, instead of failing its attempts
away in seconds; a real error is not retried here (the queue's attempts handle it)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from vidonate.errors import ServiceUnavailable
from vidonate.jobs.patience import run_patiently


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.pauses: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds


def _down_for(runs: int, error: Exception) -> tuple[list[int], Any]:
    calls: list[int] = []

    def handler(payload: dict[str, Any]) -> None:
        calls.append(1)
        if len(calls) <= runs:
            raise error

    return calls, handler


@pytest.mark.parametrize(
    "error",
    [
        ServiceUnavailable("storage_unavailable", "the blob store did not answer"),
        OperationalError("SELECT 1", {}, Exception("connection refused")),
    ],
)
def test_an_outage_is_waited_out_with_growing_pauses(error: Exception) -> None:
    clock = Clock()
    calls, handler = _down_for(5, error)
    run_patiently(handler, {}, kind="k", sleep=clock.sleep, clock=lambda: clock.now)
    assert len(calls) == 6
    assert clock.pauses == [1, 2, 4, 8, 16]


def test_a_longer_outage_than_the_patience_lets_the_error_through() -> None:
    clock = Clock()
    _, handler = _down_for(1000, ServiceUnavailable("storage_unavailable", "down"))
    with pytest.raises(ServiceUnavailable):
        run_patiently(
            handler, {}, kind="k", patience_s=100, sleep=clock.sleep, clock=lambda: clock.now
        )
    assert clock.now <= 100 and sum(clock.pauses) == clock.now
    assert max(clock.pauses) == 30, "pauses grow to 30 s, no further"


def test_a_real_error_goes_straight_to_the_queue() -> None:
    clock = Clock()
    calls, handler = _down_for(1, ValueError("a bug"))
    with pytest.raises(ValueError):
        run_patiently(handler, {}, kind="k", sleep=clock.sleep, clock=lambda: clock.now)
    assert (len(calls), clock.pauses) == (1, [])
