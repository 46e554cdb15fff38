"""Active learning: the clips where the model's suggestions and the reviewers disagree.

Where the served model was run on a clip (it has suggestions) and the reviewers verified
it (review/intervals.py), each suggestion is matched to the verified intervals at the
consensus rule's temporal IoU (``MATCH_IOU``):

- a suggestion that overlaps a verified interval of its label is a match;
- one that overlaps only a verified interval of another label is a *label mismatch*;
- one that overlaps no verified interval is a *false alarm*;
- a verified interval that no suggestion of any label overlaps is a *miss*.

A clip with any of these is listed: those are the clips worth training on next.

Only clips the model was run on are compared (``SuggestionRun``); a run that found nothing
is a run too, so a clip the model missed entirely is listed with its misses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from vidonate.db.models import Donation, DonationStatus
from vidonate.db.models_detect import IntervalSuggestion, SuggestionRun, VerifiedInterval
from vidonate.review.intervals import MATCH_IOU, temporal_iou, verified_for_training


@dataclass
class Disagreement:
    donation_id: int
    category: str
    false_alarms: list[IntervalSuggestion] = field(default_factory=list)
    misses: list[VerifiedInterval] = field(default_factory=list)
    label_mismatches: list[IntervalSuggestion] = field(default_factory=list)


def _overlaps(s: IntervalSuggestion, v: VerifiedInterval) -> bool:
    return temporal_iou(s.start_s, s.end_s, v.start_s, v.end_s) >= MATCH_IOU


def compare(
    donation_id: int,
    category: str,
    suggestions: list[IntervalSuggestion],
    verified: list[VerifiedInterval],
) -> Disagreement | None:
    """How one clip's suggestions and verified intervals disagree, or None if they agree."""
    found = Disagreement(donation_id, category)
    for s in suggestions:
        overlapping = [v for v in verified if _overlaps(s, v)]
        if not overlapping:
            found.false_alarms.append(s)
        elif all(v.label != s.label for v in overlapping):
            found.label_mismatches.append(s)
    found.misses = [v for v in verified if not any(_overlaps(s, v) for s in suggestions)]
    if found.false_alarms or found.misses or found.label_mismatches:
        return found
    return None


def disagreements(session: Session) -> list[Disagreement]:
    """Every verified, accepted clip the model was run on where it and the reviewers
    disagree."""
    suggested: dict[int, list[IntervalSuggestion]] = {
        donation_id: []
        for donation_id in session.scalars(
            select(SuggestionRun.donation_id)
            .join(Donation, Donation.id == SuggestionRun.donation_id)
            .where(Donation.status == DonationStatus.accepted)
        )
    }
    for s in session.scalars(
        select(IntervalSuggestion)
        .join(Donation, Donation.id == IntervalSuggestion.donation_id)
        .where(Donation.status == DonationStatus.accepted)
        .order_by(IntervalSuggestion.donation_id, IntervalSuggestion.start_s)
    ):
        suggested.setdefault(s.donation_id, []).append(s)
    verified_ids = verified_for_training(session, suggested)
    spans: dict[int, list[VerifiedInterval]] = {}
    for v in session.scalars(
        select(VerifiedInterval)
        .where(VerifiedInterval.donation_id.in_(list(verified_ids)))
        .order_by(VerifiedInterval.donation_id, VerifiedInterval.start_s)
    ):
        spans.setdefault(v.donation_id, []).append(v)
    categories = {
        d.id: d.category
        for d in session.scalars(select(Donation).where(Donation.id.in_(list(verified_ids))))
    }
    listed = []
    for donation_id in sorted(verified_ids):
        found = compare(
            donation_id,
            categories[donation_id],
            suggested[donation_id],
            spans.get(donation_id, []),
        )
        if found is not None:
            listed.append(found)
    return listed
