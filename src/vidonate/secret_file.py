"""Files that hold secrets (the master key, the cookie key, a saved API token).

Each is written to a temp file created with mode 0600 (``os.open`` with ``O_EXCL``, so the
umask can only remove bits and nobody else can have opened it), synced, and only then put
in place by a link or a rename. There is no moment at which the secret is readable by
others, and nobody ever sees it half written.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

PRIVATE = 0o600


def _private_temp(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE)
    try:
        os.fchmod(fd, PRIVATE)  # the umask may have removed bits; leave exactly these
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    return tmp


def create_private_file(path: Path, data: bytes) -> bool:
    """Create ``path`` holding ``data`` (mode 0600) unless it exists; True if this call did.

    The link fails if another process created the file first: that one wins, and both
    then read the same complete file (a plain ``O_EXCL`` create of ``path`` itself would let
    the loser read it half written).
    """
    tmp = _private_temp(path, data)
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)


def replace_private_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (mode 0600), replacing what was there in one rename."""
    tmp = _private_temp(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
