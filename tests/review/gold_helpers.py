"""Helpers of the review-quality tests: more reviewers, decided clips, gold clips."""

from __future__ import annotations

from vidonate.accounts.users import create_user, issue_token
from vidonate.db.engine import transaction
from vidonate.db.models import Donation
from vidonate.review.gold import mark_gold
from world import World


def add_reviewers(world: World, *names: str) -> None:
    """Reviewers beside rita and ravi, with tokens in ``world.tokens``."""
    with transaction(world.rt.sessions) as s:
        for name in names:
            user = create_user(s, name, f"{name}-password", ["reviewer"], f"{name}-h")
            world.tokens[name] = issue_token(s, user)
            setattr(world, name, user)


def user_id(world: World, name: str) -> int:
    return int(getattr(world, name).id)


def with_video(world: World, donation_id: int) -> None:
    """Give a clip a processed video key (the tests never read its bytes)."""
    with transaction(world.rt.sessions) as s:
        donation = s.get(Donation, donation_id)
        assert donation is not None
        donation.video_key = f"test/{donation_id}/video"


def decided_clip(
    world: World, decision: str = "accept", voters: tuple[str, ...] = ("ravi", "rex")
) -> int:
    """One of alice's clips, with a video, decided by two agreeing reviewers."""
    clip = world.clip_in_review("alice")
    with_video(world, clip)
    reason = {"reason": "poor_quality"} if decision == "reject" else {}
    for voter in voters:
        outcome = world.vote(voter, clip, decision, **reason)
    assert outcome.status == ("accepted" if decision == "accept" else "rejected")
    return clip


def gold_clip(world: World, decision: str = "accept", **kw: tuple[str, ...]) -> int:
    clip = decided_clip(world, decision, **kw)
    with transaction(world.rt.sessions) as s:
        mark_gold(s, clip, decision=decision, category="package_theft", marked_by=None)
    return clip
