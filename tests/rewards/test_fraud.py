"""The fraud scan holds both accounts of a camera scene donated from several accounts;
a donor's own cameras sharing a scene are no grounds."""

from __future__ import annotations

from vidonate.db.engine import transaction
from vidonate.db.models_rewards import SceneLink
from vidonate.rewards.fraud import scan_for_fraud
from vidonate.rewards.holds import open_holds
from world import World


def _link(world: World, a: int, b: int) -> None:
    with transaction(world.rt.sessions) as s:
        s.add(SceneLink(donation_id=min(a, b), other_donation_id=max(a, b), score=0.8))


def test_one_scene_from_two_accounts_holds_both_for_review(world: World) -> None:
    alices, bobs = world.clip_in_review("alice"), world.clip_in_review("bob")
    _link(world, alices, bobs)
    with transaction(world.rt.sessions) as s:
        placed = scan_for_fraud(s)
    assert sorted((p.user_id, p.reason) for p in placed) == sorted(
        [(world.alice.id, "shared_camera_scene"), (world.bob.id, "shared_camera_scene")]
    )
    with transaction(world.rt.sessions) as s:
        (hold,) = open_holds(s, world.alice.id)
        assert f"with account {world.bob.id}" in hold.detail
        assert scan_for_fraud(s) == []


def test_a_donors_own_clips_of_one_scene_hold_nothing(world: World) -> None:
    _link(world, world.clip_in_review("alice"), world.clip_in_review("alice"))
    with transaction(world.rt.sessions) as s:
        assert scan_for_fraud(s) == []
