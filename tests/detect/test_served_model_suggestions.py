"""The served model's events become a clip's suggested intervals, run as the detect
endpoint runs them (sandboxed), with the model trained once for the detector tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from interval_helpers import hold_video
from vidonate.db.engine import transaction
from vidonate.detect.infer import Detector
from vidonate.detect.lineage import register_model
from vidonate.detect.train import TrainedModel
from vidonate.review.intervals import suggestions_for
from vidonate.review.suggestions import resuggest, suggest_intervals
from world import World

pytestmark = pytest.mark.training


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_served_model_suggests_the_events_it_detects(
    world: World, trained_model: TrainedModel, held_out_videos: list[Path]
) -> None:
    theft = held_out_videos[0]  # kinds come in turn: this one is a package theft
    expected = Detector.load(trained_model.model_dir).detect(theft)
    clip = world.clip_in_review()
    hold_video(world, clip, theft.read_bytes())
    with transaction(world.rt.sessions) as s:
        model_id = register_model(s, world.rt.store, trained_model.model_dir, release_id=None).id

    assert suggest_intervals(world.rt.processing, clip) == len(expected)
    with transaction(world.rt.sessions) as s:
        stored = suggestions_for(s, clip)
        assert [(r.label, r.model_id) for r in stored] == [(e.label, model_id) for e in expected]
        spans = [x for r in stored for x in (r.start_s, r.end_s, r.score)]
        assert spans == pytest.approx([x for e in expected for x in (e.start, e.end, e.score)])
    print(f"suggested {len(expected)} event(s) on a held-out package theft")
    if expected:  # the same model again: left as it is
        assert resuggest(world.rt.processing, [clip]) == {clip: None}
