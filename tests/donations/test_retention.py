"""Retention: what every consent text promises, housekeeping does."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tus_helpers import upload
from vidonate.campaigns.service import consent_in_force, create_campaign
from vidonate.db.engine import transaction
from vidonate.db.models import Campaign, Donation, DonationEvent, User
from vidonate.donations.retention import expire_retained_clips
from vidonate.donations.service import create_donation, validate_request
from vidonate.donations.states import transition
from vidonate.ingest.samples import generate_clip
from world import World


def _days_pass(world: World, donation_ids: list[int], days: float) -> None:
    """Move the clips' acceptance, and so their expiry, `days` into the past."""
    earlier = timedelta(days=days)
    with transaction(world.rt.sessions) as s:
        for event in s.query(DonationEvent).filter(
            DonationEvent.donation_id.in_(donation_ids), DonationEvent.to_status == "accepted"
        ):
            event.at -= earlier
        for donation in s.query(Donation).filter(Donation.id.in_(donation_ids)):
            assert donation.content_expires_at is not None
            donation.content_expires_at -= earlier


def _expire(world: World) -> int:
    rt = world.rt
    return expire_retained_clips(rt.sessions, rt.vault, rt.duplicates, rt.jobs)


@pytest.mark.slow  # a whole clip through processing: make test, not test-fast
def test_an_accepted_clip_past_its_retention_period_loses_key_and_bytes(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    world.rt.settings.redaction = False
    with transaction(world.rt.sessions) as s:
        campaign = s.get(Campaign, world.campaign.id)
        assert campaign is not None
        campaign.retention_days = 30
    for name in ("old", "recent"):
        clip = generate_clip(tmp_path / f"{name}.mp4", seconds=1.2, seed=len(name))
        upload(client, world.tokens["alice"], clip.read_bytes(), world.metadata())
    world.rt.jobs.run_pending()
    for donation_id in (1, 2):
        world.vote("rita", donation_id)
        world.vote("ravi", donation_id)
    _days_pass(world, [1], 30 + 1e-5)

    assert _expire(world) == 1
    assert _expire(world) == 0, "nothing twice"
    assert world.rt.jobs.run_pending() == 1, "the blobs go by a job"

    assert sorted(world.rt.store.keys("clips/")) == ["clips/2/thumbnail.jpg", "clips/2/video.mp4"]
    with transaction(world.rt.sessions) as s:
        old, recent = s.get(Donation, 1), s.get(Donation, 2)
        assert old is not None and recent is not None
        assert (old.status, old.wrapped_key, old.video_key) == ("accepted", None, None)
        assert recent.wrapped_key is not None
    alice = {"Authorization": f"Bearer {world.tokens['alice']}"}
    assert client.get("/api/v1/donations/1", headers=alice).json()["paid_cents"] == 200
    gone = client.get("/api/v1/donations/1/video", headers=alice)
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "content_destroyed"
    assert client.get("/api/v1/donations/2/video", headers=alice).status_code == 200


def _accepted_clips(world: World, n: int, **metadata: str) -> list[int]:
    with transaction(world.rt.sessions) as s:
        alice = s.get(User, world.alice.id)
        assert alice is not None
        ids = []
        for _ in range(n):
            donation = create_donation(
                s, alice, validate_request(s, alice, world.metadata(**metadata)), size=1000
            )
            world.rt.vault.new_clip_key(s, donation)
            for status in ("received", "processing", "in_review", "accepted"):
                transition(s, donation, status)  # type: ignore[arg-type]
            ids.append(donation.id)
        return ids


@pytest.mark.slow  # a whole clip through processing: make test, not test-fast
def test_a_short_retention_clip_expires_behind_hundreds_of_older_long_retention_ones(
    world: World,
) -> None:
    long_ones = _accepted_clips(world, 600)  # the campaign keeps clips for 730 days
    with transaction(world.rt.sessions) as s:
        short = create_campaign(
            s, slug="one-day", name="One day", budget_cents=10_000, retention_days=1
        )
        consent = consent_in_force(s, short).content_sha256
    (short_one,) = _accepted_clips(world, 1, campaign="one-day", consent=consent)
    _days_pass(world, [*long_ones, short_one], 2)  # all accepted two days ago

    world.rt.housekeeping()

    with transaction(world.rt.sessions) as s:
        assert s.get(Donation, short_one).wrapped_key is None  # type: ignore[union-attr]
        kept = s.query(Donation).filter(Donation.wrapped_key.is_not(None)).count()
        assert kept == 600


def test_a_rejected_clip_loses_its_content_at_the_next_housekeeping(world: World) -> None:
    kept, rejected = world.clip_in_review(), world.clip_in_review()
    for reviewer in ("rita", "ravi"):
        world.vote(reviewer, kept)
        world.vote(reviewer, rejected, "reject", reason="not_an_incident")
    assert _expire(world) == 1
    with transaction(world.rt.sessions) as s:
        gone, accepted = s.get_one(Donation, rejected), s.get_one(Donation, kept)
        assert (gone.status, gone.wrapped_key) == ("rejected", None)
        assert gone.rejection_reason == "not_an_incident", "the decision and its reason stay"
        assert accepted.wrapped_key is not None, "accepted: kept for its retention period"
