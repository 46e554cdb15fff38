"""Outages are waited out inside a job's run, not counted against the job.

A handler that meets the blob store or the database down (a ServiceUnavailable, or
SQLAlchemy's OperationalError: the connection refused or cut) has done nothing wrong,
and neither has its clip. Were it simply to fail, a short outage would use up its few
attempts in seconds and leave the clip stuck halfway; so both queues run handlers through
:func:`run_patiently`, which runs the handler again (every handler is idempotent) after
a growing pause until it gets through or ``patience_s`` has passed. The worker's
heartbeat goes on meanwhile, so no other worker takes the job.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy.exc import OperationalError

from vidonate.errors import ServiceUnavailable
from vidonate.jobs.base import Handler, Payload

log = logging.getLogger(__name__)

PATIENCE_S = 300.0
FIRST_PAUSE_S = 1.0
LONGEST_PAUSE_S = 30.0
TRANSIENT = (ServiceUnavailable, OperationalError)


def run_patiently(
    handler: Handler,
    payload: Payload,
    *,
    kind: str,
    patience_s: float = PATIENCE_S,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Run ``handler(payload)``; while it raises a transient error, pause (1, 2, 4, ... up
    to 30 s) and run it again, for up to ``patience_s``; then let the error through."""
    give_up_at = clock() + patience_s
    pause = FIRST_PAUSE_S
    while True:
        try:
            handler(payload)
            return
        except TRANSIENT as exc:
            if clock() + pause > give_up_at:
                raise
            log.warning("job %s: %s; running it again in %.0f s", kind, exc, pause)
            sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE_S)
