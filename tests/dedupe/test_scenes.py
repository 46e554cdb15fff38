"""One camera scene donated from several accounts: such clips are linked, at processing,
whatever happens in front of the camera; one donor's own clips never are."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw
from sqlalchemy import func, select, update

from tus_helpers import upload
from vidonate.db.engine import transaction
from vidonate.db.models import Donation, DonationStatus, User
from vidonate.db.models_rewards import SceneLink
from vidonate.dedupe.phash import VideoSignature, is_near_duplicate, video_signature
from vidonate.dedupe.scenes import (
    linked_accounts,
    record_scene_links,
    scene_links_of,
    scene_match,
)
from vidonate.donations.withdrawal import withdraw_clip
from vidonate.ingest.samples import write_clip
from world import World

WIDTH, HEIGHT = 320, 240


def background(seed: int) -> Image.Image:
    """A fixed camera's view: coarse colour noise with blocks on it, different per seed."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (9, 12, 3), dtype=np.uint8)
    scene = Image.fromarray(coarse).resize((WIDTH, HEIGHT), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(scene)
    for _ in range(10):
        x, y = rng.integers(0, WIDTH - 20), rng.integers(0, HEIGHT - 20)
        w, h = rng.integers(10, 90, size=2)
        draw.rectangle((x, y, x + w, y + h), fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
    return scene


def event(
    scene: Image.Image, seed: int, *, shapes: int = 2, sizes: tuple[int, int] = (40, 90)
) -> list[np.ndarray]:
    """4 s at 15 fps of `shapes` shapes crossing the still scene, with sensor noise."""
    rng = np.random.default_rng(1000 + seed)
    movers = []
    for _ in range(shapes):
        w, h = (int(v) for v in rng.integers(*sizes, size=2))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        start = rng.uniform(-w, WIDTH), rng.uniform(0, HEIGHT - h)
        velocity = rng.uniform(-80, 80), rng.uniform(-30, 30)
        movers.append((w, h, colour, start, velocity, bool(rng.integers(0, 2))))
    frames = []
    for i in range(60):
        t = i / 15
        image = scene.copy()
        draw = ImageDraw.Draw(image)
        for w, h, colour, (x0, y0), (vx, vy), round_shape in movers:
            x, y = x0 + vx * t, y0 + vy * t + 10 * np.sin(3 * t)
            (draw.ellipse if round_shape else draw.rectangle)((x, y, x + w, y + h), fill=colour)
        noisy = np.asarray(image, dtype=np.float32) + rng.normal(0, 3, (HEIGHT, WIDTH, 3))
        frames.append(np.clip(noisy, 0, 255).astype(np.uint8))
    return frames


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three events before one porch ("porch_*", one with large shapes hiding much of
    it), and one before another porch."""
    work = tmp_path_factory.mktemp("scenes")
    porch, other = background(1), background(2)
    frames = {
        "porch_parcel": event(porch, 1),
        "porch_van": event(porch, 2, shapes=3, sizes=(60, 130)),
        "porch_cat": event(porch, 3, shapes=1, sizes=(30, 50)),
        "other_parcel": event(other, 1),
    }
    return {name: write_clip(work / f"{name}.mp4", images) for name, images in frames.items()}


@pytest.fixture(scope="module")
def signatures(clips: dict[str, Path]) -> dict[str, VideoSignature]:
    return {name: video_signature(path) for name, path in clips.items()}


def _processed(world: World, donor: str, signature: VideoSignature) -> tuple[int, list[int]]:
    """A clip in review whose signature was recorded as processing records it; its id
    and the ids of the links found."""
    donation_id = world.clip_in_review(donor)
    with transaction(world.rt.sessions) as s:
        donation = s.get_one(Donation, donation_id)
        world.rt.duplicates.record(s, donation, signature)
        links = record_scene_links(s, donation, signature, world.rt.duplicates)
        return donation_id, [link.id for link in links]


def _link_count(world: World) -> int:
    with transaction(world.rt.sessions) as s:
        return s.scalar(select(func.count()).select_from(SceneLink)) or 0


def test_different_events_before_one_scene_match_and_are_no_duplicates(
    signatures: dict[str, VideoSignature],
) -> None:
    parcel, van = signatures["porch_parcel"], signatures["porch_van"]
    score = scene_match(parcel, van)
    assert score is not None and 0.3 <= score <= 1.0
    assert not is_near_duplicate(parcel, van)  # a scene link, not a copy
    assert scene_match(parcel, signatures["other_parcel"]) is None


def test_two_donors_filming_one_scene_are_linked(
    world: World, signatures: dict[str, VideoSignature]
) -> None:
    alices, _ = _processed(world, "alice", signatures["porch_parcel"])
    bobs, links = _processed(world, "bob", signatures["porch_van"])
    assert len(links) == 1
    with transaction(world.rt.sessions) as s:
        (link,) = scene_links_of(s, alices)
        assert (link.donation_id, link.other_donation_id) == (alices, bobs)  # lower id first
        assert link.id == links[0] and 0.3 <= link.score <= 1.0
        assert [x.id for x in scene_links_of(s, bobs)] == [link.id]
        assert linked_accounts(s, world.alice.id) == {world.bob.id}
        assert linked_accounts(s, world.bob.id) == {world.alice.id}
        assert linked_accounts(s, world.ravi.id) == set()


def test_another_scene_is_not_linked(world: World, signatures: dict[str, VideoSignature]) -> None:
    alices, _ = _processed(world, "alice", signatures["porch_parcel"])
    _, links = _processed(world, "bob", signatures["other_parcel"])
    assert links == []
    with transaction(world.rt.sessions) as s:
        assert scene_links_of(s, alices) == []
        assert linked_accounts(s, world.alice.id) == set()


def test_one_donors_clips_of_one_scene_are_not_linked(
    world: World, signatures: dict[str, VideoSignature]
) -> None:
    _processed(world, "alice", signatures["porch_parcel"])
    _, links = _processed(world, "alice", signatures["porch_cat"])
    assert links == [] and _link_count(world) == 0


def test_a_clip_links_to_every_other_account_of_its_scene(
    world: World, signatures: dict[str, VideoSignature]
) -> None:
    _processed(world, "alice", signatures["porch_parcel"])
    _processed(world, "bob", signatures["porch_van"])
    _, links = _processed(world, "ravi", signatures["porch_cat"])
    assert len(links) == 2
    with transaction(world.rt.sessions) as s:
        assert linked_accounts(s, world.ravi.id) == {world.alice.id, world.bob.id}


def test_recording_again_writes_nothing_new(
    world: World, signatures: dict[str, VideoSignature]
) -> None:
    _processed(world, "alice", signatures["porch_parcel"])
    bobs, first = _processed(world, "bob", signatures["porch_van"])
    with transaction(world.rt.sessions) as s:
        donation = s.get_one(Donation, bobs)
        again = record_scene_links(s, donation, signatures["porch_van"], world.rt.duplicates)
        assert [link.id for link in again] == first
    assert _link_count(world) == 1


def test_a_withdrawn_clips_links_go_with_it(
    world: World, signatures: dict[str, VideoSignature]
) -> None:
    alices, _ = _processed(world, "alice", signatures["porch_parcel"])
    bobs, _ = _processed(world, "bob", signatures["porch_van"])
    rt = world.rt
    with transaction(rt.sessions) as s:
        withdraw_clip(s, rt.vault, rt.duplicates, rt.jobs, s.get_one(User, world.bob.id), bobs)
    assert _link_count(world) == 0
    with transaction(rt.sessions) as s:
        assert scene_links_of(s, alices) == []
        assert linked_accounts(s, world.alice.id) == set()
    # A new clip of the scene finds the withdrawn one no more (its hashes are gone).
    _, links = _processed(world, "ravi", signatures["porch_cat"])
    with transaction(rt.sessions) as s:
        assert [link.id for link in scene_links_of(s, alices)] == links
        assert linked_accounts(s, world.alice.id) == {world.ravi.id}


def test_reads_ignore_a_link_left_on_a_withdrawn_clip(
    world: World, signatures: dict[str, VideoSignature]
) -> None:
    """Only withdrawal deletes links; should a clip become withdrawn any other way, its
    link stays in the table but counts for nothing."""
    alices, _ = _processed(world, "alice", signatures["porch_parcel"])
    bobs, _ = _processed(world, "bob", signatures["porch_van"])
    with transaction(world.rt.sessions) as s:
        s.execute(
            update(Donation).where(Donation.id == bobs).values(status=DonationStatus.withdrawn)
        )
    with transaction(world.rt.sessions) as s:
        assert scene_links_of(s, alices) == [] and scene_links_of(s, bobs) == []
        assert linked_accounts(s, world.alice.id) == set()


@pytest.mark.slow
def test_processing_links_two_accounts_uploads_of_one_scene(
    client: TestClient, world: World, clips: dict[str, Path]
) -> None:
    donated = {}
    for donor, clip in (("alice", "porch_parcel"), ("bob", "porch_van"), ("bob", "other_parcel")):
        upload(client, world.tokens[donor], clips[clip].read_bytes(), world.metadata(donor))
        assert world.rt.jobs.run_pending() == 1
        with transaction(world.rt.sessions) as s:
            donated[clip] = max(d.id for d in s.query(Donation))
    with transaction(world.rt.sessions) as s:
        assert s.get_one(Donation, donated["porch_van"]).status == DonationStatus.in_review
        (link,) = scene_links_of(s, donated["porch_parcel"])
        assert link.other_donation_id == donated["porch_van"]
        assert scene_links_of(s, donated["other_parcel"]) == []
        assert linked_accounts(s, world.alice.id) == {world.bob.id}
