"""Published privacy numbers: how often redaction may have missed a face or left text
legible, how much of the picture it covers, and how many re-submitted clips were caught."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from vidonate.db.models import Donation


@dataclass(frozen=True)
class RedactionStats:
    clips_redacted: int
    clips_flagged: int  # a face found by the audit, or text still legible
    duplicates_caught: int
    clips_with_legible_text: int = 0  # of the flagged: PP-OCR still read the input's text
    mean_redacted_share: float | None = None  # mean share of the picture under a mosaic

    @property
    def miss_rate(self) -> float:
        """Share of redacted clips in which the independent audit still found a face or
        read text that it read in the original."""
        return self.clips_flagged / self.clips_redacted if self.clips_redacted else 0.0


def redaction_stats(session: Session) -> RedactionStats:
    redacted = Donation.video_key.is_not(None)

    def count(*where: ColumnElement[bool]) -> int:
        return session.scalar(select(func.count(Donation.id)).where(*where)) or 0

    share = session.scalar(select(func.avg(Donation.redacted_share)).where(redacted))
    return RedactionStats(
        clips_redacted=count(redacted),
        clips_flagged=count(redacted, Donation.redaction_flagged.is_(True)),
        duplicates_caught=count(Donation.duplicate_of.is_not(None)),
        clips_with_legible_text=count(redacted, Donation.text_strings_left > 0),
        mean_redacted_share=float(share) if share is not None else None,
    )
