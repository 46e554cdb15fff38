"""Retention: an accepted clip's content is kept for its campaign's ``retention_days``
(stated in every consent text), then destroyed; a rejected clip's goes at once.

Each clip's expiry is fixed when it is decided (``donations.content_expires_at``), so the
expired ones are selected in SQL by their own expiry, oldest first, whatever the other
campaigns keep. The donation row keeps its status, so counts, payments and the
transparency report do not change; only the content goes, exactly as with a withdrawal.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from vidonate.crypto.vault import Vault
from vidonate.db.engine import transaction
from vidonate.db.models import Donation, DonationStatus, utcnow
from vidonate.dedupe.finder import DuplicateFinder
from vidonate.donations.content import destroy_content
from vidonate.jobs.base import JobQueue


def expire_retained_clips(
    sessions: sessionmaker[Session],
    vault: Vault,
    duplicates: DuplicateFinder,
    jobs: JobQueue,
    batch: int = 500,
) -> int:
    """Destroy the content of every clip past retention, `batch` clips a transaction;
    returns how many."""
    expired = 0
    while True:
        with transaction(sessions) as session:
            due = list(
                session.scalars(
                    select(Donation)
                    .where(
                        Donation.status.in_((DonationStatus.accepted, DonationStatus.rejected)),
                        Donation.wrapped_key.is_not(None),
                        Donation.content_expires_at <= utcnow(),
                    )
                    .order_by(Donation.content_expires_at, Donation.id)
                    .limit(batch)
                    .with_for_update(skip_locked=True)
                )
            )
            for donation in due:
                destroy_content(session, vault, duplicates, jobs, donation)
        expired += len(due)
        if len(due) < batch:
            return expired
