"""Taking the next clip to review, watching it, and casting a vote on it.

The queue hands each reviewer one clip at a time and records that it did
(``ReviewAssignment``). A reviewer may watch only what the queue handed them, and
the other camera angles of its incident, and only while that clip is in review
(``may_watch``): a reviewer cannot browse other clips, nor look at decided ones.

A clip is decided by its votes alone, each weighed by its reviewer's reliability on
gold clips (review/consensus.py); a clip the votes leave uncertain stays in review for
another vote. The donation row is locked while a vote is counted, so concurrent final
votes decide it once.

Now and then the queue serves a gold clip instead (review/gold.py): a decided clip with
a known answer, served and voted on like any other; the vote on it is recorded as the
reviewer's answer and changes nothing about the clip. A reviewer whose reliability fell
below the floor is served gold only, until their answers lift them above it. Nobody is
served, shown or counted on a clip of their own or of a related account (conflicts.py).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import and_, exists, func, or_, select
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
from vidonate.db.models_rewards import GoldClip
from vidonate.db.upsert import insert_unless_present
from vidonate.donations.states import transition
from vidonate.errors import Conflict, Forbidden, InvalidInput, NotFound
from vidonate.review import gold
from vidonate.review.conflicts import conflicting_donor_ids, refuse_conflict
from vidonate.review.consensus import ACCEPT, REJECT, Thresholds, WeightedVote, consensus
from vidonate.review.gold import GoldServing
from vidonate.review.intervals import recompute_verified
from vidonate.rewards import badges, ledger

__all__ = ["ACCEPT", "REJECT", "REJECT_REASONS", "GoldServing", "Thresholds"]
REJECT_REASONS = {
    "not_an_incident": "shows no package theft or car-door tampering",
    "wrong_category": "shows an incident, but of another category",
    "poor_quality": "too dark, blurred or cut to see what happens",
    "privacy_risk": "shows what must not be collected (inside a home, children, readable faces)",
    "staged_not_disclosed": "a re-enactment donated as a real incident",
    "duplicate": "the same footage was donated before",
    "other": "another reason, told to the donor",
}


def require_reviewer(user: User) -> None:
    if not user.has_role("reviewer"):
        raise Forbidden("not_a_reviewer", "only reviewers can review clips")


def next_for_review(
    session: Session,
    reviewer: User,
    *,
    thresholds: Thresholds = Thresholds(),
    serving: GoldServing = GoldServing(),
) -> Donation | None:
    """Hand the reviewer a clip, and record that they were given it (so they may watch
    it): the one given before and not voted on yet, if any; else, on a gold turn (or
    always, below the reliability floor), a gold clip; else the oldest clip in review
    they have not voted on. Never a clip of their own or of a related account."""
    require_reviewer(reviewer)
    excluded = conflicting_donor_ids(session, reviewer.id)
    reliability = gold.reliability_of(session, [reviewer.id])[reviewer.id].reliability
    gold_only = reliability < thresholds.reliability_floor
    given = _open_assignment(session, reviewer.id, excluded, gold_only=gold_only)
    if given is not None:
        return given
    handouts = session.scalar(
        select(func.count()).where(ReviewAssignment.reviewer_id == reviewer.id)
    )
    if gold_only or gold.is_gold_turn(serving, reviewer.id, int(handouts or 0)):
        golden = gold.next_gold(session, reviewer.id, excluded)
        if golden is not None or gold_only:
            if golden is not None:
                _assign(session, golden, reviewer, is_gold=True)
            return golden
    voted = exists().where(
        ReviewVote.donation_id == Donation.id, ReviewVote.reviewer_id == reviewer.id
    )
    donation = session.scalar(
        select(Donation)
        .where(
            Donation.status == DonationStatus.in_review,
            Donation.donor_id.not_in(excluded),
            ~voted,
        )
        .order_by(Donation.id)
        .limit(1)
    )
    if donation is not None:
        _assign(session, donation, reviewer, is_gold=False)
    return donation


def _assign(session: Session, donation: Donation, reviewer: User, *, is_gold: bool) -> None:
    # Two page loads at once must not fail on the second insert.
    insert_unless_present(
        session,
        ReviewAssignment,
        {
            "donation_id": donation.id,
            "reviewer_id": reviewer.id,
            "assigned_at": utcnow(),
            "gold": is_gold,
        },
        ("donation_id", "reviewer_id"),
    )


def _open_assignment(
    session: Session, reviewer_id: int, excluded: set[int], *, gold_only: bool
) -> Donation | None:
    """The clip given to the reviewer longest ago and still waiting for their vote: a
    page reload shows the same clip, gold or not (a gold clip that vanished on reload
    would give itself away)."""
    voted = exists().where(
        ReviewVote.donation_id == Donation.id, ReviewVote.reviewer_id == reviewer_id
    )
    waiting = []
    if not gold_only:
        row = session.execute(
            select(Donation, ReviewAssignment.assigned_at)
            .join(ReviewAssignment, ReviewAssignment.donation_id == Donation.id)
            .where(
                ReviewAssignment.reviewer_id == reviewer_id,
                ReviewAssignment.gold.is_(False),
                Donation.status == DonationStatus.in_review,
                Donation.donor_id.not_in(excluded),
                ~voted,
            )
            .order_by(ReviewAssignment.assigned_at, Donation.id)
            .limit(1)
        ).first()
        if row is not None:
            waiting.append((row[1], row[0].id, row[0]))
    golden = gold.open_gold(session, reviewer_id, excluded)
    if golden is not None:
        waiting.append((golden[1], golden[0].id, golden[0]))
    return min(waiting, key=lambda w: (w[0], w[1]))[2] if waiting else None


# The angles a review shows beside the clip (see donations/incidents.py ``angles``).
_ANGLE_STATUSES = (DonationStatus.in_review, DonationStatus.accepted)


def may_watch(session: Session, reviewer: User, donation: Donation) -> bool:
    """Whether ``reviewer`` may watch ``donation`` as a reviewer: the queue gave it to them,
    or gave them another angle of its incident, and that given clip is still in review
    (for a gold clip: not yet answered by them); never a related account's clip."""
    watchable = (*_ANGLE_STATUSES, DonationStatus.rejected)
    if not reviewer.has_role("reviewer") or donation.status not in watchable:
        return False
    if donation.donor_id in conflicting_donor_ids(session, reviewer.id):
        return False
    given = aliased(Donation)
    angle = and_(
        given.id != donation.id,
        given.incident_id.is_not(None),
        given.incident_id == donation.incident_id,
    )
    # A rejected clip is watched only as the gold clip given, never as an angle.
    same_clip_or_incident = (
        or_(given.id == donation.id, angle)
        if donation.status in _ANGLE_STATUSES
        else given.id == donation.id
    )
    still_open = or_(
        and_(ReviewAssignment.gold.is_(False), given.status == DonationStatus.in_review),
        and_(
            ReviewAssignment.gold.is_(True),
            given.status.in_(gold.DECIDED),
            gold.open_gold_condition(given.id, reviewer.id),
        ),
    )
    return bool(
        session.scalar(
            select(
                exists().where(
                    ReviewAssignment.reviewer_id == reviewer.id,
                    ReviewAssignment.donation_id == given.id,
                    still_open,
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
    refuse_conflict(session, reviewer, donation)
    served_gold = gold.served_gold(session, reviewer.id, donation_id)
    if served_gold is not None:
        return _answer_gold(session, reviewer, donation, served_gold, decision, category)
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


def _answer_gold(
    session: Session,
    reviewer: User,
    donation: Donation,
    served: GoldClip,
    decision: str,
    category: str | None,
) -> VoteOutcome:
    """Record a vote on a served gold clip as the reviewer's answer; the clip, its votes
    and the ledger stay as they are. Checked and answered as a first vote on a clip in
    review would be, so that nothing tells the reviewer it was gold."""
    campaign = session.get(Campaign, donation.campaign_id)
    assert campaign is not None
    category = category or donation.category
    if category not in campaign.category_names():
        raise InvalidInput("unknown_category", f"campaign has no category {category!r}")
    if not gold.record_answer(session, reviewer, served, decision=decision, category=category):
        raise Conflict("already_voted", "you have voted on this clip already")
    accepted = decision == ACCEPT
    return VoteOutcome(DonationStatus.in_review, int(accepted), int(not accepted))


def _decide(session: Session, donation: Donation, reviewer: User, t: Thresholds) -> VoteOutcome:
    votes = list(session.scalars(select(ReviewVote).where(ReviewVote.donation_id == donation.id)))
    accepts = [v for v in votes if v.decision == ACCEPT]
    rejects = [v for v in votes if v.decision == REJECT]
    reliability = gold.reliability_of(session, {v.reviewer_id for v in votes})
    weighed = consensus(
        [WeightedVote(v.decision, reliability[v.reviewer_id].reliability) for v in votes], t
    )
    # Labels and reasons come from the votes that carry weight.
    deciding = {r for r, rel in reliability.items() if rel.reliability >= t.reliability_floor}
    if weighed.decision == ACCEPT:
        counted = [v for v in accepts if v.reviewer_id in deciding]
        # The reviewers' confirmed labels replace the donor's claim.
        donation.category = Counter(v.category for v in counted).most_common(1)[0][0]
        donation.staged = Counter(v.staged for v in counted).most_common(1)[0][0]
        transition(session, donation, DonationStatus.accepted, actor_id=reviewer.id)
        # The reviewers' intervals that agree become the clip's verified events.
        recompute_verified(session, donation)
        credit = ledger.credit_accepted(session, donation)
        badges.award_for_acceptance(session, donation)
        badges.award_for_vote_outcome(session, donation)
        return VoteOutcome(
            donation.status, len(accepts), len(rejects), credit.paid_cents, credit.unpaid_reason
        )
    if weighed.decision == REJECT:
        counted = [v for v in rejects if v.reviewer_id in deciding]
        reason = Counter(v.reason for v in counted).most_common(1)[0][0]
        transition(session, donation, DonationStatus.rejected, actor_id=reviewer.id, reason=reason)
        badges.award_for_vote_outcome(session, donation)
    return VoteOutcome(donation.status, len(accepts), len(rejects))


def votes_on(session: Session, donation_id: int) -> list[ReviewVote]:
    return list(
        session.scalars(
            select(ReviewVote).where(ReviewVote.donation_id == donation_id).order_by(ReviewVote.id)
        )
    )
