"""Reviewers' event intervals on a clip, and the verified intervals their agreement makes.

A reviewer marks when the event happens (start, end, label, seconds on the clip's own
timeline) on a clip the queue gave them; each save replaces their whole set for that
clip. Intervals are checked (inside the clip, a known event label, at most
``MAX_INTERVALS``, and of the category the reviewer voted for), with a reason code for
each refusal.

**The consensus rule** (docs/intervals.md). Once a clip is accepted, the intervals of
the reviewers whose accept vote named the clip's decided category are clustered per
label: two intervals of different reviewers join one cluster when their temporal IoU
(intersection over union of the two time spans) is at least ``MATCH_IOU``, and clusters
are the connected groups so formed. A cluster marked by at least ``MIN_REVIEWERS``
different reviewers becomes a verified interval whose start and end are the medians of
its members' starts and ends. Verified intervals are recomputed whenever the clip is
decided and whenever one of its reviewers saves intervals afterwards. A reviewer's
intervals on a gold clip, or without an accept vote, are kept but count for nothing.

A clip is **verified for training** when it is accepted and either its category is
normal activity (no event in it: zero verified intervals is its truth), or it has at
least one verified interval of its event category. Only such donated clips train a
detector (``detect/pipeline.py``); releases record which clips are (``datasets/release``).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from vidonate.db.models import Donation, DonationStatus, ReviewAssignment, ReviewVote, User
from vidonate.db.models_detect import (
    IntervalSuggestion,
    ReviewInterval,
    SuggestionRun,
    VerifiedInterval,
)
from vidonate.errors import Conflict, Forbidden, InvalidInput, NotFound
from vidonate.review.conflicts import refuse_conflict

# Two reviewers' intervals of one label mark the same event from this temporal IoU on.
MATCH_IOU = 0.5
# An event is verified when this many different reviewers marked it.
MIN_REVIEWERS = 2
# A player's seek bar and a re-encoded clip's duration differ by a few frames.
DURATION_TOLERANCE_S = 0.5
# More than this on a short home-camera clip is a mistake, not a record.
MAX_INTERVALS = 20
# The detector's event classes and its normal label (detect/evaluation.py CLASSES and
# NORMAL; spelled out here, because that module loads SciPy and the server need not).
EVENT_LABELS = ("package_theft", "car_door_tampering")
NORMAL = "normal_activity"
# Where a reviewer may still mark intervals: in review, and after acceptance (a
# correction then recomputes the verified intervals).
_EDITABLE = (DonationStatus.in_review, DonationStatus.accepted)


@dataclass(frozen=True)
class Interval:
    """An event interval as a reviewer or a model marks it (seconds)."""

    start: float
    end: float
    label: str
    suggestion_id: int | None = None


def temporal_iou(a_start: float, a_end: float, b_start: float, b_end: float) -> float:
    """Intersection over union of two time spans (0 when they do not overlap)."""
    overlap = min(a_end, b_end) - max(a_start, b_start)
    if overlap <= 0:
        return 0.0
    union = max(a_end, b_end) - min(a_start, b_start)
    return overlap / union if union > 0 else 0.0


# --- A reviewer's own intervals ---------------------------------------------------------


def _reviewable(
    session: Session, reviewer: User, donation_id: int, *, lock: bool = True
) -> Donation:
    """The clip (locked for a write) if the queue gave it to ``reviewer`` and it is
    still editable."""
    if not reviewer.has_role("reviewer"):
        raise Forbidden("not_a_reviewer", "only reviewers can review clips")
    query = select(Donation).where(Donation.id == donation_id)
    donation = session.scalar(query.with_for_update() if lock else query)
    if donation is None:
        raise NotFound("unknown_donation", f"there is no donation {donation_id}")
    refuse_conflict(session, reviewer, donation)
    given = session.scalar(
        select(ReviewAssignment.donation_id).where(
            ReviewAssignment.donation_id == donation_id,
            ReviewAssignment.reviewer_id == reviewer.id,
        )
    )
    # Not given: as if it did not exist (reviewers cannot probe other clips).
    if given is None:
        raise NotFound("unknown_donation", f"there is no donation {donation_id}")
    if donation.status not in _EDITABLE and not _gold_assignment(session, reviewer, donation_id):
        raise Conflict("not_in_review", f"donation {donation_id} is {donation.status}")
    return donation


def _gold_assignment(session: Session, reviewer: User, donation_id: int) -> bool:
    return bool(
        session.scalar(
            select(ReviewAssignment.gold).where(
                ReviewAssignment.donation_id == donation_id,
                ReviewAssignment.reviewer_id == reviewer.id,
            )
        )
    )


def _accept_vote(session: Session, reviewer_id: int, donation_id: int) -> ReviewVote | None:
    return session.scalar(
        select(ReviewVote).where(
            ReviewVote.donation_id == donation_id,
            ReviewVote.reviewer_id == reviewer_id,
            ReviewVote.decision == "accept",
        )
    )


def validate_intervals(
    intervals: Sequence[Interval],
    *,
    duration_s: float | None,
    voted_category: str | None,
    suggestion_ids: Iterable[int] = (),
) -> None:
    """Refuse a set of intervals that cannot describe the clip (see the reason codes)."""
    if len(intervals) > MAX_INTERVALS:
        raise InvalidInput(
            "too_many_intervals", f"at most {MAX_INTERVALS} intervals per clip and reviewer"
        )
    known_suggestions = set(suggestion_ids)
    for i, interval in enumerate(intervals):
        if interval.label not in EVENT_LABELS:
            raise InvalidInput(
                "unknown_interval_label",
                f"interval {i}: label is one of {list(EVENT_LABELS)}, not {interval.label!r}",
            )
        finite = math.isfinite(interval.start) and math.isfinite(interval.end)
        if not finite or not (0 <= interval.start < interval.end):
            raise InvalidInput(
                "bad_interval", f"interval {i}: needs 0 <= start < end (seconds on the clip)"
            )
        if duration_s is not None and interval.end > duration_s + DURATION_TOLERANCE_S:
            raise InvalidInput(
                "interval_beyond_clip",
                f"interval {i} ends at {interval.end:g} s; the clip lasts {duration_s:g} s",
            )
        if voted_category == NORMAL:
            raise InvalidInput(
                "interval_on_normal_clip",
                "you voted this clip normal activity: it has no event interval",
            )
        if voted_category in EVENT_LABELS and interval.label != voted_category:
            raise InvalidInput(
                "interval_label_not_voted",
                f"interval {i} is {interval.label}; you voted the clip {voted_category}",
            )
        if interval.suggestion_id is not None and interval.suggestion_id not in known_suggestions:
            raise InvalidInput(
                "unknown_suggestion", f"interval {i}: no suggestion {interval.suggestion_id}"
            )


def set_intervals(
    session: Session, reviewer: User, donation_id: int, intervals: Sequence[Interval]
) -> list[ReviewInterval]:
    """Replace ``reviewer``'s intervals on a clip the queue gave them with ``intervals``
    (an empty list clears them); recompute the clip's verified intervals if accepted."""
    donation = _reviewable(session, reviewer, donation_id)
    vote = _accept_vote(session, reviewer.id, donation_id)
    suggestions = session.scalars(
        select(IntervalSuggestion.id).where(IntervalSuggestion.donation_id == donation_id)
    )
    validate_intervals(
        intervals,
        duration_s=donation.duration_s,
        voted_category=vote.category if vote is not None else None,
        suggestion_ids=suggestions,
    )
    session.execute(
        delete(ReviewInterval).where(
            ReviewInterval.donation_id == donation_id, ReviewInterval.reviewer_id == reviewer.id
        )
    )
    rows = [
        ReviewInterval(
            donation_id=donation_id,
            reviewer_id=reviewer.id,
            start_s=float(i.start),
            end_s=float(i.end),
            label=i.label,
            suggestion_id=i.suggestion_id,
        )
        for i in sorted(intervals, key=lambda i: (i.start, i.end, i.label))
    ]
    session.add_all(rows)
    session.flush()
    if donation.status == DonationStatus.accepted:
        recompute_verified(session, donation)
    return rows


def own_intervals(session: Session, reviewer_id: int, donation_id: int) -> list[ReviewInterval]:
    return list(
        session.scalars(
            select(ReviewInterval)
            .where(
                ReviewInterval.donation_id == donation_id,
                ReviewInterval.reviewer_id == reviewer_id,
            )
            .order_by(ReviewInterval.start_s, ReviewInterval.id)
        )
    )


def suggestions_for(session: Session, donation_id: int) -> list[IntervalSuggestion]:
    return list(
        session.scalars(
            select(IntervalSuggestion)
            .where(IntervalSuggestion.donation_id == donation_id)
            .order_by(IntervalSuggestion.start_s, IntervalSuggestion.id)
        )
    )


def verified_intervals(session: Session, donation_id: int) -> list[VerifiedInterval]:
    return list(
        session.scalars(
            select(VerifiedInterval)
            .where(VerifiedInterval.donation_id == donation_id)
            .order_by(VerifiedInterval.start_s, VerifiedInterval.id)
        )
    )


@dataclass(frozen=True)
class ReviewerView:
    """What a reviewer sees of a clip's intervals: their own, the model's suggestions,
    and, only once they have voted (no anchoring on others' marks), the verified ones."""

    donation: Donation
    own: list[ReviewInterval]
    suggestions: list[IntervalSuggestion]
    voted: bool
    verified: list[VerifiedInterval] | None


def reviewer_view(session: Session, reviewer: User, donation_id: int) -> ReviewerView:
    donation = _reviewable(session, reviewer, donation_id, lock=False)
    voted = session.scalar(
        select(ReviewVote.id).where(
            ReviewVote.donation_id == donation_id, ReviewVote.reviewer_id == reviewer.id
        )
    )
    return ReviewerView(
        donation=donation,
        own=own_intervals(session, reviewer.id, donation_id),
        suggestions=suggestions_for(session, donation_id),
        voted=voted is not None,
        verified=verified_intervals(session, donation_id) if voted is not None else None,
    )


@dataclass(frozen=True)
class OperatorView:
    """What an operator sees of a clip's intervals: everything, and the verdict."""

    donation: Donation
    verified: list[VerifiedInterval]
    suggestions: list[IntervalSuggestion]
    reviewers: list[ReviewInterval]
    verified_for_training: bool


def operator_view(session: Session, donation_id: int) -> OperatorView:
    donation = session.get(Donation, donation_id)
    if donation is None:
        raise NotFound("unknown_donation", f"there is no donation {donation_id}")
    marked = session.scalars(
        select(ReviewInterval)
        .where(ReviewInterval.donation_id == donation_id)
        .order_by(ReviewInterval.reviewer_id, ReviewInterval.start_s)
    )
    return OperatorView(
        donation=donation,
        verified=verified_intervals(session, donation_id),
        suggestions=suggestions_for(session, donation_id),
        reviewers=list(marked),
        verified_for_training=donation_id in verified_for_training(session, [donation_id]),
    )


# --- Consensus --------------------------------------------------------------------------


@dataclass(frozen=True)
class Marked:
    """One reviewer's interval, as consensus reads it."""

    reviewer_id: int
    start: float
    end: float
    label: str


def _clusters(members: Sequence[Marked]) -> list[list[Marked]]:
    """Connected groups of one label's marks, linking marks of different reviewers that
    overlap at ``MATCH_IOU`` (union-find)."""
    parent = list(range(len(members)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(members):
        for j in range(i + 1, len(members)):
            b = members[j]
            if a.reviewer_id != b.reviewer_id and (
                temporal_iou(a.start, a.end, b.start, b.end) >= MATCH_IOU
            ):
                parent[root(j)] = root(i)
    groups: dict[int, list[Marked]] = {}
    for i, m in enumerate(members):
        groups.setdefault(root(i), []).append(m)
    return list(groups.values())


def agree(marked: Sequence[Marked]) -> list[tuple[Interval, int]]:
    """The verified intervals (with how many reviewers back each) that ``marked`` makes
    under the consensus rule of the module's docstring: a pure function."""
    verified: list[tuple[Interval, int]] = []
    for label in sorted({m.label for m in marked}):
        for cluster in _clusters([m for m in marked if m.label == label]):
            backers = len({m.reviewer_id for m in cluster})
            if backers < MIN_REVIEWERS:
                continue
            start = statistics.median(m.start for m in cluster)
            end = statistics.median(m.end for m in cluster)
            if end > start:
                verified.append((Interval(start, end, label), backers))
    return sorted(verified, key=lambda v: (v[0].start, v[0].end, v[0].label))


def recompute_verified(session: Session, donation: Donation) -> list[VerifiedInterval]:
    """Replace the clip's verified intervals with what its reviewers' intervals make now
    (none unless it is accepted)."""
    session.execute(delete(VerifiedInterval).where(VerifiedInterval.donation_id == donation.id))
    if donation.status != DonationStatus.accepted:
        return []
    backing = select(ReviewVote.reviewer_id).where(
        ReviewVote.donation_id == donation.id,
        ReviewVote.decision == "accept",
        ReviewVote.category == donation.category,
    )
    marked = [
        Marked(r.reviewer_id, r.start_s, r.end_s, r.label)
        for r in session.scalars(
            select(ReviewInterval).where(
                ReviewInterval.donation_id == donation.id,
                ReviewInterval.reviewer_id.in_(backing),
            )
        )
    ]
    rows = [
        VerifiedInterval(
            donation_id=donation.id,
            start_s=interval.start,
            end_s=interval.end,
            label=interval.label,
            reviewers=backers,
        )
        for interval, backers in agree(marked)
    ]
    session.add_all(rows)
    session.flush()
    return rows


def verified_for_training(
    session: Session, donation_ids: Iterable[int]
) -> dict[int, list[Interval]]:
    """The clips among ``donation_ids`` that are verified for training, each with its
    verified intervals (an empty list for a normal-activity clip); others are absent."""
    ids = sorted(set(donation_ids))
    if not ids:
        return {}
    accepted = {
        d.id: d.category
        for d in session.scalars(
            select(Donation).where(Donation.id.in_(ids), Donation.status == DonationStatus.accepted)
        )
    }
    spans: dict[int, list[Interval]] = {}
    for row in session.scalars(
        select(VerifiedInterval)
        .where(VerifiedInterval.donation_id.in_(list(accepted)))
        .order_by(VerifiedInterval.donation_id, VerifiedInterval.start_s)
    ):
        spans.setdefault(row.donation_id, []).append(Interval(row.start_s, row.end_s, row.label))
    verified: dict[int, list[Interval]] = {}
    for donation_id, category in accepted.items():
        found = spans.get(donation_id, [])
        if category == NORMAL:
            verified[donation_id] = []
        elif any(i.label == category for i in found):
            verified[donation_id] = found
    return verified


def forget_intervals(session: Session, donation_id: int) -> None:
    """Everything marked on a clip goes with it (withdrawal): reviewers' intervals,
    verified intervals, the model's suggestions and the record of its runs."""
    for table in (ReviewInterval, VerifiedInterval, IntervalSuggestion, SuggestionRun):
        session.execute(delete(table).where(table.donation_id == donation_id))
