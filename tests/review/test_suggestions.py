"""Suggested intervals: processing asks for them when a clip reaches review, and their
absence or failure never holds review up. (The served model's real suggestions on a clip
are checked in tests/detect/test_served_model_suggestions.py, with the model trained there.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from interval_helpers import hold_video, model_record
from tus_helpers import upload
from vidonate.db.engine import transaction
from vidonate.db.models import Donation
from vidonate.db.models_detect import IntervalSuggestion
from vidonate.ingest.samples import generate_clip
from vidonate.review.suggestions import SUGGEST_JOB, resuggest, suggest_intervals
from world import World


def _suggestions(world: World, donation_id: int) -> list[IntervalSuggestion]:
    with transaction(world.rt.sessions) as s:
        return list(
            s.scalars(
                select(IntervalSuggestion).where(IntervalSuggestion.donation_id == donation_id)
            )
        )


def test_without_a_trained_model_nothing_is_suggested_and_nothing_fails(
    world: World, tmp_path: Path
) -> None:
    clip = world.clip_in_review()
    hold_video(world, clip, generate_clip(tmp_path / "c.mp4", seconds=1.0).read_bytes())
    assert suggest_intervals(world.rt.processing, clip) is None
    assert resuggest(world.rt.processing) == {clip: None}
    assert _suggestions(world, clip) == []


def test_a_suggestion_that_fails_leaves_the_clip_in_review(world: World, tmp_path: Path) -> None:
    clip = world.clip_in_review()
    hold_video(world, clip, generate_clip(tmp_path / "c.mp4", seconds=1.0).read_bytes())
    model_record(world)  # a model whose files are not in the store: fetching it fails
    assert suggest_intervals(world.rt.processing, clip) is None
    with transaction(world.rt.sessions) as s:
        assert s.get(Donation, clip).status == "in_review"  # type: ignore[union-attr]
    assert _suggestions(world, clip) == []


@pytest.mark.slow  # a clip through processing
def test_processing_asks_for_suggestions_only_once_a_model_is_served(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    clip = generate_clip(tmp_path / "clip.mp4", seconds=1.2).read_bytes()
    upload(client, world.tokens["alice"], clip, world.metadata())
    assert world.rt.jobs.run_pending() == 1, "processing only: no model, no suggestion job"
    model_record(world)
    upload(client, world.tokens["alice"], clip + b"", world.metadata(filename="again.mp4"))
    assert world.rt.jobs.run_pending() == 2, "processing, then the suggestion job"
    with transaction(world.rt.sessions) as s:
        (job,) = world.rt.jobs.list_jobs(s, SUGGEST_JOB)
        donation = s.get(Donation, job.payload["donation_id"])
        assert donation is not None and donation.status == "in_review", "never held up"
        assert job.status == "done"
