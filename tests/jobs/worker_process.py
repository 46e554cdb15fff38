"""A worker process as a deployment runs one: the runtime from the environment's settings,
its start-up (sweeps, recovery) and its worker threads, until it is killed.

Run as ``python worker_process.py``; prints ``ready`` once the worker runs. With
``WORKER_TEST_LOG`` set it also runs two job kinds made for the tests:

* ``test_hold``: appends ``start <job> <pid>`` to the log, sleeps ``payload["seconds"]``,
  appends ``done <job> <pid>``;
* ``test_crash``: appends ``crash <job> <pid>`` and kills its own process (kill -9).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from vidonate.config import Settings
from vidonate.runtime import Runtime


def _log(line: str) -> None:
    with Path(os.environ["WORKER_TEST_LOG"]).open("a") as log:
        log.write(f"{line} {os.getpid()}\n")


def hold(payload: dict[str, Any]) -> None:
    _log(f"start {payload['name']}")
    time.sleep(float(payload["seconds"]))
    _log(f"done {payload['name']}")


def crash(payload: dict[str, Any]) -> None:
    _log(f"crash {payload['name']}")
    os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    runtime = Runtime.from_settings(Settings())
    if os.environ.get("WORKER_TEST_LOG"):
        runtime.jobs.register("test_hold", hold)
        runtime.jobs.register("test_crash", crash)
    runtime.start()
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    runtime.close()


if __name__ == "__main__":
    main()
