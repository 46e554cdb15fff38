"""Pages and API reads take no write lock, and no transaction stays open while clip bytes
stream: an upload or a job that writes never makes a reader wait, nor a reader a writer."""

from __future__ import annotations

import asyncio
import io
import sqlite3
import zipfile
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tus_helpers import upload
from vidonate.db.engine import make_engine, make_sessionmaker, transaction
from vidonate.db.models import Donation
from vidonate.ingest.samples import generate_clip
from vidonate.web.app import create_app
from world import World

READS = (
    "/",
    "/transparency",
    "/donations",
    "/donate",
    "/leaderboard",
    "/api/v1/me",
    "/api/v1/donations",
    "/api/v1/campaigns",
    "/api/v1/campaigns/porch-test",
    "/api/v1/cameras",
    "/api/v1/balance",
    "/api/v1/leaderboard",
    "/api/v1/me/tokens",
    "/api/v1/transparency",
    "/api/v1/stats/redaction",
    "/api/v1/badges",
    "/api/v1/me/badges",
    "/api/v1/me/goal",
    "/api/v1/campaigns/porch-test/goals",
    "/api/v1/leaderboard/tiers",
)


def _bearer(world: World, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[who]}"}


def test_pages_and_api_reads_answer_while_another_connection_holds_the_write_lock(
    client: TestClient, world: World
) -> None:
    """On SQLite a read that began IMMEDIATE would wait here for the writer, which waits
    for the test; on PostgreSQL the same reads run READ ONLY."""
    engine = make_engine(world.rt.settings.database_url)
    try:
        with transaction(make_sessionmaker(engine)) as writer:
            writer.execute(text("UPDATE campaigns SET name = name"))  # holds the write lock
            answers = {path: client.get(path, headers=_bearer(world, "alice")) for path in READS}
            anonymous = client.get("/api/v1/transparency")
    finally:
        engine.dispose()
    assert {path: r.status_code for path, r in answers.items()} == dict.fromkeys(READS, 200)
    assert "Porch test" in answers["/"].text
    assert anonymous.status_code == 200


def _processed_clip(client: TestClient, world: World, tmp_path: Path) -> int:
    world.rt.settings.redaction = False
    clip = generate_clip(tmp_path / "clip.mp4", seconds=1.2)
    upload(client, world.tokens["alice"], clip.read_bytes(), world.metadata("alice"))
    world.rt.jobs.run_pending()
    with transaction(world.rt.sessions) as s:
        donation = s.query(Donation).order_by(Donation.id.desc()).first()
        assert donation is not None and donation.video_key, "the clip was processed"
        return donation.id


def _get_pausing_at_first_bytes(
    app: Any, path: str, headers: dict[str, str], at_first_bytes: Callable[[], None]
) -> tuple[int, bytes]:
    """GET ``path`` from the ASGI app as a server would, calling ``at_first_bytes`` while
    the response is held after its first body bytes (the rest not yet produced)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")]
        + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    status = 0
    body: list[bytes] = []
    asked = False

    async def receive() -> dict[str, Any]:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the client stays connected
        raise AssertionError("unreachable")

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body" and message.get("body"):
            if not body:
                at_first_bytes()  # the loop is held here: the stream is paused mid-way
            body.append(message["body"])

    asyncio.run(app(scope, receive, send))
    return status, b"".join(body)


def _take_the_write_lock_at_once(database: Path) -> None:
    """A writer that waits 50 ms at most for SQLite's write lock, then gives up."""
    writer = sqlite3.connect(database, timeout=0.05, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE campaigns SET name = name")
        writer.execute("COMMIT")
    finally:
        writer.close()


@pytest.mark.parametrize("what", ["video", "range of the video", "data export"])
@pytest.mark.slow  # streams whole clips while writing: make test, not test-fast
def test_a_writer_takes_the_sqlite_write_lock_at_once_while_clip_bytes_stream(
    client: TestClient, world: World, tmp_path: Path, what: str
) -> None:
    url = world.rt.settings.database_url
    if not url.startswith("sqlite"):
        pytest.skip("SQLite's single write lock; PostgreSQL locks rows")
    donation_id = _processed_clip(client, world, tmp_path)
    headers = _bearer(world, "alice")
    path = f"/api/v1/donations/{donation_id}/video"
    if what == "range of the video":
        headers["Range"] = "bytes=100-"
    elif what == "data export":
        path = "/api/v1/me/export"
    writes: list[str] = []

    def write_now() -> None:
        _take_the_write_lock_at_once(Path(url.removeprefix("sqlite:///")))
        writes.append("committed")

    app = create_app(world.rt, run_worker=False)
    status, body = _get_pausing_at_first_bytes(app, path, headers, write_now)
    assert writes == ["committed"]
    with transaction(world.rt.sessions) as s:
        donation = s.get(Donation, donation_id)
        assert donation is not None and donation.video_key
        video_key = donation.video_key
    video = world.plaintext(donation_id, video_key)
    if what == "video":
        assert (status, body) == (200, video)
    elif what == "range of the video":
        assert (status, body) == (206, video[100:])
    else:
        archive = zipfile.ZipFile(io.BytesIO(body))
        assert status == 200
        assert archive.read(f"clips/{donation_id}/video.mp4") == video
