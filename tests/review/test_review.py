"""Review: who gets which clip, what a vote needs, and when votes decide a clip."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from vidonate.db.engine import transaction
from vidonate.db.models import Donation, User
from vidonate.errors import Conflict, Forbidden, InvalidInput
from vidonate.review.service import Thresholds, next_for_review
from world import World


def _next(world: World, reviewer: str) -> int | None:
    with transaction(world.rt.sessions) as s:
        d = next_for_review(s, s.get(User, getattr(world, reviewer).id))  # type: ignore[arg-type]
        return d.id if d else None


def test_queue_skips_own_clips_and_clips_already_voted_on(world: World) -> None:
    ravis_own = world.clip_in_review("ravi")
    alices = world.clip_in_review("alice")
    assert _next(world, "ravi") == alices, "never one's own clip"
    assert _next(world, "rita") == ravis_own, "oldest first"
    world.vote("rita", ravis_own)
    assert _next(world, "rita") == alices, "never a clip one voted on"
    world.vote("rita", alices)
    assert _next(world, "rita") is None


def test_voting_on_ones_own_clip_is_403(world: World, client: TestClient) -> None:
    own = world.clip_in_review("ravi")
    r = client.post(
        f"/api/v1/review/{own}/votes",
        json={"decision": "accept"},
        headers={"Authorization": f"Bearer {world.tokens['ravi']}"},
    )
    assert (r.status_code, r.json()["error"]["code"]) == (403, "own_clip")
    with pytest.raises(Forbidden):
        world.vote("ravi", own)


def test_donors_cannot_review(world: World, client: TestClient) -> None:
    clip = world.clip_in_review("alice")
    r = client.get(
        "/api/v1/review/next", headers={"Authorization": f"Bearer {world.tokens['bob']}"}
    )
    assert (r.status_code, r.json()["error"]["code"]) == (403, "not_a_reviewer")
    with pytest.raises(Forbidden):
        world.vote("bob", clip)


def test_a_reviewer_votes_once(world: World) -> None:
    clip = world.clip_in_review()
    world.vote("rita", clip)
    with pytest.raises(Conflict) as exc:
        world.vote("rita", clip)
    assert exc.value.code == "already_voted"


def test_rejection_needs_a_known_reason(world: World) -> None:
    clip = world.clip_in_review()
    with pytest.raises(InvalidInput) as exc:
        world.vote("rita", clip, "reject")
    assert exc.value.code == "reason_required"
    with pytest.raises(InvalidInput):
        world.vote("rita", clip, "reject", reason="dont_like_it")


def test_two_accepts_accept_and_the_reviewers_labels_win(world: World) -> None:
    clip = world.clip_in_review(category="package_theft", staged="true", attestation="true")
    first = world.vote("rita", clip, category="car_door_tampering", staged=False)
    assert (first.status, first.accepts) == ("in_review", 1)
    second = world.vote("ravi", clip, category="car_door_tampering", staged=False)
    assert (second.status, second.paid_cents) == ("accepted", 200)
    with transaction(world.rt.sessions) as s:
        d = s.get(Donation, clip)
        assert d is not None and (d.category, d.staged) == ("car_door_tampering", False)


def test_two_rejects_reject_with_the_majority_reason_shown_to_the_donor(
    world: World, client: TestClient
) -> None:
    clip = world.clip_in_review()
    world.vote("rita", clip, "reject", reason="poor_quality")
    outcome = world.vote("ravi", clip, "reject", reason="poor_quality")
    assert outcome.status == "rejected"
    mine = client.get(
        f"/api/v1/donations/{clip}", headers={"Authorization": f"Bearer {world.tokens['alice']}"}
    ).json()
    assert (mine["status"], mine["rejection_reason"], mine["paid_cents"]) == (
        "rejected",
        "poor_quality",
        0,
    )


def test_a_split_vote_waits_for_a_tie_breaker(world: World) -> None:
    clip = world.clip_in_review()
    world.vote("rita", clip, "accept")
    assert world.vote("ravi", clip, "reject", reason="other").status == "in_review"


# One vote of a new reviewer (reliability 0.8, the prior) decides only where the
# confidence asked for is no more than 0.8.
ONE_VOTE = Thresholds(accepts_needed=1, confidence=0.8)


def test_thresholds_are_configurable(world: World) -> None:
    clip = world.clip_in_review()
    assert world.vote("rita", clip, thresholds=Thresholds(accepts_needed=1)).status == (
        "in_review"
    ), "one vote at the prior is 0.8 sure, short of the default 0.9"
    other = world.clip_in_review()
    outcome = world.vote("rita", other, thresholds=ONE_VOTE)
    assert outcome.status == "accepted"


def test_votes_on_a_decided_clip_are_refused(world: World) -> None:
    clip = world.clip_in_review()
    world.vote("rita", clip, thresholds=ONE_VOTE)
    with pytest.raises(Conflict) as exc:
        world.vote("ravi", clip)
    assert exc.value.code == "not_in_review"


def test_a_vote_of_the_wrong_shape_is_422_with_a_reason_code(
    world: World, client: TestClient
) -> None:
    clip = world.clip_in_review()
    r = client.post(
        f"/api/v1/review/{clip}/votes",
        json={"decision": ["accept"]},
        headers={"Authorization": f"Bearer {world.tokens['rita']}"},
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_request"
    assert "decision" in r.json()["error"]["message"]
