"""Published privacy numbers: how often redaction may have missed a face, and how many
re-submitted clips were caught."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vidonate.db.models import Donation


@dataclass(frozen=True)
class RedactionStats:
    clips_redacted: int
    clips_flagged: int
    duplicates_caught: int

    @property
    def miss_rate(self) -> float:
        """Share of redacted clips in which the independent audit still found a face."""
        return self.clips_flagged / self.clips_redacted if self.clips_redacted else 0.0


def redaction_stats(session: Session) -> RedactionStats:
    redacted = Donation.video_key.is_not(None)
    return RedactionStats(
        clips_redacted=session.scalar(select(func.count(Donation.id)).where(redacted)) or 0,
        clips_flagged=session.scalar(
            select(func.count(Donation.id)).where(redacted, Donation.redaction_flagged.is_(True))
        )
        or 0,
        duplicates_caught=session.scalar(
            select(func.count(Donation.id)).where(Donation.duplicate_of.is_not(None))
        )
        or 0,
    )
