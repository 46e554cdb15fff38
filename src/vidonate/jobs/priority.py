"""Background work yields the CPU to requests: job threads run at a lower priority.

On a small machine one server runs pages, the API, uploads and jobs side by side; a clip's
decryption, redaction hand-off and encryption would otherwise take CPU time from a page
read as much as the read itself takes. Linux keeps a nice value per thread (setpriority on
a thread id), and threads and processes inherit it from the thread that creates them, so a
job thread lowered at its start lowers the pools and media children it starts too. An
unprivileged process can lower a priority but never raise it again: only threads that do
nothing but jobs are lowered, never a request thread.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

log = logging.getLogger(__name__)


def lower_this_thread(niceness: int) -> None:
    """Add ``niceness`` (0 to 19, as nice(1)) to the calling thread's nice value, capped at
    19; a no-op off Linux, where a nice value belongs to the whole process."""
    if niceness <= 0 or not sys.platform.startswith("linux"):
        return
    thread_id = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, thread_id)
        os.setpriority(os.PRIO_PROCESS, thread_id, min(19, current + niceness))
    except OSError as exc:  # a sandbox without setpriority: jobs run, only not lowered
        log.warning("could not lower the job thread's CPU priority: %s", exc)


def thread_niceness(thread_id: int | None = None) -> int:
    """The nice value of a thread (the calling one by default); 0 off Linux."""
    if not sys.platform.startswith("linux"):
        return 0
    return os.getpriority(os.PRIO_PROCESS, thread_id or threading.get_native_id())
