"""Re-submitted clips are caught at processing, by any donor, and never paid twice."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import av
import numpy as np
from fastapi.testclient import TestClient
from PIL import ImageOps

from tus_helpers import upload
from vidonate.db.engine import transaction
from vidonate.db.models import Donation
from vidonate.dedupe.finder import DuplicateFinder, from_bytes, to_bytes
from vidonate.dedupe.phash import video_signature
from vidonate.ingest.samples import generate_clip
from world import World


def mirrored_half_size(src: Path, dst: Path) -> Path:
    """What a re-uploader does: flip it, shrink it, re-encode it."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        stream = inp.streams.video[0]
        video = out.add_stream("libx264", rate=stream.average_rate)
        video.width, video.height = stream.width // 2, stream.height // 2
        video.pix_fmt = "yuv420p"
        for frame in inp.decode(stream):
            image = ImageOps.mirror(frame.to_image()).resize((video.width, video.height))
            out.mux(video.encode(av.VideoFrame.from_image(image)))
        out.mux(video.encode())
    return dst


def _donate(client: TestClient, world: World, clip: Path, donor: str) -> int:
    upload(client, world.tokens[donor], clip.read_bytes(), world.metadata(donor))
    assert world.rt.jobs.run_pending() == 1
    with transaction(world.rt.sessions) as s:
        return max(d.id for d in s.query(Donation))


def test_signatures_survive_the_database_round_trip(tmp_path: Path) -> None:
    signature = video_signature(generate_clip(tmp_path / "a.mp4", seconds=2, seed=3))
    back = from_bytes(to_bytes(signature))
    assert np.array_equal(back.hashes, signature.hashes)
    assert np.array_equal(back.motion, signature.motion)
    assert back.cutoff_s == signature.cutoff_s


def test_another_donors_mirrored_copy_is_flagged_and_not_paid(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    original = generate_clip(tmp_path / "porch.mp4", seconds=3, width=640, height=480, seed=11)
    first = _donate(client, world, original, "alice")
    copy = _donate(client, world, mirrored_half_size(original, tmp_path / "copy.mp4"), "bob")
    fresh = _donate(client, world, generate_clip(tmp_path / "new.mp4", seconds=3, seed=12), "bob")
    with transaction(world.rt.sessions) as s:
        assert s.get(Donation, first).duplicate_of is None  # type: ignore[union-attr]
        assert s.get(Donation, copy).duplicate_of == first  # type: ignore[union-attr]
        assert s.get(Donation, fresh).duplicate_of is None  # type: ignore[union-attr]
    outcomes = {}
    for clip in (first, copy):
        world.vote("rita", clip)
        outcomes[clip] = world.vote("ravi", clip)
    assert outcomes[first].paid_cents == 200
    assert (outcomes[copy].status, outcomes[copy].paid_cents) == ("accepted", 0)
    assert outcomes[copy].unpaid_reason == "duplicate"
    item = client.get("/api/v1/stats/redaction").json()
    assert item["duplicates_caught"] == 1


def test_resubmitting_a_rejected_clip_is_not_a_duplicate(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    clip = generate_clip(tmp_path / "porch.mp4", seconds=3, seed=21)
    first = _donate(client, world, clip, "alice")
    world.vote("rita", first, "reject", reason="poor_quality")
    world.vote("ravi", first, "reject", reason="poor_quality")
    again = _donate(client, world, clip, "alice")
    with transaction(world.rt.sessions) as s:
        assert s.get(Donation, again).duplicate_of is None  # type: ignore[union-attr]


def test_two_workers_checking_two_copies_at_once_still_catch_the_second(
    world: World, tmp_path: Path
) -> None:
    """Two processes (two finders, each with its own index), two copies of one clip, at
    the same moment: the second check waits for the first to commit its signature, then
    finds it. Without the deployment-wide lock, on PostgreSQL, each would miss the other."""
    signature = video_signature(generate_clip(tmp_path / "a.mp4", seconds=3, seed=21))
    first_id, second_id = world.clip_in_review("alice"), world.clip_in_review("bob")
    finders = [DuplicateFinder(world.rt.vault), DuplicateFinder(world.rt.vault)]
    first_checked = threading.Event()
    found: dict[int, int | None] = {}

    def check(finder: DuplicateFinder, donation_id: int, hold_s: float) -> None:
        with transaction(world.rt.sessions) as s:
            duplicate = finder.find(s, donation_id, signature)
            first_checked.set()
            finder.record(s, s.get_one(Donation, donation_id), signature)
            time.sleep(hold_s)  # still uncommitted while the other worker checks
        found[donation_id] = None if duplicate is None else duplicate.donation_id

    first = threading.Thread(target=check, args=(finders[0], first_id, 1.0))
    first.start()
    assert first_checked.wait(30)
    check(finders[1], second_id, 0.0)
    first.join()
    assert found == {first_id: None, second_id: first_id}
