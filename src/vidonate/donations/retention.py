"""Retention: an accepted clip's content is kept for its campaign's ``retention_days``
(stated in every consent text), then its key is destroyed and its bytes deleted.

The donation row stays ``accepted``, so counts, payments and the transparency report
do not change; only the content goes, exactly as with a withdrawal.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from vidonate.db.engine import transaction
from vidonate.db.models import Campaign, Donation, DonationEvent, DonationStatus, utcnow

if TYPE_CHECKING:
    from vidonate.runtime import Runtime


def expire_retained_clips(rt: Runtime, batch: int = 500) -> int:
    """Destroy the keys and delete the content of clips past retention; returns how many."""
    now = utcnow()
    accepted_at = (
        select(DonationEvent.donation_id, func.max(DonationEvent.at).label("at"))
        .where(DonationEvent.to_status == DonationStatus.accepted)
        .group_by(DonationEvent.donation_id)
        .subquery()
    )
    expired: list[tuple[int, list[str]]] = []
    with transaction(rt.sessions) as session:
        rows = session.execute(
            select(Donation, accepted_at.c.at, Campaign.retention_days)
            .join(accepted_at, accepted_at.c.donation_id == Donation.id)
            .join(Campaign, Campaign.id == Donation.campaign_id)
            .where(Donation.status == DonationStatus.accepted, Donation.wrapped_key.is_not(None))
            .order_by(accepted_at.c.at)
            .limit(batch)
        ).all()
        for donation, at, days in rows:
            # Compared in Python: date arithmetic on a column differs per database.
            if at + timedelta(days=days) > now:
                continue
            rt.vault.shred_clip(donation)
            rt.duplicates.forget(session, donation.id)
            keys = [k for k in (donation.video_key, donation.thumbnail_key) if k]
            donation.video_key = donation.thumbnail_key = None
            expired.append((donation.id, keys))
    for _, keys in expired:  # after the commit: the content was unreadable already
        for key in keys:
            rt.store.delete(key)
    return len(expired)
