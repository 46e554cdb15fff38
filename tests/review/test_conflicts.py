"""Conflicts of interest: no reviewer gets, watches or votes on a clip of their own or of
a related account (a shared incident, a scene link between their clips)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from gold_helpers import user_id

from vidonate.db.engine import transaction
from vidonate.db.models import Donation, Incident, User
from vidonate.db.models_rewards import SceneLink
from vidonate.review.conflicts import conflicting_donor_ids
from vidonate.review.service import may_watch, next_for_review
from world import World


def _next(world: World, name: str) -> int | None:
    with transaction(world.rt.sessions) as s:
        donation = next_for_review(s, s.get(User, user_id(world, name)))  # type: ignore[arg-type]
        return donation.id if donation else None


def _share_incident(world: World, *clips: int) -> None:
    """Put clips of different accounts in one incident (a neighbour's second camera)."""
    with transaction(world.rt.sessions) as s:
        first = s.get(Donation, clips[0])
        assert first is not None
        incident = Incident(donor_id=first.donor_id, starts_at=first.recorded_at,
                            ends_at=first.recorded_at)  # fmt: skip
        s.add(incident)
        s.flush()
        for clip in clips:
            s.get(Donation, clip).incident_id = incident.id  # type: ignore[union-attr]


def _link_scene(world: World, a: int, b: int) -> None:
    with transaction(world.rt.sessions) as s:
        s.add(SceneLink(donation_id=min(a, b), other_donation_id=max(a, b), score=0.97))


def _vote_code(world: World, client: TestClient, name: str, clip: int) -> tuple[int, str]:
    r = client.post(
        f"/api/v1/review/{clip}/votes",
        json={"decision": "accept"},
        headers={"Authorization": f"Bearer {world.tokens[name]}"},
    )
    return r.status_code, r.json().get("error", {}).get("code", "")


@pytest.mark.parametrize("relation", ["shared_incident", "scene_link"])
def test_a_related_accounts_clip_is_never_served_and_a_vote_on_it_is_403(
    world: World, client: TestClient, relation: str
) -> None:
    ravis = world.clip_in_review("ravi")  # ravi is a donor and a reviewer
    alices = world.clip_in_review("alice")
    bobs = world.clip_in_review("bob")
    (_share_incident if relation == "shared_incident" else _link_scene)(world, ravis, alices)
    with transaction(world.rt.sessions) as s:
        related = conflicting_donor_ids(s, user_id(world, "ravi"))
    assert related == {user_id(world, "ravi"), user_id(world, "alice")}
    assert _next(world, "ravi") == bobs, "neither his own clip nor alice's"
    assert _vote_code(world, client, "ravi", alices) == (403, "related_account")
    assert _vote_code(world, client, "ravi", ravis) == (403, "own_clip")
    assert _next(world, "rita") == ravis, "rita is related to nobody"


def test_a_relation_found_after_the_handout_stops_watching_too(world: World) -> None:
    ravis = world.clip_in_review("ravi")
    alices = world.clip_in_review("alice")
    world.vote("rita", ravis)  # so that ravi's clip is not the oldest for him anyway
    assert _next(world, "ravi") == alices
    with transaction(world.rt.sessions) as s:
        ravi, clip = s.get(User, user_id(world, "ravi")), s.get(Donation, alices)
        assert ravi is not None and clip is not None and may_watch(s, ravi, clip)
    _link_scene(world, ravis, alices)
    with transaction(world.rt.sessions) as s:
        ravi, clip = s.get(User, user_id(world, "ravi")), s.get(Donation, alices)
        assert ravi is not None and clip is not None and not may_watch(s, ravi, clip)
    assert _next(world, "ravi") is None
