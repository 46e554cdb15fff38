"""The published redaction miss rate and duplicate count, readable without signing in."""

from __future__ import annotations

from fastapi.testclient import TestClient

from vidonate.db.engine import transaction
from vidonate.db.models import Donation
from world import World


def test_miss_rate_counts_flagged_clips_among_redacted_ones(world: World,
                                                            client: TestClient) -> None:
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
    assert r.json() == {"clips_redacted": 4, "clips_flagged": 1, "miss_rate": 0.25,
                        "duplicates_caught": 1}
