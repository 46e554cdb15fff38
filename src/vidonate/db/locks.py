"""Deployment-wide locks held for the rest of a write transaction.

Some checks must not run at the same moment in two processes: the near-duplicate check
reads every signature stored so far, then stores its own; two workers doing that at once
would each miss the other's copy. :func:`hold_until_commit` makes such sections take
turns across every process on the database:

* PostgreSQL: a transaction-scoped advisory lock (``pg_advisory_xact_lock``), released
  by the commit or rollback, so a crash cannot leave it held;
* SQLite: nothing to take. A write transaction begins IMMEDIATE (``db/engine.py``) and
  so already holds the database's one write lock until it ends.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import text
from sqlalchemy.orm import Session


def lock_id(name: str) -> int:
    """A stable signed 64-bit id for ``name`` (advisory locks are numbered)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def hold_until_commit(session: Session, name: str) -> None:
    """Wait for, then hold, the lock ``name`` until this session's transaction ends."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id(name)})
