"""Accepted clips for the badge, goal and tier tests: through the real review, or (where a
test needs many) written straight into the database as review would leave them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from vidonate.campaigns.service import consent_in_force
from vidonate.db.engine import transaction
from vidonate.db.models import (
    Campaign,
    Donation,
    DonationEvent,
    DonationStatus,
    ReviewVote,
    User,
    utcnow,
)
from vidonate.review.service import Thresholds
from world import World


def accept(
    world: World,
    donor: str = "alice",
    *,
    reviewers_category: str | None = None,
    reviewers_staged: bool | None = None,
    **metadata: str,
) -> int:
    """A clip of ``donor`` (donated with ``metadata``) accepted by rita's one vote, with her
    labels (by default the donor's). One new reviewer is 80 % sure (review/consensus.py):
    the thresholds let that decide."""
    clip = world.clip_in_review(donor, **metadata)
    outcome = world.vote(
        "rita",
        clip,
        category=reviewers_category,
        staged=reviewers_staged,
        thresholds=Thresholds(accepts_needed=1, confidence=0.8),
    )
    assert outcome.status == "accepted"
    return clip


def set_accepted_at(world: World, donation_id: int, at: datetime) -> None:
    """Move a clip's transition to accepted to ``at``."""
    with transaction(world.rt.sessions) as s:
        s.execute(
            update(DonationEvent)
            .where(
                DonationEvent.donation_id == donation_id,
                DonationEvent.to_status == DonationStatus.accepted,
            )
            .values(at=at)
        )


def decided_rows(
    world: World,
    count: int,
    status: str,
    *,
    donor: str = "alice",
    category: str = "package_theft",
) -> list[int]:
    """``count`` clips of ``donor`` decided (``status``: accepted or rejected), written
    directly: the rows and the status event review leaves, without the review."""
    with transaction(world.rt.sessions) as s:
        user = s.get(User, getattr(world, donor).id)
        campaign = s.get(Campaign, world.campaign.id)
        assert user is not None and campaign is not None
        consent = consent_in_force(s, campaign).id
        donations = [
            Donation(
                donor_id=user.id,
                campaign_id=campaign.id,
                camera_id=world.cameras[donor],
                consent_text_id=consent,
                category=category,
                staged=False,
                recorded_at=utcnow(),
                status=status,
                source_size=1000,
            )
            for _ in range(count)
        ]
        s.add_all(donations)
        s.flush()
        s.add_all(
            DonationEvent(donation_id=d.id, from_status="in_review", to_status=status)
            for d in donations
        )
        return [d.id for d in donations]


def votes_by(world: World, reviewer: str, donation_ids: list[int], decision: str) -> None:
    with transaction(world.rt.sessions) as s:
        s.add_all(
            ReviewVote(
                donation_id=d,
                reviewer_id=getattr(world, reviewer).id,
                decision=decision,
                category="package_theft",
                staged=False,
                reason="other" if decision == "reject" else None,
            )
            for d in donation_ids
        )


def award_codes(world: World, user: str) -> dict[str, int | None]:
    """badge code → the donation recorded as earning it, for the user's awards."""
    from vidonate.db.models_rewards import BadgeAward

    with transaction(world.rt.sessions) as s:
        rows = s.execute(
            select(BadgeAward.badge_code, BadgeAward.donation_id).where(
                BadgeAward.user_id == getattr(world, user).id
            )
        ).all()
        return {code: donation for code, donation in rows}
