"""The processing job: a good clip reaches review as video-only H.264 with a thumbnail
and its original is deleted; a bad one fails with its reason and the worker goes on."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import av
import pytest
from fastapi.testclient import TestClient

from jobs.crashes import as_if_its_worker_died, only_job
from tus_helpers import upload
from vidonate.db.engine import transaction
from vidonate.db.models import Donation
from vidonate.donations.states import transition
from vidonate.ingest.samples import generate_clip
from world import World


def _donate(client: TestClient, world: World, data: bytes, donor: str = "alice") -> int:
    upload(client, world.tokens[donor], data, world.metadata(donor))
    with transaction(world.rt.sessions) as s:
        return s.query(Donation).order_by(Donation.id.desc()).first().id  # type: ignore[union-attr]


@pytest.mark.slow  # a whole clip through processing: make test, not test-fast
def test_good_clip_becomes_video_only_h264_with_thumbnail(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    clip = generate_clip(
        tmp_path / "in.mkv",
        seconds=2,
        audio=True,
        metadata={"make": "Acme", "model": "Cam 3", "location": "+52+004/"},
    )
    donation_id = _donate(client, world, clip.read_bytes())
    assert world.rt.jobs.run_pending() == 1
    with transaction(world.rt.sessions) as s:
        d = s.get(Donation, donation_id)
        assert d is not None and d.status == "in_review"
        assert d.source_sha256 and d.video_key and d.thumbnail_key
    assert world.rt.store.keys("uploads/") == [], "the original upload is deleted"
    out = tmp_path / "out.mp4"
    out.write_bytes(world.plaintext(d.id, d.video_key))
    assert d.video_sha256 == hashlib.sha256(out.read_bytes()).hexdigest(), "the manifest hash"
    with av.open(str(out)) as container:
        assert [s.type for s in container.streams] == ["video"]
        assert container.streams.video[0].codec_context.name == "h264"
        tags = " ".join(f"{k}={v}" for k, v in container.metadata.items())
        assert "Acme" not in tags and "+52" not in tags
    assert world.plaintext(d.id, d.thumbnail_key)[:2] == b"\xff\xd8"  # JPEG


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        # an MP4 type box and then noise: passes the upload sniff, fails decoding
        (lambda p: p.write_bytes(b"\x00\x00\x00\x18ftypisom" + os.urandom(50_000)), "unreadable"),
        (lambda p: generate_clip(p, seconds=0.4), "too_short"),
    ],
)
@pytest.mark.slow  # a whole clip through processing: make test, not test-fast
def test_bad_file_fails_with_its_reason_and_the_worker_goes_on(
    client: TestClient,
    world: World,
    tmp_path: Path,
    make,
    reason: str,  # type: ignore[no-untyped-def]
) -> None:
    bad = tmp_path / "bad.mp4"
    make(bad)
    bad_id = _donate(client, world, bad.read_bytes())
    good_id = _donate(client, world, generate_clip(tmp_path / "ok.mp4", seconds=1.5).read_bytes())
    assert world.rt.jobs.run_pending() == 2
    with transaction(world.rt.sessions) as s:
        bad_d, good_d = s.get(Donation, bad_id), s.get(Donation, good_id)
        assert bad_d is not None and good_d is not None
        assert (bad_d.status, bad_d.failure_reason) == ("failed", reason)
        assert bad_d.failure_detail
        assert bad_d.video_key is None
        assert good_d.status == "in_review"
        assert {j.status for j in world.rt.jobs.list_jobs(s)} == {"done"}
    assert world.rt.store.keys("uploads/") == []
    assert not any(k.startswith(f"clips/{bad_id}/") for k in world.rt.store.keys("clips/"))
    mine = client.get(
        f"/api/v1/donations/{bad_id}", headers={"Authorization": f"Bearer {world.tokens['alice']}"}
    ).json()
    assert mine["failure_reason"] == reason and mine["failure_detail"]


def test_over_the_duration_limit_fails_as_too_long(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    world.rt.settings.max_duration_s = 1.0
    donation_id = _donate(client, world, generate_clip(tmp_path / "a.mp4", seconds=2).read_bytes())
    world.rt.jobs.run_pending()
    with transaction(world.rt.sessions) as s:
        assert s.get(Donation, donation_id).failure_reason == "too_long"  # type: ignore[union-attr]


@pytest.mark.slow  # a whole clip through processing: make test, not test-fast
def test_a_job_cut_off_mid_processing_is_redone_after_a_restart(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    donation_id = _donate(
        client, world, generate_clip(tmp_path / "a.mp4", seconds=1.5).read_bytes()
    )
    with transaction(world.rt.sessions) as s:
        # What a crash leaves: the donation in processing, its job claimed by a dead worker.
        transition(s, s.get_one(Donation, donation_id), "processing")
        as_if_its_worker_died(world.rt, s, only_job(world.rt, s).id)
    assert world.rt.jobs.recover() == 1
    assert world.rt.jobs.run_pending() == 1
    with transaction(world.rt.sessions) as s:
        assert s.get(Donation, donation_id).status == "in_review"  # type: ignore[union-attr]


def test_a_store_outage_mid_processing_leaves_the_clip_to_a_retry_not_failed(
    client: TestClient, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vidonate.errors import ServiceUnavailable
    from vidonate.ingest.process import process_donation

    donation_id = _donate(
        client, world, generate_clip(tmp_path / "a.mp4", seconds=1.2).read_bytes()
    )
    store = world.rt.store
    healthy = store.read

    def down(key: str, *args: object, **kwargs: object) -> object:
        raise ServiceUnavailable("storage_unavailable", "the blob store did not answer")

    monkeypatch.setattr(store, "read", down)
    with pytest.raises(ServiceUnavailable):
        process_donation(world.rt.processing, donation_id)
    with transaction(world.rt.sessions) as s:
        assert s.get_one(Donation, donation_id).status == "processing", "not failed"
    assert store.keys("uploads/"), "the original is still there for the retry"

    monkeypatch.setattr(store, "read", healthy)
    process_donation(world.rt.processing, donation_id)
    with transaction(world.rt.sessions) as s:
        assert s.get_one(Donation, donation_id).status == "in_review"
