"""Reviewers' agreement in the transparency report: Krippendorff's alpha per category."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient
from gold_helpers import add_reviewers

from vidonate.review.agreement import MIN_CLIPS_FOR_AGREEMENT, alpha_from_counts
from vidonate.review.consensus import Thresholds
from world import World


def test_alpha_matches_the_hand_computed_value() -> None:
    # (accepts, rejects) of five clips. Coincidences: accept-accept 4, reject-reject 5,
    # accept-reject 2 (from the split clip, both ways); n = 11 values, 5 accepts and 6
    # rejects: alpha = 1 - (n - 1) * 2 / (2 * 5 * 6) = 2/3.
    counts = np.array([[2, 0], [0, 2], [1, 1], [2, 0], [0, 3]], dtype=float)
    assert alpha_from_counts(counts) == pytest.approx(2 / 3)
    assert alpha_from_counts(counts[:4]) is None, f"fewer than {MIN_CLIPS_FOR_AGREEMENT} clips"
    assert alpha_from_counts(np.array([[2, 0]] * 6, dtype=float)) is None, "nothing to disagree on"


def test_the_transparency_report_shows_alpha_and_clips_per_category(
    world: World, client: TestClient
) -> None:
    add_reviewers(world, "rex", "rosa")
    first_vote_decides = Thresholds(accepts_needed=1, rejects_needed=1, confidence=0.8)
    # Two clips each way with agreeing votes, one split 2 to 1 (alpha hand-computed:
    # n = 11 values, accept-reject pairs 2 both ways, 6 accepts, 5 rejects: 1 - 20/60).
    for decision in ("accept", "accept", "reject", "reject"):
        clip = world.clip_in_review("alice")
        reason = {"reason": "poor_quality"} if decision == "reject" else {}
        world.vote("rita", clip, decision, **reason)
        world.vote("ravi", clip, decision, **reason)
    split = world.clip_in_review("bob")
    world.vote("rita", split)
    world.vote("ravi", split, "reject", reason="other")
    world.vote("rex", split, thresholds=first_vote_decides)  # decides: 2 of 3 at 0.8
    other = world.clip_in_review("bob", category="car_door_tampering")
    world.vote("rosa", other, thresholds=first_vote_decides)  # one vote: no pair
    body = client.get("/api/v1/transparency").json()
    assert body["min_clips_for_agreement"] == MIN_CLIPS_FOR_AGREEMENT
    assert body["review_agreement"]["package_theft"]["clips"] == 5
    assert body["review_agreement"]["package_theft"]["alpha"] == pytest.approx(2 / 3)
    assert body["review_agreement"]["car_door_tampering"] == {"clips": 0, "alpha": None}
