"""Gold clips (admin) and a reviewer's own record: thin routes over review/gold.py and
review/quality.py."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from vidonate.db.engine import read_transaction, transaction
from vidonate.db.models import utcnow
from vidonate.review.gold import GoldListing, list_gold, mark_gold, retire_gold
from vidonate.review.quality import quality_of, start_of_day
from vidonate.web.api.schemas import INT32_MAX, DonationId, Text
from vidonate.web.deps import AdminUser, ReviewerUser, RuntimeDep

router = APIRouter(tags=["review"])


class GoldCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    donation_id: int = Field(ge=1, le=INT32_MAX)
    decision: Text = Field(description="accept or reject: the clip's own decision")
    category: Text = Field(description="the right category (an accepted clip's own)")


class GoldPublic(BaseModel):
    donation_id: int
    decision: str
    category: str
    marked_by: int | None
    marked_at: datetime
    retired_at: datetime | None
    answers: int = Field(description="reviewers' answers on it so far")
    correct: int = Field(description="of which right")


def _public(listing: GoldListing) -> GoldPublic:
    g = listing.gold
    return GoldPublic(
        donation_id=g.donation_id,
        decision=g.decision,
        category=g.category,
        marked_by=g.marked_by,
        marked_at=g.marked_at,
        retired_at=g.retired_at,
        answers=listing.answers,
        correct=listing.correct,
    )


@router.post("/gold", response_model=GoldPublic, status_code=201)
def mark(body: GoldCreate, admin: AdminUser, rt: RuntimeDep) -> GoldPublic:
    """Make a decided clip gold: served to reviewers among the others, with its known
    answer. Admin only."""
    with transaction(rt.sessions) as session:
        gold = mark_gold(
            session,
            body.donation_id,
            decision=body.decision,
            category=body.category,
            marked_by=admin.id,
        )
        return _public(GoldListing(gold, 0, 0))


@router.delete("/gold/{donation_id}", response_model=GoldPublic)
def retire(donation_id: DonationId, _admin: AdminUser, rt: RuntimeDep) -> GoldPublic:
    """Serve the clip as gold no more (its answers keep counting). Admin only."""
    with transaction(rt.sessions) as session:
        retire_gold(session, donation_id)
        found = [g for g in list_gold(session, retired=True) if g.gold.donation_id == donation_id]
        return _public(found[0])


@router.get("/gold", response_model=list[GoldPublic])
def gold_clips(_admin: AdminUser, rt: RuntimeDep, retired: bool = False) -> list[GoldPublic]:
    """Gold clips, newest first (``retired=true``: retired ones too). Admin only."""
    with read_transaction(rt.sessions) as session:
        return [_public(g) for g in list_gold(session, retired=retired)]


class QualityPublic(BaseModel):
    """A reviewer's own record. Gold figures are as of the start of today (UTC), so
    that none moves right after the vote that changed it."""

    gold_answers: int
    gold_correct: int
    gold_accuracy: float | None = Field(description="recent answers weigh more; null: none")
    reliability: float = Field(description="the weight of your votes, 0 to 1")
    deciding: bool = Field(description="false below the reliability floor")
    votes_today: int
    decided_votes: int = Field(description="your votes on clips decided since")
    agreement: float | None = Field(description="share of those that matched the decision")


@router.get("/review/me/quality", response_model=QualityPublic)
def my_quality(reviewer: ReviewerUser, rt: RuntimeDep) -> QualityPublic:
    with read_transaction(rt.sessions) as session:
        q = quality_of(
            session,
            reviewer,
            floor=rt.settings.review_reliability_floor,
            as_of=start_of_day(utcnow()),
        )
    return QualityPublic(
        gold_answers=q.gold_answers,
        gold_correct=q.gold_correct,
        gold_accuracy=q.gold_accuracy,
        reliability=q.reliability,
        deciding=q.deciding,
        votes_today=q.votes_today,
        decided_votes=q.decided_votes,
        agreement=q.agreement,
    )
