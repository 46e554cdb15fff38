"""The sandbox's answer travels as validated JSON: whatever a child taken over by its input
writes back, the parent runs none of it, and the clip fails with a reason code."""

from __future__ import annotations

import os
from pathlib import Path

import hostile_children
import numpy as np
import pytest
from fastapi.testclient import TestClient

from tus_helpers import upload
from vidonate.db.engine import transaction
from vidonate.db.models import Donation
from vidonate.errors import UnsupportedMedia
from vidonate.ingest import process
from vidonate.ingest.samples import generate_clip
from vidonate.ingest.sandbox import MAX_ANSWER_BYTES, SandboxLimits, run_sandboxed, wire_type
from world import World

LIMITS = SandboxLimits(wall_seconds=30)


@pytest.fixture(autouse=True)
def _children_import_the_hostile_module(monkeypatch: pytest.MonkeyPatch) -> None:
    here = str(Path(hostile_children.__file__).parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([here, os.environ.get("PYTHONPATH", "")]))


def _refusal(fn: object, *args: object, **kwargs: object) -> UnsupportedMedia:
    with pytest.raises(UnsupportedMedia) as caught:
        run_sandboxed(fn, *args, limits=LIMITS, **kwargs)  # type: ignore[arg-type]
    return caught.value


def test_a_pickled_answer_is_refused_and_never_unpickled(tmp_path: Path) -> None:
    marker = tmp_path / "the-parent-ran-this"
    error = _refusal(hostile_children.answer_with_pickle, marker)
    assert error.code == "decoder_bad_answer"
    assert not marker.exists()


@pytest.mark.parametrize(
    "raw",
    [
        b"not json at all",
        b'{"kind": "ok"}',
        b'{"kind": "ok", "value": 1, "extra": "field"}',
        b'{"kind": "run", "value": "os.system"}',
        b'{"kind": "refused", "code": "Not A Code!", "message": "x"}',
        b'{"kind": "ok", "value": "seven"}',
    ],
)
def test_a_malformed_answer_is_refused_with_its_reason_code(raw: bytes) -> None:
    assert _refusal(hostile_children.answer_with, raw, returns=int).code == "decoder_bad_answer"


def test_an_answer_not_of_the_declared_type_is_refused() -> None:
    error = _refusal(hostile_children.not_what_it_declares)
    assert error.code == "decoder_bad_answer"
    assert "value" in error.message


def test_an_endless_answer_is_cut_off_at_the_size_bound() -> None:
    error = _refusal(hostile_children.answer_too_much, MAX_ANSWER_BYTES, returns=int)
    assert error.code == "decoder_bad_answer"
    assert "more than" in error.message


def test_numpy_arrays_in_an_answer_arrive_as_the_arrays_they_were() -> None:
    from vidonate.dedupe.phash import VideoSignature

    made = run_sandboxed(
        hostile_children.a_signature, limits=LIMITS, returns=wire_type(VideoSignature)
    )
    assert isinstance(made, VideoSignature)
    want = hostile_children.a_signature()
    for name in ("hashes", "moving", "times_s"):
        got, expected = getattr(made, name), getattr(want, name)
        assert got.dtype == expected.dtype and np.array_equal(got, expected)
    assert made.cutoff_s == want.cutoff_s


def test_an_array_whose_bytes_do_not_match_its_shape_is_refused() -> None:
    from vidonate.dedupe.phash import VideoSignature

    raw = (
        b'{"kind": "ok", "value": {"hashes": {"dtype": "uint8", "shape": [1000, 32], '
        b'"data": "AAAA"}}}'
    )
    error = _refusal(hostile_children.answer_with, raw, returns=wire_type(VideoSignature))
    assert error.code == "decoder_bad_answer"


def test_a_clip_whose_decoder_answers_with_a_pickle_fails_and_nothing_runs_in_the_worker(
    client: TestClient, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "the-worker-ran-this"
    # The redaction stage is the code that runs on the decoded frames: take it over.
    monkeypatch.setattr(process, "REDACTION_STAGE", "hostile_children:pickling_stage")
    monkeypatch.setattr(process, "redaction_settings", lambda _rt: marker)
    clip = generate_clip(tmp_path / "clip.mp4", seconds=1.2, width=64, height=48)
    upload(client, world.tokens["alice"], clip.read_bytes(), world.metadata())
    assert world.rt.jobs.run_pending() == 1
    with transaction(world.rt.sessions) as s:
        donation = s.query(Donation).one()
        assert (donation.status, donation.failure_reason) == ("failed", "decoder_bad_answer")
        assert donation.video_key is None
    assert not marker.exists()
    assert world.rt.store.keys("uploads/") == [] and world.rt.store.keys("clips/") == []
