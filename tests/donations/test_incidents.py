"""Incidents: one scene from several of a donor's cameras, joined by key or by
overlapping recording times; reviewers see the angles side by side; a campaign pays
each angle or once per incident."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from vidonate.accounts.cameras import add_camera
from vidonate.db.engine import transaction
from vidonate.db.models import Donation, Incident, User
from vidonate.donations.incidents import assign_incident
from vidonate.runtime import Runtime
from world import World, build_world

T0 = datetime(2026, 11, 1, 20, 0, tzinfo=UTC)


@pytest.fixture
def cams(world: World) -> dict[str, int]:
    with transaction(world.rt.sessions) as s:
        alice = s.get(User, world.alice.id)
        return {
            "porch": world.cameras["alice"],
            "drive": add_camera(s, alice, "driveway", "driveway").id,  # type: ignore[arg-type]
            "street": add_camera(s, alice, "street", "street").id,  # type: ignore[arg-type]
        }


def clip(
    world: World,
    camera: int,
    start: datetime | None,
    seconds: float = 30,
    key: str | None = None,
    donor: str = "alice",
) -> int:
    meta = {"camera": str(camera)}
    if start is not None:
        meta["recorded_at"] = start.isoformat()
    if key:
        meta["incident"] = key
    donation_id = world.clip_in_review(donor, **meta)
    with transaction(world.rt.sessions) as s:
        d = s.get(Donation, donation_id)
        assert d is not None
        d.duration_s = seconds
        assign_incident(s, d)
    return donation_id


def incident_of(world: World, donation_id: int) -> int | None:
    with transaction(world.rt.sessions) as s:
        return s.get(Donation, donation_id).incident_id  # type: ignore[union-attr]


def test_overlapping_clips_from_different_cameras_form_one_incident(
    world: World, cams: dict[str, int]
) -> None:
    a = clip(world, cams["porch"], T0)
    b = clip(world, cams["drive"], T0 + timedelta(seconds=20))
    c = clip(world, cams["street"], T0 + timedelta(minutes=5))
    assert incident_of(world, a) is not None
    assert incident_of(world, a) == incident_of(world, b)
    assert incident_of(world, c) is None, "a later, separate recording stays alone"


def test_overlap_on_the_same_camera_is_not_another_angle(
    world: World, cams: dict[str, int]
) -> None:
    clip(world, cams["porch"], T0)
    b = clip(world, cams["porch"], T0 + timedelta(seconds=10))
    assert incident_of(world, b) is None


def test_clips_without_a_recording_time_join_by_key_only(
    world: World, cams: dict[str, int]
) -> None:
    a = clip(world, cams["porch"], None)
    b = clip(world, cams["drive"], None)
    assert incident_of(world, a) is None and incident_of(world, b) is None
    c = clip(world, cams["porch"], None, key="night-7")
    d = clip(world, cams["street"], T0 + timedelta(days=3), key="night-7")
    assert incident_of(world, c) == incident_of(world, d) is not None


def test_other_donors_clips_never_join(world: World, cams: dict[str, int]) -> None:
    a = clip(world, cams["porch"], T0, key="k")
    b = clip(world, world.cameras["bob"], T0, key="k", donor="bob")
    assert incident_of(world, a) != incident_of(world, b)


def test_a_clip_that_bridges_two_incidents_merges_them(world: World, cams: dict[str, int]) -> None:
    a = clip(world, cams["porch"], T0, key="left")
    b = clip(world, cams["drive"], T0 + timedelta(minutes=2), key="right")
    assert incident_of(world, a) != incident_of(world, b)
    bridge = clip(world, cams["street"], T0 + timedelta(seconds=10), seconds=120)
    assert incident_of(world, a) == incident_of(world, b) == incident_of(world, bridge)
    with transaction(world.rt.sessions) as s:
        (incident,) = s.query(Incident).all()
        assert incident.starts_at == T0
        assert incident.ends_at == T0 + timedelta(minutes=2, seconds=30)


def test_reviewers_see_the_other_angles(
    world: World, cams: dict[str, int], client: TestClient
) -> None:
    a = clip(world, cams["porch"], T0)
    b = clip(world, cams["drive"], T0 + timedelta(seconds=5))
    item = client.get(
        "/api/v1/review/next", headers={"Authorization": f"Bearer {world.tokens['rita']}"}
    ).json()
    assert item["id"] == a
    assert [angle["id"] for angle in item["angles"]] == [b]
    assert item["angles"][0]["video_url"].endswith(f"/donations/{b}/video")
    page = client.get("/review", headers={"Authorization": f"Bearer {world.tokens['rita']}"}).text
    assert f"/api/v1/donations/{b}/video" in page and "angle #" in page


@pytest.mark.parametrize(
    ("policy", "paid"), [("each_angle", [200, 200]), ("once_per_incident", [200, 0])]
)
def test_a_campaign_pays_each_angle_or_once_per_incident(
    rt: Runtime, policy: str, paid: list[int]
) -> None:
    world = build_world(rt, incident_payment=policy)
    with transaction(rt.sessions) as s:
        drive = add_camera(s, s.get(User, world.alice.id), "driveway", "driveway").id  # type: ignore[arg-type]
    angles = [clip(world, world.cameras["alice"], T0), clip(world, drive, T0)]
    outcomes = []
    for angle in angles:
        world.vote("rita", angle)
        outcomes.append(world.vote("ravi", angle))
    assert [o.paid_cents for o in outcomes] == paid
    if policy == "once_per_incident":
        assert outcomes[1].unpaid_reason == "incident_already_paid"
