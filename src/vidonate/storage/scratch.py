"""Scratch space: the one place on local disk where plaintext work files may live.

Processing decrypts an upload to a file the decoder can seek in, and the decoder writes
the redacted clip beside it. Should the process die (kill -9, OOM, power), those files
must not outlive it: they are beyond the reach of withdrawal and retention. So they never
go to the system's temp dir but under ``<var_dir>/scratch/``:

* each process that works with plaintext holds one directory there, named after itself,
  and an exclusive ``flock`` on its ``.lock`` file beside it for as long as it lives; the
  kernel drops the lock when the process dies, however it dies;
* every job gets a fresh directory inside its process's directory, removed when it ends;
* :meth:`ScratchSpace.sweep` (at start-up and by housekeeping) removes every directory
  whose lock nobody holds: the remains of dead processes, on this host or any other that
  shares the var dir's disk.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

_LOCK = ".lock"


class ScratchSpace:
    """This process's registered scratch directory under `root` (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).absolute()
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}"
        self._lock_fd = _hold(self.root / f"{name}{_LOCK}")
        self.own = self.root / name
        self.own.mkdir(mode=0o700)

    @contextlib.contextmanager
    def job_dir(self, prefix: str) -> Iterator[Path]:
        """A private directory for one job, removed with everything in it when it ends."""
        path = self.own / f"{prefix}-{secrets.token_hex(6)}"
        path.mkdir(mode=0o700)
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)

    def sweep(self) -> int:
        """Remove the scratch directories of processes that are gone; returns how many."""
        removed = 0
        for entry in sorted(self.root.iterdir()):
            if entry.name.endswith(_LOCK) or entry == self.own:
                continue
            lock = self.root / f"{entry.name}{_LOCK}"
            fd = _try_lock(lock)
            if fd is None:  # its owner lives
                continue
            try:
                shutil.rmtree(entry, ignore_errors=True)
                lock.unlink(missing_ok=True)
                removed += 1
            finally:
                os.close(fd)
        return removed

    def close(self) -> None:
        """Remove this process's directory and give up its lock (at a clean shutdown)."""
        if self._lock_fd < 0:
            return
        shutil.rmtree(self.own, ignore_errors=True)
        (self.root / f"{self.own.name}{_LOCK}").unlink(missing_ok=True)
        os.close(self._lock_fd)
        self._lock_fd = -1


def _hold(lock: Path) -> int:
    """Create `lock` and take its lock for good; the descriptor is not inherited by
    children, so a media child cannot keep a dead worker's files alive."""
    fd = _try_lock(lock)
    if fd is None:
        raise RuntimeError(f"{lock} is locked by another process")
    return fd


def _try_lock(lock: Path) -> int | None:
    """The descriptor of `lock`, exclusively locked; None if another process holds it.

    A sweeper may unlink a lock file between our open and our flock; a lock on an
    unlinked file guards nothing, so that case counts as held by nobody and is retried.
    """
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            if os.fstat(fd).st_ino == os.stat(lock).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)
