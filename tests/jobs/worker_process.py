"""A worker process as a deployment runs one: the runtime from the environment's settings,
its start-up (sweeps, recovery) and its worker threads, until it is killed.

Run as ``python worker_process.py``; prints ``ready`` once the worker runs.
"""

from __future__ import annotations

import signal
import sys
import threading

from vidonate.config import Settings
from vidonate.runtime import Runtime


def main() -> None:
    runtime = Runtime.from_settings(Settings())
    runtime.start()
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    runtime.close()


if __name__ == "__main__":
    sys.exit(main())
