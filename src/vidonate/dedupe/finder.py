"""Near-duplicate search over every clip vidonate holds, backed by the database.

Signatures are stored per donation (``clip_signatures``); each process keeps a
`HashIndex` of their representative hashes, loads it on first use and then only the
rows added since (so several server processes see each other's clips). Stored
signatures are encrypted under their clip's key like every other object derived from
it, so a withdrawn clip's hashes are unreadable too. Candidates
from the index are confirmed against the stored signature with `is_near_duplicate`,
and only clips that are accepted or still pending count: re-submitting a rejected or
withdrawn clip is not a duplicate.
"""

from __future__ import annotations

import dataclasses
import io
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from vidonate.db.locks import hold_until_commit
from vidonate.db.models import ClipSignature, Donation, DonationStatus
from vidonate.dedupe.index import HashIndex
from vidonate.dedupe.phash import VideoSignature, is_near_duplicate, match_score

if TYPE_CHECKING:
    from vidonate.crypto.vault import Vault

COUNTING = (
    DonationStatus.received,
    DonationStatus.processing,
    DonationStatus.in_review,
    DonationStatus.accepted,
)
_MAX_CANDIDATES = 20
_SEAL_PURPOSE = "clip_signatures.hashes"
DEDUPE_LOCK = "vidonate.dedupe"


def to_bytes(signature: VideoSignature) -> bytes:
    buffer = io.BytesIO()
    arrays = {f.name: getattr(signature, f.name) for f in dataclasses.fields(signature)}
    # Any values: typed as arrays, mypy would match them against savez's allow_pickle too.
    columns: dict[str, Any] = {k: np.asarray(v) for k, v in arrays.items()}
    np.savez_compressed(buffer, **columns)
    return buffer.getvalue()


def from_bytes(blob: bytes) -> VideoSignature:
    with np.load(io.BytesIO(blob), allow_pickle=False) as data:
        values = {f.name: data[f.name] for f in dataclasses.fields(VideoSignature)}
    values["cutoff_s"] = float(values["cutoff_s"])
    return VideoSignature(**values)


@dataclass(frozen=True)
class Duplicate:
    donation_id: int
    score: float


class DuplicateFinder:
    """Thread-safe: the worker threads of one process share one index."""

    def __init__(self, vault: Vault) -> None:
        self._vault = vault
        self._index = HashIndex()
        self._loaded_up_to = 0
        self._lock = threading.Lock()

    def _refresh(self, session: Session) -> None:
        rows = session.execute(
            select(ClipSignature.id, ClipSignature.donation_id, ClipSignature.hashes)
            .where(ClipSignature.id > self._loaded_up_to)
            .order_by(ClipSignature.id)
        ).all()
        for row_id, donation_id, blob in rows:
            signature = self._open(session, donation_id, blob)
            if signature is not None:
                self._index.add(donation_id, signature.representative())
            self._loaded_up_to = row_id

    def _open(self, session: Session, donation_id: int, blob: bytes) -> VideoSignature | None:
        """The stored signature, or None when its clip was withdrawn (its key destroyed)."""
        from vidonate.crypto.vault import ContentShredded

        donation = session.get(Donation, donation_id)
        if donation is None:
            return None
        try:
            key = self._vault.clip_key(session, donation)
        except ContentShredded:
            return None
        return from_bytes(self._vault.open(key, _SEAL_PURPOSE, blob))

    def find(
        self, session: Session, donation_id: int, signature: VideoSignature
    ) -> Duplicate | None:
        r"""The accepted or pending clip (other than this one) that `signature` copies.

        Call it in the write transaction that then :meth:`record`\ s the signature: it
        takes the deployment-wide dedupe lock until that transaction commits, so two
        workers checking two copies of one clip at once take turns, and the second sees
        the first's signature (``db/locks.py``)."""
        hits = self.candidates(session, signature)
        ranked = sorted((n, clip) for clip, n in hits.items() if clip != donation_id)
        for _count, clip in reversed(ranked[-_MAX_CANDIDATES:]):
            other = session.get(Donation, clip)
            if other is None or other.status not in COUNTING:
                continue
            stored = self.stored_signature(session, clip)
            if stored is None:
                continue
            if is_near_duplicate(signature, stored):
                return Duplicate(clip, match_score(signature, stored))
        return None

    def candidates(self, session: Session, signature: VideoSignature) -> dict[int, int]:
        """Clip id -> how many of `signature`'s frames have a hash of that clip in range,
        for every clip in the index (whatever its status): what to confirm.

        Takes the dedupe lock until the transaction ends, as :meth:`find` does."""
        if len(signature) == 0:
            return {}
        hold_until_commit(session, DEDUPE_LOCK)
        with self._lock:
            self._refresh(session)
            return self._index.query(signature.query_hashes())

    def stored_signature(self, session: Session, donation_id: int) -> VideoSignature | None:
        """The clip's stored signature; None when it has none or it was withdrawn."""
        blob = session.scalar(
            select(ClipSignature.hashes).where(ClipSignature.donation_id == donation_id)
        )
        return None if blob is None else self._open(session, donation_id, blob)

    def record(self, session: Session, donation: Donation, signature: VideoSignature) -> None:
        key = self._vault.clip_key(session, donation)
        sealed = self._vault.seal(key, _SEAL_PURPOSE, to_bytes(signature))
        session.add(ClipSignature(donation_id=donation.id, hashes=sealed))
        session.flush()

    def forget(self, session: Session, donation_id: int) -> None:
        """Drop a withdrawn clip's signature, stored and in this process's index."""
        session.execute(delete(ClipSignature).where(ClipSignature.donation_id == donation_id))
        with self._lock:
            self._index.remove(donation_id)
