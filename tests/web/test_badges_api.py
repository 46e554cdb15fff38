"""The badges API: the public catalogue, one's own badges and weekly goal, a campaign's
community goals and the tier board."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from badge_helpers import accept
from vidonate.db.engine import transaction
from vidonate.db.models_rewards import WeeklyGoal
from world import World


def _as(world: World, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[name]}"}


def test_the_badge_catalogue_is_public_in_display_order(world: World, client: TestClient) -> None:
    r = client.get("/api/v1/badges")
    assert r.status_code == 200
    codes = [b["code"] for b in r.json()]
    assert codes[:2] == ["first_clip", "clips_10"] and "agreeing_votes_100" in codes
    assert set(r.json()[0]) == {"code", "name", "description", "icon"}, "rules stay inside"


def test_a_donor_sees_the_badges_their_clips_earned(world: World, client: TestClient) -> None:
    assert client.get("/api/v1/me/badges", headers=_as(world, "alice")).json() == []
    clip = accept(world)
    mine = client.get("/api/v1/me/badges", headers=_as(world, "alice")).json()
    assert [(b["code"], b["donation_id"]) for b in mine] == [
        ("first_clip", clip),
        ("package_theft", clip),
    ]
    assert client.get("/api/v1/me/badges", headers=_as(world, "bob")).json() == []


def _goal_rows(world: World) -> int:
    with transaction(world.rt.sessions) as s:
        return s.scalar(select(func.count()).select_from(WeeklyGoal)) or 0


def test_a_bad_weekly_goal_is_a_4xx_with_its_reason_and_stores_nothing(
    world: World, client: TestClient
) -> None:
    for clips, status, code in (
        (0, 400, "bad_weekly_goal"),
        (1001, 400, "bad_weekly_goal"),
        (-5, 400, "bad_weekly_goal"),
        ("many", 422, "invalid_request"),
        (None, 422, "invalid_request"),
    ):
        r = client.put("/api/v1/me/goal", json={"clips": clips}, headers=_as(world, "alice"))
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), clips
    assert _goal_rows(world) == 0


def test_a_donor_sets_a_weekly_goal_and_sees_their_progress(
    world: World, client: TestClient
) -> None:
    assert client.get("/api/v1/me/goal", headers=_as(world, "alice")).json()["goal"] is None
    r = client.put("/api/v1/me/goal", json={"clips": 2}, headers=_as(world, "alice"))
    assert r.status_code == 200 and r.json()["goal"] == 2
    accept(world)
    progress = client.get("/api/v1/me/goal", headers=_as(world, "alice")).json()
    assert (progress["accepted_this_week"], progress["reached"], progress["streak_weeks"]) == (
        1,
        False,
        1,
    )
    accept(world)
    assert client.get("/api/v1/me/goal", headers=_as(world, "alice")).json()["reached"] is True
    client.put("/api/v1/me/goal", json={"clips": 5}, headers=_as(world, "alice"))
    assert client.get("/api/v1/me/goal", headers=_as(world, "alice")).json()["goal"] == 5
    assert client.get("/api/v1/me/goal", headers=_as(world, "bob")).json()["goal"] is None
    assert _goal_rows(world) == 1


def test_community_goals_by_slug_or_id(world: World, client: TestClient) -> None:
    accept(world)
    by_slug = client.get(
        f"/api/v1/campaigns/{world.campaign.slug}/goals", headers=_as(world, "bob")
    )
    assert by_slug.status_code == 200
    goals = {g["category"]: (g["accepted"], g["target"]) for g in by_slug.json()["categories"]}
    assert goals["package_theft"] == (1, 20_000) and goals["normal_activity"] == (0, 20_000)
    by_id = client.get(f"/api/v1/campaigns/{world.campaign.id}/goals", headers=_as(world, "bob"))
    assert by_id.json() == by_slug.json()
    for ref in ("no-such-campaign", "99999999999", "Bad_Ref"):
        r = client.get(f"/api/v1/campaigns/{ref}/goals", headers=_as(world, "bob"))
        assert (r.status_code, r.json()["error"]["code"]) == (404, "unknown_campaign")


def test_the_tier_board_lists_opted_in_handles_only_and_ones_own_tier(
    world: World, client: TestClient
) -> None:
    accept(world)
    accept(world, "bob")
    client.patch("/api/v1/me", json={"leaderboard_opt_in": True}, headers=_as(world, "alice"))
    r = client.get("/api/v1/leaderboard/tiers", headers=_as(world, "bob"))
    assert r.status_code == 200
    body = r.json()
    assert {t["tier"]: t["handles"] for t in body["tiers"]} == {
        "gold": [],
        "silver": [],
        "bronze": ["alice-h"],
    }
    assert body["me"] == "bronze", "bob sees his own tier without being listed"
    assert "bob-h" not in r.text
