"""How much reviewers agree: Krippendorff's alpha per category, for the transparency report.

Nominal alpha on the accept/reject votes of decided clips, each clip a unit and its votes
the values (gold answers are no votes, and are left out): 1 is perfect agreement, 0 what
chance would give. A category's alpha is withheld (None) below
:data:`MIN_CLIPS_FOR_AGREEMENT` clips with two votes or more, and where every vote was
the same (alpha is then 0/0: with nothing to disagree about, agreement is unmeasured).
"""

from __future__ import annotations

from dataclasses import dataclass

import krippendorff
import numpy as np
from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session, aliased

from vidonate.db.models import Donation, DonationEvent, DonationStatus, ReviewVote
from vidonate.review.consensus import ACCEPT

MIN_CLIPS_FOR_AGREEMENT = 5


@dataclass(frozen=True)
class CategoryAgreement:
    clips: int  # decided clips with two votes or more
    alpha: float | None


def alpha_from_counts(counts: np.ndarray) -> float | None:
    """Nominal alpha of units given as (accepts, rejects) rows of two votes or more."""
    if len(counts) < MIN_CLIPS_FOR_AGREEMENT or (counts.sum(axis=0) == 0).any():
        return None
    return float(krippendorff.alpha(value_counts=counts, level_of_measurement="nominal"))


def agreement_by_category(
    session: Session, scope: list[ColumnElement[bool]]
) -> dict[str, CategoryAgreement]:
    """Every category with a decided clip among the donations ``scope`` selects."""
    decision = aliased(DonationEvent)
    accepts = func.sum(case((ReviewVote.decision == ACCEPT, 1), else_=0))
    rows = session.execute(
        select(Donation.category, accepts, func.count(ReviewVote.id))
        .join(ReviewVote, ReviewVote.donation_id == Donation.id)
        .join(decision, decision.donation_id == Donation.id)
        .where(decision.to_status.in_([DonationStatus.accepted, DonationStatus.rejected]), *scope)
        .group_by(Donation.id, Donation.category)
    ).all()
    by_category: dict[str, list[tuple[int, int]]] = {}
    for category, n_accepts, n_votes in rows:
        units = by_category.setdefault(category, [])
        if n_votes >= 2:  # a single vote agrees with nobody
            units.append((int(n_accepts), int(n_votes) - int(n_accepts)))
    return {
        category: CategoryAgreement(
            len(units), alpha_from_counts(np.array(units, dtype=float).reshape(-1, 2))
        )
        for category, units in sorted(by_category.items())
    }
