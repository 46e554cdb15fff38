"""The server-rendered pages: sign in, donate, my donations, review, leaderboard."""

from __future__ import annotations

import io
import json
import os
import re
import sys
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from vidonate.db.engine import transaction
from vidonate.db.models import Donation, Upload
from vidonate.ingest.samples import generate_clip
from world import World


def form_token(client: TestClient, path: str = "/login") -> str:
    """The CSRF token a page's forms carry, as a browser would read it from the HTML."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert match, f"{path} renders no csrf_token"
    return match.group(1)


def _sign_in(client: TestClient, username: str) -> None:
    r = client.post(
        "/login",
        data={
            "username": username,
            "password": f"{username}-password",
            "csrf_token": form_token(client),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def test_pages_need_a_signed_in_user(client: TestClient) -> None:
    for path in ("/donate", "/donations", "/review", "/leaderboard"):
        r = client.get(path, follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, "/login"), path
    assert "Porch test" in client.get("/").text


def test_wrong_password_shows_the_reason(client: TestClient) -> None:
    r = client.post(
        "/login",
        data={"username": "alice", "password": "nope-nope", "csrf_token": form_token(client)},
    )
    assert r.status_code == 401 and "bad_credentials" in r.text


@pytest.mark.slow  # a whole clip through processing: make test, not test-fast
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
        "csrf_token": form_token(client, "/donate"),
    }
    r = client.post(
        "/donate",
        data=data,
        files={"file": ("porch.mp4", clip.read_bytes())},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert world.rt.jobs.run_pending() == 1
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
        "csrf_token": form_token(client, "/donate"),
    }
    r = client.post("/donate", data=data, files={"file": ("porch.mp4", clip.read_bytes())})
    assert r.status_code == 400 and "consent_missing" in r.text
    with transaction(world.rt.sessions) as s:
        assert s.query(Donation).count() == 0


def _donate_form(client: TestClient, world: World) -> dict[str, str]:
    return {
        "campaign": world.campaign.slug,
        "category": "package_theft",
        "camera": str(world.cameras["alice"]),
        "consent": world.consent_sha256,
        "csrf_token": form_token(client, "/donate"),
    }


def test_a_text_file_donated_through_the_form_is_refused_for_its_real_reason(
    client: TestClient, world: World
) -> None:
    _sign_in(client, "alice")
    r = client.post(
        "/donate",
        data=_donate_form(client, world),
        files={"file": ("notes.txt", b"just some notes, not a video\n")},
    )
    assert r.status_code == 415, r.text
    assert "unsupported_file_type" in r.text and "upload_not_found" not in r.text
    assert "is not a video container vidonate reads" in r.text
    with transaction(world.rt.sessions) as s:
        assert s.query(Donation).count() == 0
    assert world.rt.store.keys("uploads/") == []


_WRITES: list[str] | None = None  # the files opened for writing while a test watches


def _note_writes(event: str, args: tuple) -> None:  # type: ignore[type-arg]
    if _WRITES is None:
        return
    if event == "open":
        path, mode, flags = args
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR)
        )
        if writing and isinstance(path, (str, os.PathLike)):
            _WRITES.append(os.fspath(path))
    elif event == "tempfile.mkstemp":
        _WRITES.append(os.fspath(args[0]))
    elif event == "os.rename":  # os.replace too: a file written, then moved into place
        source, target = os.fspath(args[0]), os.fspath(args[1])
        _WRITES[:] = [target if path == source else path for path in _WRITES]


sys.addaudithook(_note_writes)  # audit hooks cannot be removed; inactive unless watching


@contextmanager
def files_written() -> Iterator[list[str]]:
    """Every file the process opens for writing (or renames into place) meanwhile."""
    global _WRITES
    _WRITES = []
    try:
        yield _WRITES
    finally:
        _WRITES = None


def test_the_form_streams_the_clip_to_the_encrypted_store_with_no_plaintext_temp_file(
    client: TestClient, world: World
) -> None:
    _sign_in(client, "alice")
    marker = b"PLAINTEXT-MARKER-" * 8
    # An MP4 head passes the container sniff; 3 MB is past the 1 MiB at which a spooled
    # upload (Starlette's UploadFile) moves to a temp file on disk.
    data = b"\x00\x00\x00\x18ftypisom" + marker * (3 * 1024 * 1024 // len(marker))
    form = _donate_form(client, world)
    with files_written() as written:
        r = client.post(
            "/donate", data=form, files={"file": ("porch.mp4", data)}, follow_redirects=False
        )
    assert r.status_code == 303, r.text
    assert written, "the upload was written somewhere"
    for path in written:
        assert Path(path).is_file(), f"{path} was an anonymous or deleted temporary file"
        assert marker not in Path(path).read_bytes(), f"{path} holds the clip in plaintext"
    with transaction(world.rt.sessions) as s:
        donation = s.query(Donation).one()
        assert (donation.status, donation.source_size) == ("received", len(data))
        assert donation.source_filename == "porch.mp4"
        keys = [p.key for p in s.query(Upload).one().parts]
    assert b"".join(world.plaintext(donation.id, k) for k in keys) == data


def test_reviewer_page_shows_the_processed_video_and_takes_a_vote(
    client: TestClient, world: World
) -> None:
    clip = world.clip_in_review("alice")
    _sign_in(client, "rita")
    page = client.get("/review").text
    assert f"/api/v1/donations/{clip}/video" in page and "poor_quality" in page
    r = client.post(
        f"/review/{clip}",
        data={"decision": "reject", "reason": "poor_quality", "csrf_token": form_token(client)},
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
    r = client.post(
        "/leaderboard",
        data={"handle": "porch-hero", "opt_in": "true", "csrf_token": form_token(client)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get("/leaderboard").text
    assert "<td>porch-hero</td>" in page
    # The tiers list the opted-in by name only: bronze from the first accepted clip.
    assert "You are <strong>bronze tier</strong>" in page
    assert "(1+ accepted clips): porch-hero" in page


@pytest.mark.slow  # a whole clip through processing: make test, not test-fast
def test_the_video_serves_byte_ranges_so_reviewers_can_seek(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    from tus_helpers import upload

    clip = generate_clip(tmp_path / "porch.mp4", seconds=1.5)
    upload(client, world.tokens["alice"], clip.read_bytes(), world.metadata())
    world.rt.jobs.run_pending()
    rita = {"Authorization": f"Bearer {world.tokens['rita']}"}
    assert client.get("/api/v1/review/next", headers=rita).json()["id"] == 1, "given to rita"
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
    for malformed in (b"bytes=\xb2-", "bytes=0-٣".encode(), b"bytes=-" + b"9" * 5000, b"bytes=-"):
        r = client.get("/api/v1/donations/1/video", headers={**rita, "Range": malformed})
        assert (r.status_code, r.json()["error"]["code"]) == (400, "malformed_range"), malformed


def test_a_donor_withdraws_a_clip_then_everything_and_downloads_their_data_from_the_page(
    client: TestClient, world: World
) -> None:
    first, second = world.clip_in_review(), world.clip_in_review()
    _sign_in(client, "alice")
    page = client.get("/donations").text
    assert f'action="/donations/{first}/withdraw"' in page and 'action="/withdraw"' in page
    assert 'href="/export"' in page

    token = form_token(client, "/donations")
    r = client.post(
        f"/donations/{first}/withdraw", data={"csrf_token": token}, follow_redirects=False
    )
    assert (r.status_code, r.headers["location"]) == (303, f"/donations?withdrawn={first}")
    page = client.get(r.headers["location"]).text
    assert f"Clip {first} is withdrawn" in page
    assert f'action="/donations/{first}/withdraw"' not in page, "nothing left to withdraw"

    unconfirmed = client.post("/withdraw", data={"csrf_token": token})
    assert unconfirmed.status_code == 400 and "confirmation_missing" in unconfirmed.text
    r = client.post(
        "/withdraw", data={"csrf_token": token, "confirm": "yes"}, follow_redirects=False
    )
    assert (r.status_code, r.headers["location"]) == (303, "/donations?withdrawn=all")
    assert "Everything is withdrawn" in client.get(r.headers["location"]).text
    with transaction(world.rt.sessions) as s:
        statuses = {d.id: d.status for d in s.query(Donation)}
    assert statuses == {first: "withdrawn", second: "withdrawn"}

    export = client.get("/export")
    assert export.status_code == 200 and export.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(export.content)) as archive:
        withdrawals = json.loads(archive.read("withdrawals.json"))
    assert [w["scope"] for w in withdrawals] == ["clip", "all"]


def test_every_page_links_the_transparency_report(client: TestClient) -> None:
    assert 'href="/transparency"' in client.get("/login").text
