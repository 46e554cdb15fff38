"""The access log: append-only and hash-chained.

Every entry's hash covers its own fields and the previous entry's hash, so changing,
deleting or reordering any entry breaks the chain at that point, which `verify` finds.
Removing the newest entries leaves a shorter chain that still verifies: to catch that,
compare the head hash that `verify` prints with one published earlier.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from vidonate.db.models import AuditEntry, utcnow

GENESIS = "0" * 64
PURPOSES = ("review", "owner", "admin", "export", "training", "processing", "fulfilment")
_PG_LOCK = 0x766964_6F6E  # any fixed number: the advisory lock that orders appends


def _digest(prev_hash: str, entry: AuditEntry) -> str:
    fields = {
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "actor_id": entry.actor_id,
        "action": entry.action,
        "purpose": entry.purpose,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
    }
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()


def record(
    session: Session,
    *,
    actor_id: int | None,
    action: str,
    purpose: str,
    object_type: str,
    object_id: str | int,
) -> AuditEntry:
    """Append one entry in the caller's transaction."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown audit purpose {purpose!r}")
    if session.get_bind().dialect.name == "postgresql":
        # Appends must take turns, or two would chain onto the same predecessor.
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
    last = session.execute(
        select(AuditEntry.seq, AuditEntry.entry_hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    entry = AuditEntry(
        seq=seq,
        at=utcnow(),
        actor_id=actor_id,
        action=action,
        purpose=purpose,
        object_type=object_type,
        object_id=str(object_id),
        prev_hash=prev,
    )
    entry.entry_hash = _digest(prev, entry)
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class Verification:
    entries: int
    head: str
    first_bad_seq: int | None
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify(session: Session) -> Verification:
    """Walk the chain in sequence order and recompute every hash."""
    prev, expected_seq, count = GENESIS, 1, 0
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.seq)):
        count += 1
        if entry.seq != expected_seq:
            return Verification(count, prev, entry.seq, f"entry {expected_seq} is missing")
        if entry.prev_hash != prev:
            return Verification(count, prev, entry.seq, "the chain breaks before this entry")
        if _digest(prev, entry) != entry.entry_hash:
            return Verification(count, prev, entry.seq, "this entry was changed")
        prev, expected_seq = entry.entry_hash, expected_seq + 1
    return Verification(count, prev, None, None)


def reads_by_purpose(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(AuditEntry.purpose, func.count(AuditEntry.id)).group_by(AuditEntry.purpose)
    ).all()
    return {purpose: int(n) for purpose, n in rows}
