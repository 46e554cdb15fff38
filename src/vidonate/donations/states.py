"""The donation status machine. Every transition is stored with its time and actor."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from vidonate.db.models import Campaign, Donation, DonationEvent, DonationStatus, utcnow
from vidonate.errors import Conflict

S = DonationStatus
ALLOWED: dict[str | None, frozenset[str]] = {
    None: frozenset({S.uploading}),
    S.uploading: frozenset({S.received, S.failed, S.withdrawn}),
    S.received: frozenset({S.processing, S.failed, S.withdrawn}),
    S.processing: frozenset({S.in_review, S.failed, S.withdrawn}),
    S.in_review: frozenset({S.accepted, S.rejected, S.withdrawn}),
    S.accepted: frozenset({S.withdrawn}),
    S.rejected: frozenset({S.withdrawn}),
    # A failed clip keeps no content, but its donor may still want its record withdrawn.
    S.failed: frozenset({S.withdrawn}),
    S.withdrawn: frozenset(),
}
TERMINAL = frozenset({S.withdrawn})


def transition(
    session: Session,
    donation: Donation,
    to: DonationStatus,
    *,
    actor_id: int | None = None,
    reason: str | None = None,
) -> None:
    current = donation.status or None
    if to not in ALLOWED[current]:
        raise Conflict("bad_transition", f"a donation cannot go from {current} to {to}")
    donation.status = to
    donation.updated_at = utcnow()
    if to == S.failed:
        donation.failure_reason = reason
    if to == S.rejected:
        donation.rejection_reason = reason
        # Not used for anything once rejected: its content goes at the next housekeeping.
        donation.content_expires_at = donation.updated_at
    if to == S.accepted:
        campaign = session.get(Campaign, donation.campaign_id)
        assert campaign is not None
        donation.content_expires_at = donation.updated_at + timedelta(days=campaign.retention_days)
    session.add(
        DonationEvent(
            donation_id=donation.id,
            from_status=current,
            to_status=to,
            actor_id=actor_id,
            reason=reason,
        )
    )
    session.flush()
