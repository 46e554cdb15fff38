"""Withdrawal: a donor takes back one clip, or everything, as easily as they gave it.

In the request's transaction:

* each withdrawn clip's own key is destroyed (``donations.wrapped_key`` set to NULL) and,
  when everything is withdrawn, the donor's data key too: from the commit on, no copy of
  any withdrawn object can be decrypted, even with the master key;
* the clip becomes ``withdrawn``: it leaves the review queue, the leaderboard counts and
  every later dataset release (all of which select by status), and its content is
  destroyed as retention destroys it (:func:`~vidonate.donations.content.destroy_content`:
  key, frame hashes, and the blobs by a job), and its scene links to other accounts'
  clips are deleted (``dedupe/scenes.py``);
* an unfinished upload is cancelled;
* money already earned stays earned: the ledger is not touched;
* a ``withdrawals`` row records it for the transparency report.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from vidonate.crypto.vault import Vault
from vidonate.db.models import Donation, DonationStatus, User, Withdrawal, utcnow
from vidonate.dedupe.finder import DuplicateFinder
from vidonate.dedupe.scenes import forget_scene_links
from vidonate.donations.content import destroy_content
from vidonate.donations.service import own_donation
from vidonate.donations.states import transition
from vidonate.errors import Conflict
from vidonate.jobs.base import JobQueue
from vidonate.review.intervals import forget_intervals

REASON = "donor_withdrew"


def withdraw_clip(
    session: Session,
    vault: Vault,
    duplicates: DuplicateFinder,
    jobs: JobQueue,
    donor: User,
    donation_id: int,
) -> Withdrawal:
    """Withdraw one of ``donor``'s clips (anyone else's is "not found")."""
    donation = own_donation(session, donor, donation_id)
    if donation.status == DonationStatus.withdrawn:
        raise Conflict("already_withdrawn", f"donation {donation_id} is already withdrawn")
    withdrawal = _start(session, donor, "clip", donation.id)
    _detach(session, vault, duplicates, jobs, donation, donor.id, withdrawal)
    return _done(session, withdrawal, 1)


def withdraw_everything(
    session: Session, vault: Vault, duplicates: DuplicateFinder, jobs: JobQueue, donor: User
) -> Withdrawal:
    """Withdraw every clip of ``donor`` and destroy their data key.

    Allowed even with nothing left to withdraw: the key is destroyed all the same, and a
    later donation starts under a new one.
    """
    withdrawal = _start(session, donor, "all", None)
    donations = list(
        session.scalars(
            select(Donation)
            .where(Donation.donor_id == donor.id, Donation.status != DonationStatus.withdrawn)
            .order_by(Donation.id)
            .with_for_update()
        )
    )
    for donation in donations:
        _detach(session, vault, duplicates, jobs, donation, donor.id, withdrawal)
    vault.shred_donor(session, donor.id)
    return _done(session, withdrawal, len(donations))


def _detach(
    session: Session,
    vault: Vault,
    duplicates: DuplicateFinder,
    jobs: JobQueue,
    donation: Donation,
    actor_id: int,
    withdrawal: Withdrawal,
) -> None:
    """Make one clip unreadable and take it out of everything."""
    destroy_content(session, vault, duplicates, jobs, donation, withdrawal_id=withdrawal.id)
    # Its links to other accounts' clips of one scene go too (retention keeps them).
    forget_scene_links(session, donation.id)
    # What reviewers and models marked on it describes it: it goes too.
    forget_intervals(session, donation.id)
    donation.withdrawn_at = utcnow()
    # What the donor typed about the file is theirs too.
    donation.source_filename = ""
    transition(session, donation, DonationStatus.withdrawn, actor_id=actor_id, reason=REASON)


def _start(session: Session, donor: User, scope: str, donation_id: int | None) -> Withdrawal:
    withdrawal = Withdrawal(
        donor_id=donor.id, scope=scope, donation_id=donation_id, clips=0, requested_at=utcnow()
    )
    session.add(withdrawal)
    session.flush()
    return withdrawal


def _done(session: Session, withdrawal: Withdrawal, clips: int) -> Withdrawal:
    withdrawal.clips = clips
    withdrawal.unreadable_at = utcnow()
    session.flush()
    return withdrawal
