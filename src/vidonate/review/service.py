"""Taking the next clip to review, watching it, and casting a vote on it.

The queue hands each reviewer one clip at a time and records that it did
(``ReviewAssignment``). A reviewer may watch only what the queue handed them, and
the other camera angles of its incident, and only while that clip is in review
(``may_watch``): a reviewer cannot browse other clips, nor look at decided ones.

A clip is decided by its votes alone: accepted at ``accepts_needed`` accepts
with more accepts than rejects, rejected symmetrically. The donation row is
locked while a vote is counted, so concurrent final votes decide it once.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session, aliased

from vidonate.db.models import (
    Campaign,
    Donation,
    DonationStatus,
    ReviewAssignment,
    ReviewVote,
    User,
    utcnow,
)
from vidonate.db.upsert import insert_unless_present
from vidonate.donations.states import transition
from vidonate.errors import Conflict, Forbidden, InvalidInput, NotFound
from vidonate.rewards import badges, ledger

ACCEPT, REJECT = "accept", "reject"
REJECT_REASONS = {
    "not_an_incident": "shows no package theft or car-door tampering",
    "wrong_category": "shows an incident, but of another category",
    "poor_quality": "too dark, blurred or cut to see what happens",
    "privacy_risk": "shows what must not be collected (inside a home, children, readable faces)",
    "staged_not_disclosed": "a re-enactment donated as a real incident",
    "duplicate": "the same footage was donated before",
    "other": "another reason, told to the donor",
}


@dataclass(frozen=True)
class Thresholds:
    accepts_needed: int = 2
    rejects_needed: int = 2


def require_reviewer(user: User) -> None:
    if not user.has_role("reviewer"):
        raise Forbidden("not_a_reviewer", "only reviewers can review clips")


def next_for_review(session: Session, reviewer: User) -> Donation | None:
    """Hand the reviewer the oldest clip in review that is not their own and not yet voted
    on by them, and record that they were given it (so they may watch it)."""
    require_reviewer(reviewer)
    voted = exists().where(
        ReviewVote.donation_id == Donation.id, ReviewVote.reviewer_id == reviewer.id
    )
    donation = session.scalar(
        select(Donation)
        .where(
            Donation.status == DonationStatus.in_review, Donation.donor_id != reviewer.id, ~voted
        )
        .order_by(Donation.id)
        .limit(1)
    )
    if donation is not None:
        # The same clip is handed out again until it is voted on; two page loads at once
        # must not fail on the second insert.
        insert_unless_present(
            session,
            ReviewAssignment,
            {"donation_id": donation.id, "reviewer_id": reviewer.id, "assigned_at": utcnow()},
            ("donation_id", "reviewer_id"),
        )
    return donation


# The angles a review shows beside the clip (see donations/incidents.py ``angles``).
_ANGLE_STATUSES = (DonationStatus.in_review, DonationStatus.accepted)


def may_watch(session: Session, reviewer: User, donation: Donation) -> bool:
    """Whether ``reviewer`` may watch ``donation`` as a reviewer: the queue gave it to them,
    or gave them another angle of its incident, and that given clip is still in review."""
    if not reviewer.has_role("reviewer") or donation.status not in _ANGLE_STATUSES:
        return False
    given = aliased(Donation)
    same_clip_or_incident = or_(
        given.id == donation.id,
        and_(given.incident_id.is_not(None), given.incident_id == donation.incident_id),
    )
    return bool(
        session.scalar(
            select(
                exists().where(
                    ReviewAssignment.reviewer_id == reviewer.id,
                    ReviewAssignment.donation_id == given.id,
                    given.status == DonationStatus.in_review,
                    same_clip_or_incident,
                )
            )
        )
    )


@dataclass(frozen=True)
class VoteOutcome:
    status: str
    accepts: int
    rejects: int
    paid_cents: int = 0
    unpaid_reason: str | None = None


def cast_vote(
    session: Session,
    reviewer: User,
    donation_id: int,
    *,
    decision: str,
    category: str | None = None,
    staged: bool | None = None,
    reason: str | None = None,
    thresholds: Thresholds = Thresholds(),
) -> VoteOutcome:
    require_reviewer(reviewer)
    if decision not in (ACCEPT, REJECT):
        raise InvalidInput("bad_decision", "decision is 'accept' or 'reject'")
    if decision == REJECT and reason not in REJECT_REASONS:
        raise InvalidInput(
            "reason_required", f"a rejection needs a reason code from {sorted(REJECT_REASONS)}"
        )
    donation = session.scalar(select(Donation).where(Donation.id == donation_id).with_for_update())
    if donation is None:
        raise NotFound("unknown_donation", f"there is no donation {donation_id}")
    if donation.donor_id == reviewer.id:
        raise Forbidden("own_clip", "you cannot review your own clip")
    if donation.status != DonationStatus.in_review:
        raise Conflict(
            "not_in_review", f"donation {donation_id} is {donation.status}, not in review"
        )
    voted = select(ReviewVote.id).where(
        ReviewVote.donation_id == donation_id, ReviewVote.reviewer_id == reviewer.id
    )
    if session.scalar(voted):
        raise Conflict("already_voted", "you have voted on this clip already")
    campaign = session.get(Campaign, donation.campaign_id)
    assert campaign is not None
    category = category or donation.category
    if category not in campaign.category_names():
        raise InvalidInput("unknown_category", f"campaign has no category {category!r}")
    staged = donation.staged if staged is None else staged
    session.add(
        ReviewVote(
            donation_id=donation_id,
            reviewer_id=reviewer.id,
            decision=decision,
            category=category,
            staged=staged,
            reason=reason if decision == REJECT else None,
        )
    )
    session.flush()
    return _decide(session, donation, reviewer, thresholds)


def _decide(session: Session, donation: Donation, reviewer: User, t: Thresholds) -> VoteOutcome:
    votes = list(session.scalars(select(ReviewVote).where(ReviewVote.donation_id == donation.id)))
    accepts = [v for v in votes if v.decision == ACCEPT]
    rejects = [v for v in votes if v.decision == REJECT]
    if len(accepts) >= t.accepts_needed and len(accepts) > len(rejects):
        # The reviewers' confirmed labels replace the donor's claim.
        donation.category = Counter(v.category for v in accepts).most_common(1)[0][0]
        donation.staged = Counter(v.staged for v in accepts).most_common(1)[0][0]
        transition(session, donation, DonationStatus.accepted, actor_id=reviewer.id)
        credit = ledger.credit_accepted(session, donation)
        badges.award_for_acceptance(session, donation)
        badges.award_for_vote_outcome(session, donation)
        return VoteOutcome(
            donation.status, len(accepts), len(rejects), credit.paid_cents, credit.unpaid_reason
        )
    if len(rejects) >= t.rejects_needed and len(rejects) > len(accepts):
        reason = Counter(v.reason for v in rejects).most_common(1)[0][0]
        transition(session, donation, DonationStatus.rejected, actor_id=reviewer.id, reason=reason)
        badges.award_for_vote_outcome(session, donation)
    return VoteOutcome(donation.status, len(accepts), len(rejects))


def votes_on(session: Session, donation_id: int) -> list[ReviewVote]:
    return list(
        session.scalars(
            select(ReviewVote).where(ReviewVote.donation_id == donation_id).order_by(ReviewVote.id)
        )
    )
