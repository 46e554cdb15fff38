"""A release's manifest carries each clip's event intervals and whether they are verified:
a synthetic clip's generated events, a donated clip's reviewers' verified intervals."""

from __future__ import annotations

import os

from interval_helpers import clip_given, hold_video, mark
from vidonate.datasets.release import MANIFEST_FIELDS, create_release, manifest, manifest_sha256
from vidonate.db.engine import transaction
from vidonate.db.models import Donation
from world import World

THEFT, NORMAL = "package_theft", "normal_activity"


def _accepted(world: World, category: str, *spans: tuple[float, float, str]) -> int:
    clip = clip_given(world, "rita", "ravi", category=category)
    hold_video(world, clip, os.urandom(2000))
    for reviewer in ("rita", "ravi"):
        if spans:
            mark(world, reviewer, clip, *spans)
        world.vote(reviewer, clip, category=category)
    return clip


def test_the_manifest_carries_verified_intervals_and_the_verified_flag(world: World) -> None:
    verified = _accepted(world, THEFT, (2.0, 6.0, THEFT))
    unverified = _accepted(world, THEFT)
    normal = _accepted(world, NORMAL)
    synthetic = _accepted(world, THEFT)
    generated = [{"start": 1.0, "end": 3.5, "label": THEFT}]
    with transaction(world.rt.sessions) as s:
        scene = s.get(Donation, synthetic)
        assert scene is not None
        scene.synthetic, scene.events = True, generated
    with transaction(world.rt.sessions) as s:
        release = create_release(s, seed=0)
        rows = {r["id"]: r for r in manifest(s, release)}
        assert release.manifest_sha256 == manifest_sha256(list(rows.values()))
    assert all(set(r) == set(MANIFEST_FIELDS) for r in rows.values())
    seen = {k: (r["intervals"], r["verified"], r["source"]) for k, r in rows.items()}
    assert seen == {
        verified: ([{"start": 2.0, "end": 6.0, "label": THEFT}], True, "donated"),
        unverified: ([], False, "donated"),
        normal: ([], True, "donated"),
        synthetic: (generated, True, "synthetic"),
    }
    assert rows[unverified]["events"] is None, "the stored column says: not verified"


def test_intervals_verified_after_a_release_wait_for_the_next_one(world: World) -> None:
    clip = _accepted(world, THEFT, (2.0, 6.0, THEFT))
    mark(world, "ravi", clip)  # ravi takes his mark back: no longer verified
    with transaction(world.rt.sessions) as s:
        first = manifest(s, create_release(s, seed=0))
    mark(world, "ravi", clip, (2.0, 5.0, THEFT))
    with transaction(world.rt.sessions) as s:
        second = manifest(s, create_release(s, seed=0))
    assert (first[0]["verified"], second[0]["verified"]) == (False, True)
    assert second[0]["intervals"] == [{"start": 2.0, "end": 5.5, "label": THEFT}]


def test_the_datasheet_counts_verified_clips_and_disagreements(world: World) -> None:
    from interval_helpers import model_record
    from vidonate.review.suggestions import store_suggestions

    missed = clip_given(world, "rita", "ravi", category=THEFT)
    model_id = model_record(world)
    with transaction(world.rt.sessions) as s:
        store_suggestions(s, missed, model_id, [{"start": 7, "end": 9, "label": THEFT, "score": 1}])
    hold_video(world, missed, os.urandom(2000))
    for reviewer in ("rita", "ravi"):
        mark(world, reviewer, missed, (2.0, 6.0, THEFT))
        world.vote(reviewer, missed, category=THEFT)
    _accepted(world, THEFT)
    with transaction(world.rt.sessions) as s:
        sheet = " ".join(create_release(s, seed=0).datasheet.split())
    assert "1 of 2 donated clips are verified for training" in sheet
    assert "1 clip(s) where model and reviewers disagree, listed for the next release" in sheet
