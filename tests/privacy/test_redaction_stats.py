"""The published redaction miss rate and duplicate count, readable without signing in."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from vidonate.db.engine import transaction
from vidonate.db.models import Donation
from world import World


def test_miss_rate_counts_flagged_clips_among_redacted_ones(
    world: World, client: TestClient
) -> None:
    ids = [world.clip_in_review() for _ in range(4)]
    with transaction(world.rt.sessions) as s:
        for i, donation_id in enumerate(ids):
            d = s.get(Donation, donation_id)
            assert d is not None
            d.video_key = f"clips/{donation_id}/video.mp4"
            d.redaction_flagged = i == 0
        s.get(Donation, ids[3]).duplicate_of = ids[2]  # type: ignore[union-attr]
    r = client.get("/api/v1/stats/redaction")
    assert r.status_code == 200
    assert r.json() == {
        "clips_redacted": 4,
        "clips_flagged": 1,
        "miss_rate": 0.25,
        "duplicates_caught": 1,
    }


def test_a_clip_with_legible_text_counts_in_the_miss_rate_and_the_transparency_report(
    world: World, client: TestClient
) -> None:
    ids = [world.clip_in_review() for _ in range(2)]
    with transaction(world.rt.sessions) as s:
        for donation_id, left, share in zip(ids, (0, 2), (0.1, 0.3), strict=True):
            d = s.get(Donation, donation_id)
            assert d is not None
            d.video_key = f"clips/{donation_id}/video.mp4"
            d.text_strings_read, d.text_strings_left, d.redacted_share = 3, left, share
            d.redaction_flagged = left > 0  # what the processing job records
    stats = client.get("/api/v1/stats/redaction").json()
    assert (stats["clips_redacted"], stats["clips_flagged"], stats["miss_rate"]) == (2, 1, 0.5)
    report = client.get("/api/v1/transparency").json()["redaction"]
    assert report == {
        "clips_redacted": 2,
        "clips_flagged": 1,
        "clips_with_legible_text": 1,
        "miss_rate": 0.5,
        "mean_redacted_share": pytest.approx(0.2),
    }
