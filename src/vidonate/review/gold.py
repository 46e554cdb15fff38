"""Gold clips: decided clips whose right answer is known, served among the others.

An operator marks a decided clip gold with its answer (``mark_gold``); the queue serves
it to a reviewer now and then, looking like any clip in review (review/service.py); the
reviewer's vote on it is recorded as a ``GoldAnswer`` and changes nothing else. Their
answers give each reviewer a reliability (``reliability_of``), the weight of their votes
(review/consensus.py).

Reliability is the mean of a Beta posterior: the prior Beta(8, 2) (a new reviewer counts
as 0.8, as if they had 8 of 10 answers right: trusted enough that two agreeing newcomers
decide a clip, not so much that a few wrong answers go unnoticed), plus the reviewer's
answers, each weighed down by half for every 50 newer answers. Decay by answers, not by
days: a reviewer who pauses for a month has not grown worse meanwhile, while 50 answers
(some 600 clips at the default 1 gold in 12) is a few weeks of steady reviewing, so that
a reviewer who turns careless loses their weight within a dozen wrong answers, and the
decayed counts never exceed about 72 answers: no record ever becomes unshakeable.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Exists, and_, case, exists, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import QueryableAttribute, Session

from vidonate.db.models import (
    Campaign,
    Donation,
    DonationStatus,
    ReviewAssignment,
    ReviewVote,
    User,
    utcnow,
)
from vidonate.db.models_rewards import GoldAnswer, GoldClip
from vidonate.errors import Conflict, InvalidInput, NotFound
from vidonate.review.consensus import ACCEPT, REJECT

PRIOR_RIGHT, PRIOR_WRONG = 8.0, 2.0
HALF_LIFE_ANSWERS = 50
# Ten half-lives: an older answer would weigh under 0.1 % of the newest.
ANSWERS_CONSIDERED = 10 * HALF_LIFE_ANSWERS
_DECAY = 0.5 ** (1 / HALF_LIFE_ANSWERS)
DECIDED = (DonationStatus.accepted, DonationStatus.rejected)


# --- Marking and retiring -------------------------------------------------------------


def mark_gold(
    session: Session, donation_id: int, *, decision: str, category: str, marked_by: int | None
) -> GoldClip:
    """Make a decided clip gold with its known answer. Refused, with nothing changed, for
    a withdrawn clip, one without content, one still undecided, an answer that is not the
    clip's own decision and (accepted) category, or a clip gold already."""
    if decision not in (ACCEPT, REJECT):
        raise InvalidInput("bad_decision", "decision is 'accept' or 'reject'")
    donation = session.scalar(select(Donation).where(Donation.id == donation_id).with_for_update())
    if donation is None:
        raise NotFound("unknown_donation", f"there is no donation {donation_id}")
    if donation.status == DonationStatus.withdrawn:
        raise Conflict("gold_clip_withdrawn", f"donation {donation_id} was withdrawn")
    if donation.status not in DECIDED:
        raise Conflict(
            "gold_clip_undecided",
            f"donation {donation_id} is {donation.status}: only an accepted or rejected "
            "clip has a known answer",
        )
    if donation.video_key is None or donation.wrapped_key is None:
        raise Conflict("gold_clip_without_content", f"donation {donation_id} has no video to serve")
    campaign = session.get(Campaign, donation.campaign_id)
    assert campaign is not None
    if category not in campaign.category_names():
        raise InvalidInput("unknown_category", f"campaign has no category {category!r}")
    known = ACCEPT if donation.status == DonationStatus.accepted else REJECT
    # A gold answer the reviewers' decision contradicts is a disputed clip, not gold.
    if decision != known or (known == ACCEPT and category != donation.category):
        raise Conflict(
            "gold_label_differs",
            f"donation {donation_id} was decided {known}"
            + (f" as {donation.category}" if known == ACCEPT else "")
            + f", not {decision} as {category}",
        )
    gold = session.get(GoldClip, donation_id)
    if gold is not None and gold.retired_at is None:
        raise Conflict("already_gold", f"donation {donation_id} is gold already")
    if gold is None:
        gold = GoldClip(donation_id=donation_id)
        session.add(gold)
    gold.decision, gold.category, gold.marked_by = decision, category, marked_by
    gold.marked_at, gold.retired_at = utcnow(), None
    session.flush()
    return gold


def retire_gold(session: Session, donation_id: int) -> GoldClip:
    """Serve the clip no more; its answers so far keep counting. Retiring twice is one."""
    gold = session.get(GoldClip, donation_id)
    if gold is None:
        raise NotFound("not_gold", f"donation {donation_id} is not a gold clip")
    if gold.retired_at is None:
        gold.retired_at = utcnow()
        session.flush()
    return gold


@dataclass(frozen=True)
class GoldListing:
    gold: GoldClip
    answers: int
    correct: int


def list_gold(session: Session, *, retired: bool = False) -> list[GoldListing]:
    """Gold clips, newest first, with how often they were answered and answered right."""
    query = (
        select(
            GoldClip,
            func.count(GoldAnswer.id),
            func.coalesce(func.sum(case((GoldAnswer.correct.is_(True), 1), else_=0)), 0),
        )
        .outerjoin(GoldAnswer, GoldAnswer.donation_id == GoldClip.donation_id)
        .group_by(GoldClip.donation_id)
        .order_by(GoldClip.marked_at.desc(), GoldClip.donation_id.desc())
    )
    if not retired:
        query = query.where(GoldClip.retired_at.is_(None))
    return [GoldListing(g, int(n), int(right)) for g, n, right in session.execute(query)]


# --- Serving ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GoldServing:
    """How often the queue serves gold, and the key that picks when."""

    one_in: int = 12  # one handout in this many; 0: never
    key: bytes = b"vidonate gold"  # the deployment's secret key (settings.secret_key)


def is_gold_turn(serving: GoldServing, reviewer_id: int, handout: int) -> bool:
    """Whether the reviewer's ``handout``-th clip (from 0) is a gold one: exactly one in
    each run of ``one_in`` handouts, at a place an HMAC of the reviewer and the run picks.
    A reviewer cannot foresee it without the key; the rate holds exactly, not just on
    average (a random draw could serve a newcomer three gold clips in a row)."""
    if serving.one_in <= 0:
        return False
    run, place = divmod(handout, serving.one_in)
    digest = hmac.new(serving.key, f"gold:{reviewer_id}:{run}".encode(), hashlib.sha256)
    return int.from_bytes(digest.digest()[:8], "big") % serving.one_in == place


def _servable(donation_id: QueryableAttribute[int]) -> list[ColumnElement[bool]]:
    """A gold clip the queue may serve: not retired, still decided, still with content."""
    return [
        exists().where(GoldClip.donation_id == donation_id, GoldClip.retired_at.is_(None)),
        Donation.status.in_(DECIDED),
        Donation.video_key.is_not(None),
        Donation.wrapped_key.is_not(None),
    ]


def next_gold(
    session: Session, reviewer_id: int, excluded_donors: Collection[int]
) -> Donation | None:
    """A gold clip the reviewer was never given nor voted on, not of an excluded donor
    (conflicts.py): the least answered first, spreading answers over the gold set."""
    given = exists().where(
        ReviewAssignment.donation_id == Donation.id, ReviewAssignment.reviewer_id == reviewer_id
    )
    voted = exists().where(
        ReviewVote.donation_id == Donation.id, ReviewVote.reviewer_id == reviewer_id
    )
    answers = (
        select(func.count(GoldAnswer.id))
        .where(GoldAnswer.donation_id == Donation.id)
        .scalar_subquery()
    )
    return session.scalar(
        select(Donation)
        .where(
            *_servable(Donation.id),
            Donation.donor_id.not_in(excluded_donors),
            ~given,
            ~voted,
        )
        .order_by(answers, Donation.id)
        .limit(1)
    )


def open_gold(
    session: Session, reviewer_id: int, excluded_donors: Collection[int]
) -> tuple[Donation, datetime] | None:
    """The oldest gold clip served to the reviewer and not answered yet, with when it was
    served: served again until answered, as any clip is until voted on."""
    row = session.execute(
        select(Donation, ReviewAssignment.assigned_at)
        .join(ReviewAssignment, ReviewAssignment.donation_id == Donation.id)
        .where(
            ReviewAssignment.reviewer_id == reviewer_id,
            ReviewAssignment.gold.is_(True),
            *_servable(Donation.id),
            Donation.donor_id.not_in(excluded_donors),
            ~_answered(Donation.id, reviewer_id),
        )
        .order_by(ReviewAssignment.assigned_at, Donation.id)
        .limit(1)
    ).first()
    return None if row is None else (row[0], row[1])


def _answered(donation_id: QueryableAttribute[int], reviewer_id: int) -> Exists:
    return exists().where(
        GoldAnswer.donation_id == donation_id, GoldAnswer.reviewer_id == reviewer_id
    )


def open_gold_condition(given_id: QueryableAttribute[int], reviewer_id: int) -> ColumnElement[bool]:
    """SQL: clip ``given_id`` is gold, served to the reviewer, and not answered by them."""
    return and_(
        exists().where(GoldClip.donation_id == given_id, GoldClip.retired_at.is_(None)),
        ~_answered(given_id, reviewer_id),
    )


def served_gold(session: Session, reviewer_id: int, donation_id: int) -> GoldClip | None:
    """The active gold clip ``donation_id`` if the queue served it to the reviewer."""
    return session.scalar(
        select(GoldClip)
        .join(ReviewAssignment, ReviewAssignment.donation_id == GoldClip.donation_id)
        .where(
            GoldClip.donation_id == donation_id,
            GoldClip.retired_at.is_(None),
            ReviewAssignment.reviewer_id == reviewer_id,
            ReviewAssignment.gold.is_(True),
        )
    )


def record_answer(
    session: Session, reviewer: User, gold: GoldClip, *, decision: str, category: str
) -> bool:
    """Record the reviewer's answer on a gold clip; False if they had answered already
    (two submissions at once: the second is not written)."""
    correct = decision == gold.decision and (decision == REJECT or category == gold.category)
    # Not db.upsert.insert_unless_present: its rowcount reads -1 on PostgreSQL for a table
    # with a serial id (the implicit RETURNING), so it cannot say whether it wrote.
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    written = session.scalar(
        dialect.insert(GoldAnswer)
        .values(
            donation_id=gold.donation_id,
            reviewer_id=reviewer.id,
            decision=decision,
            category=category,
            correct=correct,
            answered_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["donation_id", "reviewer_id"])
        .returning(GoldAnswer.id)
    )
    return written is not None


# --- Reliability -----------------------------------------------------------------------


@dataclass(frozen=True)
class Reliability:
    reviewer_id: int
    answers: int  # gold answers considered (the newest ANSWERS_CONSIDERED)
    correct: int
    accuracy: float | None  # decayed share answered right, without the prior
    reliability: float  # the posterior mean, prior included


def reliability_from(reviewer_id: int, correct_newest_first: Iterable[bool]) -> Reliability:
    """The reliability of a reviewer whose gold answers were right or wrong, newest first."""
    right = total = 0.0
    answers = correct = 0
    weight = 1.0
    for is_correct in correct_newest_first:
        total += weight
        right += weight if is_correct else 0.0
        answers += 1
        correct += int(is_correct)
        weight *= _DECAY
    return Reliability(
        reviewer_id,
        answers,
        correct,
        right / total if total else None,
        (PRIOR_RIGHT + right) / (PRIOR_RIGHT + PRIOR_WRONG + total),
    )


def reliability_of(
    session: Session, reviewer_ids: Iterable[int], *, as_of: datetime | None = None
) -> dict[int, Reliability]:
    """Each reviewer's reliability from their gold answers (before ``as_of``, if given)."""
    found = {}
    for reviewer_id in set(reviewer_ids):
        query = select(GoldAnswer.correct).where(GoldAnswer.reviewer_id == reviewer_id)
        if as_of is not None:
            query = query.where(GoldAnswer.answered_at < as_of)
        newest_first = query.order_by(GoldAnswer.answered_at.desc(), GoldAnswer.id.desc())
        found[reviewer_id] = reliability_from(
            reviewer_id, session.scalars(newest_first.limit(ANSWERS_CONSIDERED))
        )
    return found
