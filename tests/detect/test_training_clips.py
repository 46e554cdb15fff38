"""Training reads a release's verified clips only: an unverified donated clip is skipped
before it is read, and a verified one brings its verified intervals as its truth.
No training here: only what training would be given."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from interval_helpers import clip_given, hold_video, mark
from vidonate.datasets.release import create_release
from vidonate.db.engine import transaction
from vidonate.db.models import AuditEntry
from vidonate.detect.evaluation import Event
from vidonate.detect.pipeline import training_clips, truth_events
from vidonate.ingest.samples import generate_clip
from world import World

THEFT, NORMAL = "package_theft", "normal_activity"


def _accepted(world: World, video: bytes, category: str, *spans: tuple[float, float, str]) -> int:
    clip = clip_given(world, "rita", "ravi", category=category, duration_s=2.0)
    hold_video(world, clip, video)
    for reviewer in ("rita", "ravi"):
        if spans:
            mark(world, reviewer, clip, *spans)
        world.vote(reviewer, clip, category=category)
    return clip


def test_training_skips_unverified_donated_clips_and_takes_verified_intervals(
    world: World, tmp_path: Path
) -> None:
    video = generate_clip(tmp_path / "clip.mp4", seconds=2.0).read_bytes()
    verified = _accepted(world, video, THEFT, (0.5, 1.5, THEFT))
    unverified = _accepted(world, video, THEFT)
    normal = _accepted(world, video, NORMAL)
    with transaction(world.rt.sessions) as s:
        version = create_release(s, seed=0, ratios={"train": 1.0, "val": 0.0, "test": 0.0}).version

    read = training_clips(world.rt.pipeline(), version, actor_id=world.rita.id)
    clips = {int(c.clip_id): c for c in read.by_split["train"]}
    assert sorted(clips) == [verified, normal]
    assert clips[verified].events == (Event(0.5, 1.5, THEFT),)
    assert clips[normal].events == ()
    assert read.skipped_unverified == [unverified]
    assert read.by_source == {"synthetic": 0, "donated": 2}
    assert read.weights == {"donated": 1.0}, "one source: every clip counts alike"
    assert {c.weight for c in clips.values()} == {1.0}
    with transaction(world.rt.sessions) as s:
        reads = s.scalars(select(AuditEntry.object_id).where(AuditEntry.purpose == "training"))
        assert sorted(int(r) for r in reads) == [verified, normal], "never opened"


def test_the_truth_of_a_manifest_row() -> None:
    theft = {"label": THEFT, "verified": True, "events": [], "intervals": [
        {"start": 1.0, "end": 2.0, "label": THEFT}]}  # fmt: skip
    assert truth_events(theft, 10.0) == (Event(1.0, 2.0, THEFT),)
    assert truth_events({"label": NORMAL, "verified": True, "intervals": []}, 10.0) == ()
    # Evaluation reads unverified clips too: a theft clip is then taken as one event.
    unverified = {"label": THEFT, "verified": False, "events": None, "intervals": []}
    assert truth_events(unverified, 10.0) == (Event(0.0, 10.0, THEFT),)
    # A release cut before intervals: synthetic events as they were recorded.
    old = {"label": THEFT, "events": [{"start": 3, "end": 4, "label": THEFT}]}
    assert truth_events(old, 10.0) == (Event(3.0, 4.0, THEFT),)
