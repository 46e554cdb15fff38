"""The real Python tus client, tuspy, against the real server over loopback: an
upload cut off mid-way resumes from the server's offset, and the stored bytes
are exactly the source's."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from tusclient import client as tus_client

from netcut import CuttingProxy
from vidonate.client import Api
from vidonate.db.engine import transaction
from vidonate.db.models import Upload
from vidonate.ingest.samples import sample_clips
from vidonate.server import BackgroundServer
from world import World

MIN_SIZE = 400_000


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    """A real clip (bikes.mp4, 0.5 MB) when the shared footage is present. Otherwise a
    generated clip padded with noise to the same scale: these tests compare bytes and
    never decode them."""
    clip = sample_clips(tmp_path, count=3)[-1]
    if clip.stat().st_size < MIN_SIZE:
        padded = tmp_path / "padded.mp4"
        padded.write_bytes(clip.read_bytes() + os.urandom(MIN_SIZE - clip.stat().st_size))
        return padded
    return clip


def _stored(world: World) -> tuple[bytes, list[int]]:
    with transaction(world.rt.sessions) as s:
        upload = s.query(Upload).one()
        assert upload.completed_at is not None
        keys, sizes = [p.key for p in upload.parts], [p.size for p in upload.parts]
        donation_id = upload.donation_id
    return b"".join(world.plaintext(donation_id, k) for k in keys), sizes


def test_stock_tuspy_resumes_after_the_connection_is_cut(world: World, clip: Path) -> None:
    source = clip.read_bytes()
    cut_at = len(source) // 2
    with (
        BackgroundServer(world.rt, run_worker=False) as server,
        CuttingProxy(server.port, cut_after=cut_at) as proxy,
    ):
        tus = tus_client.TusClient(
            f"{proxy.url}/api/v1/uploads",
            headers={"Authorization": f"Bearer {world.tokens['alice']}"},
        )
        uploader = tus.uploader(str(clip), metadata=world.metadata(), retries=3, retry_delay=0.2)
        uploader.upload()  # one PATCH for the whole file, cut half-way, then resumed
        assert proxy.cuts == 1
    stored, sizes = _stored(world)
    assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(source).hexdigest()
    assert len(sizes) == 2 and 0 < sizes[0] < len(source), (
        "the bytes that arrived before the cut were kept and the rest resumed after them"
    )


def test_vidonate_client_resumes_checksummed_chunks_after_a_cut(world: World, clip: Path) -> None:
    source = clip.read_bytes()
    chunk = 64 * 1024
    with (
        BackgroundServer(world.rt, run_worker=False) as server,
        CuttingProxy(server.port, cut_after=chunk * 3 + chunk // 2) as proxy,
    ):
        api = Api(proxy.url, world.tokens["alice"])
        seen: list[int] = []
        api.upload(
            clip,
            world.metadata(),
            chunk_size=chunk,
            retries=3,
            on_progress=lambda done, _total: seen.append(done),
        )
        api.close()
        assert proxy.cuts == 1
    stored, sizes = _stored(world)
    assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(source).hexdigest()
    assert all(size == chunk for size in sizes[:-1]), "a half chunk fails its sha256 and is dropped"
    assert seen[-1] == len(source)


def test_an_interrupted_run_resumes_from_the_remembered_url(
    world: World, clip: Path, tmp_path: Path
) -> None:
    source = clip.read_bytes()
    store = tmp_path / "uploads.json"
    chunk = 64 * 1024
    with BackgroundServer(world.rt, run_worker=False) as server:
        api = Api(server.url, world.tokens["alice"])

        def stop_after_two(done: int, _total: int) -> None:
            if done >= 2 * chunk:
                raise KeyboardInterrupt  # the donor closes the laptop

        with pytest.raises(KeyboardInterrupt):
            api.upload(
                clip,
                world.metadata(),
                chunk_size=chunk,
                resume_store=store,
                on_progress=stop_after_two,
            )
        progress: list[int] = []
        api.upload(
            clip,
            world.metadata(),
            chunk_size=chunk,
            resume_store=store,
            on_progress=lambda done, _t: progress.append(done),
        )
        api.close()
    assert progress[0] == 3 * chunk, "the second run starts where the first stopped"
    stored, _sizes = _stored(world)
    assert stored == source


def test_a_refused_upload_reports_the_servers_reason_without_retrying(
    world: World, tmp_path: Path
) -> None:
    from vidonate.client import ApiError

    document = tmp_path / "invoice.pdf"
    document.write_bytes(b"%PDF-1.7\n" + os.urandom(100_000))
    with BackgroundServer(world.rt, run_worker=False) as server:
        api = Api(server.url, world.tokens["alice"])
        with pytest.raises(ApiError) as exc:
            api.upload(document, world.metadata(), chunk_size=32 * 1024, retries=5)
        api.close()
    assert (exc.value.status_code, exc.value.code) == (415, "unsupported_file_type")
