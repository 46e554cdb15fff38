"""The transparency report, kept for a few seconds between computations.

The report is public and the same for everyone, and it is the costliest read the site
serves (a dozen aggregates over the record tables). Anyone may ask for it as often as they
like, so each server process keeps the last one per campaign for ``max_age_s`` seconds and
serves that; its ``computed_at`` says how old it is, and the web layer sends the same age
as ``Cache-Control``. ``max_age_s=0`` computes it on every request.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from vidonate.db.engine import read_transaction
from vidonate.privacy.transparency import TransparencyReport, build_report

# Enough for every campaign a deployment runs; past it the least recently asked go.
MAX_KEPT = 256


class ReportCache:
    """Reports by campaign (``None``: all campaigns), each kept ``max_age_s`` seconds.
    Safe to share between threads; an unknown campaign is refused every time, never kept."""

    def __init__(self, max_age_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age_s = max_age_s
        self._clock = clock
        self._lock = threading.Lock()
        self._kept: OrderedDict[str | None, tuple[float, TransparencyReport]] = OrderedDict()

    def report(self, sessions: sessionmaker[Session], campaign: str | None) -> TransparencyReport:
        now = self._clock()
        with self._lock:
            kept = self._kept.get(campaign)
            if kept is not None and now - kept[0] < self.max_age_s:
                self._kept.move_to_end(campaign)
                return kept[1]
        # Computed outside the lock: two requests that miss at once both compute, and
        # neither waits for the other.
        with read_transaction(sessions) as session:
            fresh = build_report(session, campaign)
        if self.max_age_s > 0:
            with self._lock:
                self._kept[campaign] = (now, fresh)
                self._kept.move_to_end(campaign)
                while len(self._kept) > MAX_KEPT:
                    self._kept.popitem(last=False)
        return fresh

    def cache_control(self) -> str:
        """The ``Cache-Control`` header for a report from this cache."""
        if self.max_age_s <= 0:
            return "no-cache"
        return f"public, max-age={int(self.max_age_s)}"
