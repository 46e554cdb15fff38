"""The server-rendered pages: sign in, donate, my donations, review, leaderboard."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from conftest import World
from vidonate.db.engine import transaction
from vidonate.db.models import Donation
from vidonate.ingest.samples import generate_clip


def _sign_in(client: TestClient, username: str) -> None:
    r = client.post(
        "/login",
        data={"username": username, "password": f"{username}-password"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def test_pages_need_a_signed_in_user(client: TestClient) -> None:
    for path in ("/donate", "/donations", "/review", "/leaderboard"):
        r = client.get(path, follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, "/login"), path
    assert "Porch test" in client.get("/").text


def test_wrong_password_shows_the_reason(client: TestClient) -> None:
    r = client.post("/login", data={"username": "alice", "password": "nope-nope"})
    assert r.status_code == 401 and "bad_credentials" in r.text


def test_donor_donates_through_the_form_and_sees_status_and_earnings(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    _sign_in(client, "alice")
    form = client.get("/donate").text
    assert world.consent_sha256 in form and "front porch" in form
    clip = generate_clip(tmp_path / "porch.mp4", seconds=1.5)
    data = {
        "campaign": world.campaign.slug,
        "category": "package_theft",
        "camera": str(world.cameras["alice"]),
        "consent": world.consent_sha256,
    }
    r = client.post(
        "/donate",
        data=data,
        files={"file": ("porch.mp4", clip.read_bytes())},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert world.rt.worker.run_pending() == 1
    world.vote("rita", 1)
    world.vote("ravi", 1)
    page = client.get("/donations").text
    assert "accepted" in page and "$2.00" in page
    assert 'src="/api/v1/donations/1/thumbnail"' in page
    assert client.get("/api/v1/donations/1/thumbnail").headers["content-type"] == "image/jpeg"


def test_the_form_refuses_a_donation_without_consent_and_keeps_nothing(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    _sign_in(client, "alice")
    clip = generate_clip(tmp_path / "porch.mp4", seconds=1.5)
    data = {
        "campaign": world.campaign.slug,
        "category": "package_theft",
        "camera": str(world.cameras["alice"]),
    }
    r = client.post("/donate", data=data, files={"file": ("porch.mp4", clip.read_bytes())})
    assert r.status_code == 400 and "consent_missing" in r.text
    with transaction(world.rt.sessions) as s:
        assert s.query(Donation).count() == 0


def test_reviewer_page_shows_the_processed_video_and_takes_a_vote(
    client: TestClient, world: World
) -> None:
    clip = world.clip_in_review("alice")
    _sign_in(client, "rita")
    page = client.get("/review").text
    assert f"/api/v1/donations/{clip}/video" in page and "poor_quality" in page
    r = client.post(
        f"/review/{clip}",
        data={"decision": "reject", "reason": "poor_quality"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "The queue is empty" in client.get("/review").text


def test_leaderboard_opt_in_and_own_rank(client: TestClient, world: World) -> None:
    clip = world.clip_in_review("alice")
    world.vote("rita", clip)
    world.vote("ravi", clip)
    _sign_in(client, "alice")
    page = client.get("/leaderboard").text
    assert "Your rank: <strong>1</strong>" in page and "only you see this" in page
    assert "Nobody has opted in yet" in page
    client.post("/leaderboard", data={"handle": "porch-hero", "opt_in": "true"})
    page = client.get("/leaderboard").text
    assert "<td>porch-hero</td>" in page


def test_the_video_serves_byte_ranges_so_reviewers_can_seek(
        client: TestClient, world: World, tmp_path: Path) -> None:
    from tus_helpers import upload

    clip = generate_clip(tmp_path / "porch.mp4", seconds=1.5)
    upload(client, world.tokens["alice"], clip.read_bytes(), world.metadata())
    world.rt.worker.run_pending()
    rita = {"Authorization": f"Bearer {world.tokens['rita']}"}
    whole = client.get("/api/v1/donations/1/video", headers=rita)
    assert whole.status_code == 200 and whole.headers["accept-ranges"] == "bytes"
    size = len(whole.content)
    part = client.get("/api/v1/donations/1/video", headers={**rita, "Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{size}"
    assert part.content == whole.content[100:200]
    tail = client.get("/api/v1/donations/1/video", headers={**rita, "Range": "bytes=-10"})
    assert tail.content == whole.content[-10:]
    bad = client.get("/api/v1/donations/1/video", headers={**rita, "Range": f"bytes={size}-"})
    assert (bad.status_code, bad.json()["error"]["code"]) == (416, "bad_range")
