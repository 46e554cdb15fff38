"""How a reviewer is doing: what they may see of their own record, and the table of all.

A reviewer is shown their gold figures as of the start of the day (UTC), not live: a
figure that moved right after a vote would tell them that clip was gold, and they could
pass that on to others still to be served it. ``votes_today`` counts gold answers with
the votes, for the same reason.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, time

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, aliased

from vidonate.db.models import DonationEvent, DonationStatus, ReviewVote, Role, User, utcnow
from vidonate.db.models_rewards import GoldAnswer
from vidonate.review.consensus import ACCEPT, dawid_skene, decided_votes
from vidonate.review.gold import reliability_of


@dataclass(frozen=True)
class ReviewerQuality:
    reviewer_id: int
    username: str
    gold_answers: int
    gold_correct: int
    gold_accuracy: float | None  # decayed, without the prior; None before any answer
    reliability: float  # the weight of their votes (review/consensus.py)
    deciding: bool  # at or above the reliability floor
    votes_today: int
    decided_votes: int  # their votes on clips since decided
    agreement: float | None  # share of those that matched the decision
    estimated_accuracy: float | None = None  # Dawid–Skene over all decided votes


def start_of_day(now: datetime) -> datetime:
    return datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)


def quality_of(
    session: Session, reviewer: User, *, floor: float, as_of: datetime | None = None
) -> ReviewerQuality:
    """The reviewer's record; gold figures from answers before ``as_of`` if given."""
    today = start_of_day(utcnow())
    rel = reliability_of(session, [reviewer.id], as_of=as_of)[reviewer.id]
    votes_today = session.scalar(
        select(func.count(ReviewVote.id)).where(
            ReviewVote.reviewer_id == reviewer.id, ReviewVote.created_at >= today
        )
    )
    answers_today = session.scalar(
        select(func.count(GoldAnswer.id)).where(
            GoldAnswer.reviewer_id == reviewer.id, GoldAnswer.answered_at >= today
        )
    )
    decided, matched = _agreement(session, reviewer.id)
    return ReviewerQuality(
        reviewer_id=reviewer.id,
        username=reviewer.username,
        gold_answers=rel.answers,
        gold_correct=rel.correct,
        gold_accuracy=rel.accuracy,
        reliability=rel.reliability,
        deciding=rel.reliability >= floor,
        votes_today=int(votes_today or 0) + int(answers_today or 0),
        decided_votes=decided,
        agreement=matched / decided if decided else None,
    )


def _agreement(session: Session, reviewer_id: int) -> tuple[int, int]:
    """(votes on clips since decided, of which the decision's own)."""
    decision = aliased(DonationEvent)
    same = case(
        (
            (ReviewVote.decision == ACCEPT) == (decision.to_status == DonationStatus.accepted),
            1,
        ),
        else_=0,
    )
    decided, matched = session.execute(
        select(func.count(ReviewVote.id), func.coalesce(func.sum(same), 0))
        .join(decision, decision.donation_id == ReviewVote.donation_id)
        .where(
            ReviewVote.reviewer_id == reviewer_id,
            decision.to_status.in_([DonationStatus.accepted, DonationStatus.rejected]),
        )
    ).one()
    return int(decided), int(matched)


def reviewers_quality(session: Session, *, floor: float) -> list[ReviewerQuality]:
    """Every reviewer's record, live, with the Dawid–Skene estimate beside the gold one."""
    estimate = dawid_skene(decided_votes(session)).reviewer_accuracy
    reviewers = [
        u
        for u in session.scalars(select(User).order_by(User.username))
        if u.has_role(Role.reviewer)
    ]
    found = []
    for reviewer in reviewers:
        q = quality_of(session, reviewer, floor=floor)
        found.append(replace(q, estimated_accuracy=estimate.get(reviewer.id)))
    return found
