"""Event intervals over HTTP: a reviewer's own marks and the model's suggestions on a clip
the queue gave them, and what operators see of a clip's intervals and of disagreements."""

from __future__ import annotations

from fastapi import APIRouter

from vidonate.db.engine import read_transaction, transaction
from vidonate.db.models_detect import IntervalSuggestion, ReviewInterval, VerifiedInterval
from vidonate.review.disagreements import disagreements
from vidonate.review.intervals import Interval, operator_view, reviewer_view, set_intervals
from vidonate.web.api.schemas import DonationId
from vidonate.web.api.schemas_intervals import (
    Disagreement,
    DonationIntervals,
    IntervalOut,
    IntervalsPut,
    ReviewIntervals,
)
from vidonate.web.deps import AdminUser, ReviewerUser, RuntimeDep

router = APIRouter(tags=["review"])


def interval_out(
    row: ReviewInterval | IntervalSuggestion | VerifiedInterval, *, with_reviewer: bool = False
) -> IntervalOut:
    common = {"id": row.id, "start": row.start_s, "end": row.end_s, "label": row.label}
    if isinstance(row, IntervalSuggestion):
        return IntervalOut(**common, source="suggestion", model_id=row.model_id, score=row.score)
    if isinstance(row, VerifiedInterval):
        return IntervalOut(**common, source="verified", reviewers=row.reviewers)
    return IntervalOut(
        **common,
        source="reviewer",
        suggestion_id=row.suggestion_id,
        reviewer_id=row.reviewer_id if with_reviewer else None,
    )


def _reviewer_answer(
    view_donation_id: int, rt: RuntimeDep, reviewer: ReviewerUser
) -> ReviewIntervals:
    with read_transaction(rt.sessions) as session:
        view = reviewer_view(session, reviewer, view_donation_id)
        return ReviewIntervals(
            donation_id=view.donation.id,
            duration_s=view.donation.duration_s,
            intervals=[interval_out(r) for r in view.own],
            suggestions=[interval_out(s) for s in view.suggestions],
            voted=view.voted,
            verified=None if view.verified is None else [interval_out(v) for v in view.verified],
        )


@router.get("/review/{donation_id}/intervals", response_model=ReviewIntervals)
def own_intervals(
    donation_id: DonationId, reviewer: ReviewerUser, rt: RuntimeDep
) -> ReviewIntervals:
    """Your intervals on a clip the queue gave you, and the model's suggestions (marked
    ``"source": "suggestion"``); other reviewers' marks only as verified, after your vote."""
    return _reviewer_answer(donation_id, rt, reviewer)


@router.put("/review/{donation_id}/intervals", response_model=ReviewIntervals)
def replace_intervals(
    donation_id: DonationId, body: IntervalsPut, reviewer: ReviewerUser, rt: RuntimeDep
) -> ReviewIntervals:
    """Replace your intervals on the clip; a suggestion you leave out is deleted for you."""
    with transaction(rt.sessions) as session:
        set_intervals(
            session,
            reviewer,
            donation_id,
            [Interval(i.start, i.end, i.label, i.suggestion_id) for i in body.intervals],
        )
    return _reviewer_answer(donation_id, rt, reviewer)


@router.get("/admin/donations/{donation_id}/intervals", response_model=DonationIntervals)
def donation_intervals(
    donation_id: DonationId, admin: AdminUser, rt: RuntimeDep
) -> DonationIntervals:
    """A clip's verified intervals, suggestions and every reviewer's marks."""
    with read_transaction(rt.sessions) as session:
        view = operator_view(session, donation_id)
        return DonationIntervals(
            donation_id=view.donation.id,
            status=view.donation.status,
            category=view.donation.category,
            verified_for_training=view.verified_for_training,
            verified=[interval_out(v) for v in view.verified],
            suggestions=[interval_out(s) for s in view.suggestions],
            reviewers=[interval_out(r, with_reviewer=True) for r in view.reviewers],
        )


@router.get("/admin/disagreements", response_model=list[Disagreement])
def list_disagreements(admin: AdminUser, rt: RuntimeDep) -> list[Disagreement]:
    """Verified clips where the model's suggestions and the reviewers disagree."""
    with read_transaction(rt.sessions) as session:
        return [
            Disagreement(
                donation_id=d.donation_id,
                category=d.category,
                false_alarms=[interval_out(s) for s in d.false_alarms],
                misses=[interval_out(v) for v in d.misses],
                label_mismatches=[interval_out(s) for s in d.label_mismatches],
            )
            for d in disagreements(session)
        ]
