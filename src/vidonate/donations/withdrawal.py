"""Withdrawal: a donor takes back one clip, or everything, as easily as they gave it.

In the request's transaction:

* each withdrawn clip's own key is destroyed (``donations.wrapped_key`` set to NULL) and,
  when everything is withdrawn, the donor's data key too: from the commit on, no copy of
  any withdrawn object can be decrypted, even with the master key;
* the clip becomes ``withdrawn``: it leaves the review queue, the leaderboard counts and
  every later dataset release (all of which select by status), and its frame hashes are
  deleted;
* an unfinished upload is cancelled;
* money already earned stays earned: the ledger is not touched;
* a ``withdrawals`` row records it for the transparency report.

The ciphertext left in the store is then deleted by a background job.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from vidonate.db.models import Donation, DonationStatus, Upload, User, Withdrawal, utcnow
from vidonate.donations.service import own_donation
from vidonate.donations.states import transition
from vidonate.errors import Conflict
from vidonate.jobs import queue

if TYPE_CHECKING:
    from vidonate.runtime import Runtime

DELETE_BLOBS_JOB = "delete_withdrawn_blobs"
REASON = "donor_withdrew"


def withdraw_clip(rt: Runtime, session: Session, donor: User, donation_id: int) -> Withdrawal:
    """Withdraw one of ``donor``'s clips (anyone else's is "not found")."""
    donation = own_donation(session, donor, donation_id)
    if donation.status == DonationStatus.withdrawn:
        raise Conflict("already_withdrawn", f"donation {donation_id} is already withdrawn")
    requested_at = utcnow()
    prefixes = _detach(rt, session, donation, donor.id)
    return _record(session, donor, "clip", [donation], prefixes, requested_at)


def withdraw_everything(rt: Runtime, session: Session, donor: User) -> Withdrawal:
    """Withdraw every clip of ``donor`` and destroy their data key.

    Allowed even with nothing left to withdraw: the key is destroyed all the same, and a
    later donation starts under a new one.
    """
    requested_at = utcnow()
    donations = list(
        session.scalars(
            select(Donation)
            .where(Donation.donor_id == donor.id, Donation.status != DonationStatus.withdrawn)
            .order_by(Donation.id)
            .with_for_update()
        )
    )
    prefixes: list[str] = []
    for donation in donations:
        prefixes += _detach(rt, session, donation, donor.id)
    rt.vault.shred_donor(session, donor.id)
    return _record(session, donor, "all", donations, prefixes, requested_at)


def _detach(rt: Runtime, session: Session, donation: Donation, actor_id: int) -> list[str]:
    """Make one clip unreadable and take it out of everything; returns its blob prefixes."""
    rt.vault.shred_clip(donation)
    donation.withdrawn_at = utcnow()
    # What the donor typed about the file is theirs too.
    donation.source_filename = ""
    transition(session, donation, DonationStatus.withdrawn, actor_id=actor_id, reason=REASON)
    rt.duplicates.forget(session, donation.id)
    prefixes = [f"clips/{donation.id}/"]
    upload = session.scalar(select(Upload).where(Upload.donation_id == donation.id))
    if upload is not None:  # an unfinished upload, or one not yet processed
        prefixes.append(f"uploads/{upload.id}/")
        session.delete(upload)
    return prefixes


def _record(
    session: Session,
    donor: User,
    scope: str,
    donations: list[Donation],
    prefixes: list[str],
    requested_at: datetime,
) -> Withdrawal:
    withdrawal = Withdrawal(
        donor_id=donor.id,
        scope=scope,
        donation_id=donations[0].id if scope == "clip" else None,
        clips=len(donations),
        requested_at=requested_at,
        unreadable_at=utcnow(),
    )
    session.add(withdrawal)
    session.flush()
    queue.enqueue(session, DELETE_BLOBS_JOB, {"withdrawal_id": withdrawal.id, "prefixes": prefixes})
    return withdrawal


def delete_withdrawn_blobs(rt: Runtime, withdrawal_id: int, prefixes: list[str]) -> int:
    """The background half: delete the ciphertext left behind; returns how many blobs."""
    from vidonate.db.engine import transaction

    deleted = 0
    for prefix in prefixes:
        for key in rt.store.keys(prefix):
            rt.store.delete(key)
            deleted += 1
    with transaction(rt.sessions) as session:
        withdrawal = session.get(Withdrawal, withdrawal_id)
        if withdrawal is not None:
            withdrawal.blobs_deleted = (withdrawal.blobs_deleted or 0) + deleted
            withdrawal.blobs_deleted_at = utcnow()
    return deleted
