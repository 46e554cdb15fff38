"""Retention: what every consent text promises, housekeeping does."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from tus_helpers import upload
from vidonate.db.engine import transaction
from vidonate.db.models import Campaign, Donation, DonationEvent
from vidonate.donations.retention import expire_retained_clips
from vidonate.ingest.samples import generate_clip
from world import World


def test_an_accepted_clip_past_its_retention_period_loses_key_and_bytes(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    world.rt.settings.redaction = False
    for name in ("old", "recent"):
        clip = generate_clip(tmp_path / f"{name}.mp4", seconds=1.2, seed=len(name))
        upload(client, world.tokens["alice"], clip.read_bytes(), world.metadata())
    world.rt.worker.run_pending()
    for donation_id in (1, 2):
        world.vote("rita", donation_id)
        world.vote("ravi", donation_id)
    with transaction(world.rt.sessions) as s:
        campaign = s.get(Campaign, world.campaign.id)
        assert campaign is not None
        campaign.retention_days = 30
        accepted = s.query(DonationEvent).filter_by(donation_id=1, to_status="accepted").one()
        accepted.at = accepted.at - timedelta(days=30, seconds=1)

    assert expire_retained_clips(world.rt) == 1
    assert expire_retained_clips(world.rt) == 0, "nothing twice"

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
