from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from vidonate.db.engine import transaction
from vidonate.db.models import Campaign, Donation
from vidonate.donations.incidents import angles
from vidonate.review.service import (
    REJECT_REASONS,
    GoldServing,
    Thresholds,
    cast_vote,
    next_for_review,
)
from vidonate.web.api.schemas import (
    AnglePublic,
    DonationId,
    ReviewItem,
    VoteCreate,
    VoteOutcomePublic,
)
from vidonate.web.deps import ReviewerUser, RuntimeDep

router = APIRouter(prefix="/review", tags=["review"])


def review_item(
    request: Request, session: Session, donation: Donation, campaign: Campaign
) -> ReviewItem:
    """What a reviewer sees: the redacted clip, its flags and the other angles beside it."""
    return ReviewItem(
        id=donation.id,
        campaign_id=donation.campaign_id,
        category=donation.category,
        staged=donation.staged,
        recorded_at=donation.recorded_at,
        incident_key=donation.incident_key,
        duration_s=donation.duration_s,
        video_url=str(request.url_for("video", donation_id=donation.id)),
        thumbnail_url=str(request.url_for("thumbnail", donation_id=donation.id)),
        categories=campaign.category_names(),
        reject_reasons=REJECT_REASONS,
        incident_id=donation.incident_id,
        angles=[
            AnglePublic(
                id=a.id,
                camera_id=a.camera_id,
                recorded_at=a.recorded_at,
                status=a.status,
                video_url=str(request.url_for("video", donation_id=a.id)),
            )
            for a in angles(session, donation)
        ],
        duplicate_of=donation.duplicate_of,
        redaction_flagged=donation.redaction_flagged,
        redacted_share=donation.redacted_share,
    )


@router.get("/next", response_model=ReviewItem, responses={204: {"description": "queue empty"}})
def next_clip(request: Request, reviewer: ReviewerUser, rt: RuntimeDep) -> ReviewItem | Response:
    """The next clip for this reviewer: never their own, never one they voted on."""
    # A write, though a GET: handing a clip out records the assignment (may_watch).
    with transaction(rt.sessions) as session:
        donation = next_for_review(
            session, reviewer, thresholds=thresholds(rt), serving=gold_serving(rt)
        )
        if donation is None:
            return Response(status_code=204)
        campaign = session.get(Campaign, donation.campaign_id)
        assert campaign is not None
        return review_item(request, session, donation, campaign)


def thresholds(rt: RuntimeDep) -> Thresholds:
    s = rt.settings
    return Thresholds(
        accepts_needed=s.review_accepts_needed,
        rejects_needed=s.review_rejects_needed,
        confidence=s.review_confidence,
        max_votes=s.review_max_votes,
        reliability_floor=s.review_reliability_floor,
    )


def gold_serving(rt: RuntimeDep) -> GoldServing:
    # Keyed by the deployment's secret: reviewers cannot compute when gold comes.
    key = rt.settings.ensure_secret_key().encode()
    return GoldServing(one_in=rt.settings.review_gold_one_in, key=key)


@router.post("/{donation_id}/votes", response_model=VoteOutcomePublic, status_code=201)
def vote(
    donation_id: DonationId, body: VoteCreate, reviewer: ReviewerUser, rt: RuntimeDep
) -> VoteOutcomePublic:
    with transaction(rt.sessions) as session:
        outcome = cast_vote(
            session,
            reviewer,
            donation_id,
            decision=body.decision,
            category=body.category,
            staged=body.staged,
            reason=body.reason,
            thresholds=thresholds(rt),
        )
        return VoteOutcomePublic.model_validate(outcome)
