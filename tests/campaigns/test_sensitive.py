"""Consent rules that protect people who cannot consent: children and the inside of
homes are refused by default and never paid for; staged clips need an attestation."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tus_helpers import create
from vidonate.accounts.cameras import add_camera
from vidonate.campaigns.service import create_campaign
from vidonate.db.engine import transaction
from vidonate.db.models import User
from vidonate.errors import InvalidInput
from vidonate.runtime import Runtime
from world import World


@pytest.mark.parametrize("category", ["baby_monitor", "children_playing", "indoor_activity"])
def test_sensitive_categories_are_refused_by_default(rt: Runtime, category: str) -> None:
    with pytest.raises(InvalidInput) as exc, transaction(rt.sessions) as s:
        create_campaign(
            s, slug="nursery", name="Nursery", budget_cents=0, categories={category: 10}
        )
    assert exc.value.code == "sensitive_category"


def test_an_admin_may_open_one_only_unpaid_with_the_sensitive_data_setting(rt: Runtime) -> None:
    with pytest.raises(InvalidInput) as exc, transaction(rt.sessions) as s:
        create_campaign(
            s,
            slug="nursery",
            name="Nursery",
            budget_cents=0,
            reward_cents=200,
            categories={"baby_monitor": 10},
            sensitive_data=True,
        )
    assert exc.value.code == "sensitive_campaign_paid"
    with transaction(rt.sessions) as s:
        campaign = create_campaign(
            s,
            slug="nursery",
            name="Nursery",
            budget_cents=0,
            reward_cents=0,
            categories={"baby_monitor": 10},
            sensitive_data=True,
        )
        assert campaign.sensitive_data is True


def test_the_api_refuses_a_sensitive_campaign_with_a_reason(
    client: TestClient, world: World
) -> None:
    from vidonate.accounts.users import create_user, issue_token

    with transaction(world.rt.sessions) as s:
        admin = create_user(s, "root", "root-password", ["admin"])
        token = issue_token(s, admin)
    r = client.post(
        "/api/v1/campaigns",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "slug": "kids",
            "name": "Kids",
            "budget_cents": 100,
            "categories": {"kids_at_door": 5},
        },
    )
    assert (r.status_code, r.json()["error"]["code"]) == (400, "sensitive_category")


def test_indoor_cameras_cannot_donate_to_an_ordinary_campaign(
    client: TestClient, world: World
) -> None:
    with transaction(world.rt.sessions) as s:
        camera = add_camera(s, s.get(User, world.alice.id), "hallway", "indoor")  # type: ignore[arg-type]
    r = create(client, world.tokens["alice"], 100, world.metadata(camera=str(camera.id)))
    assert (r.status_code, r.json()["error"]["code"]) == (400, "sensitive_placement")


def test_a_staged_clip_needs_the_everyone_agreed_attestation(
    client: TestClient, world: World
) -> None:
    r = create(client, world.tokens["alice"], 100, world.metadata(staged="true"))
    assert (r.status_code, r.json()["error"]["code"]) == (400, "attestation_missing")
    r = create(
        client, world.tokens["alice"], 100, world.metadata(staged="true", attestation="true")
    )
    assert r.status_code == 201
