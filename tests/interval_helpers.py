"""Helpers of the interval tests: a clip given to reviewers, their marks, a model record."""

from __future__ import annotations

from sqlalchemy import select

from vidonate.db.engine import transaction
from vidonate.db.models import DetectorModel, Donation, ReviewAssignment, User, utcnow
from vidonate.review.intervals import Interval, set_intervals
from world import World


def give(world: World, donation_id: int, *reviewers: str) -> None:
    """Record that the queue gave the clip to ``reviewers`` (as ``next_for_review`` does)."""
    with transaction(world.rt.sessions) as s:
        for name in reviewers:
            reviewer_id = getattr(world, name).id
            given = s.scalar(
                select(ReviewAssignment).where(
                    ReviewAssignment.donation_id == donation_id,
                    ReviewAssignment.reviewer_id == reviewer_id,
                )
            )
            if given is None:
                s.add(
                    ReviewAssignment(
                        donation_id=donation_id,
                        reviewer_id=reviewer_id,
                        assigned_at=utcnow(),
                        gold=False,
                    )
                )


def clip_given(world: World, *reviewers: str, duration_s: float = 10.0, **metadata: str) -> int:
    """One of alice's clips in review, lasting ``duration_s``, given to ``reviewers``."""
    donation_id = world.clip_in_review("alice", **metadata)
    with transaction(world.rt.sessions) as s:
        donation = s.get(Donation, donation_id)
        assert donation is not None
        donation.duration_s = duration_s
    give(world, donation_id, *reviewers)
    return donation_id


def mark(world: World, reviewer: str, donation_id: int, *spans: tuple[float, float, str]) -> None:
    """``reviewer`` saves these intervals (start, end, label) on the clip."""
    with transaction(world.rt.sessions) as s:
        user = s.get(User, getattr(world, reviewer).id)
        assert user is not None
        set_intervals(s, user, donation_id, [Interval(a, b, label) for a, b, label in spans])


def model_record(world: World) -> int:
    """A detector model's row (no artifact behind it): what suggestions name."""
    with transaction(world.rt.sessions) as s:
        model = DetectorModel(
            code_version="test", artifact_key="models/none", artifact_sha256="0" * 64
        )
        s.add(model)
        s.flush()
        return model.id


def hold_video(world: World, donation_id: int, video: bytes) -> None:
    """Store ``video`` as the clip's processed (redacted) video, encrypted."""
    import hashlib

    with transaction(world.rt.sessions) as s:
        donation = s.get(Donation, donation_id)
        assert donation is not None
        key = f"clips/{donation_id}/video.mp4"
        writer = world.rt.vault.writer(world.rt.vault.clip_key(s, donation), key)
        writer.write(video)
        writer.commit()
        donation.video_key, donation.video_sha256 = key, hashlib.sha256(video).hexdigest()
