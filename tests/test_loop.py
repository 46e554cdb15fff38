"""The whole donation loop, end to end over real HTTP, on SQLite and on PostgreSQL:
a donor uploads over tus, the worker processes the clip, two reviewers accept it,
the donor is paid, and the leaderboard shows it."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tus_helpers import upload
from vidonate.ingest.samples import generate_clip
from vidonate.server import BackgroundServer
from world import World


def _wait_status(client: httpx.Client, token: str, donation_id: int, want: str) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        d = client.get(
            f"/api/v1/donations/{donation_id}", headers={"Authorization": f"Bearer {token}"}
        ).json()
        if d["status"] not in ("uploading", "received", "processing"):
            assert d["status"] == want, d
            return d
        time.sleep(0.1)
    raise AssertionError(f"donation {donation_id} never left processing")


@pytest.mark.slow  # a whole clip through processing: make test, not test-fast
def test_donate_process_review_pay_rank(world: World, tmp_path: Path) -> None:
    clip = generate_clip(
        tmp_path / "porch.mp4", seconds=2, audio=True, metadata={"location": "+52.37+004.89/"}
    )
    data = clip.read_bytes()
    world.rt.settings.worker_threads = 1
    with BackgroundServer(world.rt) as server, httpx.Client(base_url=server.url) as client:
        location = upload(client, world.tokens["alice"], data, world.metadata("alice"))
        assert location.startswith(server.url)
        alice = {"Authorization": f"Bearer {world.tokens['alice']}"}
        donation_id = client.get("/api/v1/donations", headers=alice).json()[0]["id"]

        donation = _wait_status(client, world.tokens["alice"], donation_id, "in_review")
        assert donation["width"] == 320 and donation["duration_s"] > 1.5
        assert not world.rt.store.keys("uploads/"), "the original upload must be deleted"

        for reviewer in ("rita", "ravi"):
            headers = {"Authorization": f"Bearer {world.tokens[reviewer]}"}
            item = client.get("/api/v1/review/next", headers=headers).json()
            assert item["id"] == donation_id
            video = client.get(item["video_url"], headers=headers)
            assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
            vote = client.post(
                f"/api/v1/review/{donation_id}/votes",
                headers=headers,
                json={"decision": "accept", "category": "package_theft"},
            )
            assert vote.status_code == 201, vote.text
        assert vote.json() == {
            "status": "accepted",
            "accepts": 2,
            "rejects": 0,
            "paid_cents": 200,
            "unpaid_reason": None,
        }

        mine = client.get(f"/api/v1/donations/{donation_id}", headers=alice).json()
        assert mine["status"] == "accepted" and mine["paid_cents"] == 200
        assert [e["to_status"] for e in mine["history"]] == [
            "uploading",
            "received",
            "processing",
            "in_review",
            "accepted",
        ]
        assert client.get("/api/v1/balance", headers=alice).json() == {
            "balance_cents": 200,
            "accepted": 1,
            "paid_clips": 1,
            "received_this_year_cents": 0,
            "tax_details_threshold_cents": 200_000,
        }

        board = client.get("/api/v1/leaderboard", headers=alice).json()
        assert board["entries"] == [], "the leaderboard is opt-in"
        assert board["me"] == {"rank": 1, "handle": "alice-h", "accepted": 1}
        client.patch("/api/v1/me", headers=alice, json={"leaderboard_opt_in": True})
        board = client.get(
            "/api/v1/leaderboard", headers={"Authorization": f"Bearer {world.tokens['bob']}"}
        ).json()
        assert board["entries"] == [{"rank": 1, "handle": "alice-h", "accepted": 1}]
        assert board["me"] is None
