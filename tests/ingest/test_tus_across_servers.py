"""One upload, two server processes: what a load balancer does to a tus client.

An upload begun through one server resumes through another at the right offset, and two
PATCHes at one offset sent to different servers at once cannot both append. The servers
share only the database and the blob store, as in a deployment.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from servers import server
from tus_helpers import TUS, auth, create, patch
from vidonate.config import Settings
from vidonate.db.engine import read_transaction
from vidonate.db.models import Donation, UploadPart
from vidonate.ingest.samples import generate_clip
from world import World

pytestmark = pytest.mark.slow


def test_an_upload_begun_on_one_server_resumes_on_another(
    world: World, settings: Settings, tmp_path: Path
) -> None:
    clip = generate_clip(tmp_path / "clip.mp4", seconds=2.0).read_bytes()
    half = len(clip) // 2
    token = world.tokens["alice"]
    with (
        server(settings, tmp_path / "a.log", "--no-worker") as a,
        server(settings, tmp_path / "b.log", "--no-worker") as b,
    ):
        with httpx.Client(base_url=a) as first:
            created = create(first, token, len(clip), world.metadata())
            assert created.status_code == 201, created.text
            location = created.headers["Location"]
            assert patch(first, token, location, 0, clip[:half]).status_code == 204
        with httpx.Client(base_url=b) as second:
            head = second.head(location, headers=auth(token))
            assert head.headers["Upload-Offset"] == str(half)
            done = patch(second, token, location, half, clip[half:], checksum=True)
            assert done.status_code == 204, done.text
    assert world.rt.jobs.run_pending() == 1  # processing, in this test's process
    with read_transaction(world.rt.sessions) as s:
        donation = s.scalars(select(Donation)).one()
        assert donation.status == "in_review"
        assert donation.source_sha256 == hashlib.sha256(clip).hexdigest()


def test_two_servers_cannot_both_append_at_one_offset(
    world: World, settings: Settings, tmp_path: Path
) -> None:
    token = world.tokens["alice"]
    body = b"\x00\x00\x00\x18ftypisom" + os.urandom(256 * 1024)
    with (
        server(settings, tmp_path / "a.log", "--no-worker") as a,
        server(settings, tmp_path / "b.log", "--no-worker") as b,
    ):
        with httpx.Client(base_url=a) as http:
            created = create(http, token, 4 * len(body), world.metadata())
            location = created.headers["Location"]
        start = threading.Barrier(2)
        answers: dict[str, int] = {}

        def send(url: str) -> None:
            with httpx.Client(base_url=url, timeout=60) as http:
                start.wait()
                answers[url] = patch(http, token, location, 0, body).status_code

        threads = [threading.Thread(target=send, args=(url,)) for url in (a, b)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(answers.values()) == [204, 409], answers
        with httpx.Client(base_url=b) as http:
            head = http.head(location, headers={**TUS, "Authorization": f"Bearer {token}"})
            assert head.headers["Upload-Offset"] == str(len(body))
    with read_transaction(world.rt.sessions) as s:
        parts = s.scalars(select(UploadPart)).all()
        assert [(p.offset, p.size) for p in parts] == [(0, len(body))]
    # The losing PATCH's bytes went nowhere: only the winner's part is in the store.
    assert len(world.rt.store.keys("uploads/")) == 1
