"""Running a trained detector on video files, and drawing its events."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from vidonate.detect import infer
from vidonate.detect.annotate import annotate
from vidonate.detect.evaluation import CLASSES, ClipResult, Event
from vidonate.detect.features import ClipFeatures, extract_features
from vidonate.detect.infer import Detector
from vidonate.detect.train import TrainedModel
from vidonate.ingest.samples import test_media_dir


@pytest.fixture(scope="module")
def detector(trained_model: TrainedModel) -> Detector:
    return Detector.load(trained_model.model_dir)


def test_detector_scores_every_frame_of_a_video(
    detector: Detector, held_out_videos: list[Path]
) -> None:
    video = held_out_videos[0]
    times, scores = detector.frame_scores(video)

    assert scores.shape == (len(times), len(CLASSES))
    assert scores.dtype == np.float32
    assert ((scores >= 0) & (scores <= 1)).all()
    np.testing.assert_allclose(np.diff(times), 0.1, atol=1e-5)


def test_detection_fills_the_evaluation_record(
    detector: Detector, held_out_videos: list[Path]
) -> None:
    theft = held_out_videos[0]  # kinds come in turn: this one is a package theft
    detection = detector.analyse(theft)

    result = ClipResult(
        clip_id=theft.stem,
        label="package_theft",
        truth=(),
        detected=detection.events,
        times=detection.times,
        scores=detection.scores,
        duration=detection.duration,
        staged=True,
        synthetic=True,
    )
    assert result.scores.shape == (len(result.times), 2)
    assert all(
        isinstance(e, Event) and 0 <= e.start < e.end <= detection.duration + 0.1
        for e in detection.events
    )
    assert detector.detect(theft) == list(detection.events)


def test_still_footage_is_gated_and_quiet(detector: Detector) -> None:
    frames = np.full((200, 54, 96), 120, np.uint8)
    still = ClipFeatures(frames, np.arange(200, dtype=np.float32) / 10, 10.0, 640, 360)

    detection = detector.analyse(still)

    assert detection.gated_fraction == 0.0
    assert detection.events == ()
    assert (detection.scores == 0).all()


def test_windows_give_the_scores_of_one_long_run(
    detector: Detector, held_out_videos: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Long spans are scored in windows with context; the seams must not show."""
    clip = extract_features(held_out_videos[1])
    whole = detector.analyse(clip).scores
    monkeypatch.setattr(infer, "_WINDOW_FRAMES", 17)
    windowed = detector.analyse(clip).scores
    np.testing.assert_allclose(windowed, whole, atol=1e-4)


def test_features_of_the_wrong_shape_are_refused(detector: Detector) -> None:
    frames = np.zeros((10, 72, 128), np.uint8)
    with pytest.raises(ValueError, match="the model wants"):
        detector.analyse(ClipFeatures(frames, np.arange(10, dtype=np.float32), 10.0, 1, 1))


def test_detector_runs_on_real_footage_of_another_size_rate_and_codec(detector: Detector) -> None:
    """vtest.avi: MS-MPEG4 in AVI, 768×576. (How quiet a trained model stays on it is
    measured in bench/detector.py with the production model, not with this tiny one.)"""
    media = test_media_dir()
    if media is None or not (media / "vtest.avi").is_file():
        pytest.skip("the shared real footage (VIDONATE_TEST_MEDIA) is not here")
    detection = detector.analyse(media / "vtest.avi")
    assert len(detection.times) == 795  # 79.5 s at 10 fps
    assert detection.scores.shape == (795, 2)
    assert detection.gated_fraction > 0.9  # people walk through all of it
    assert all(0 <= e.start < e.end <= detection.duration + 0.1 for e in detection.events)


def test_annotate_writes_h264_with_every_frame(tmp_path: Path, held_out_videos: list[Path]) -> None:
    video = held_out_videos[0]
    events = [Event(1.0, 3.0, "package_theft", 0.91), Event(4.0, 4.5, "car_door_tampering", 0.6)]
    out = tmp_path / "annotated.mp4"

    annotate(video, events, out)

    with av.open(str(video)) as source:
        source_frames = [f.to_ndarray(format="rgb24") for f in source.decode(video=0)]
    with av.open(str(out)) as drawn:
        stream = drawn.streams.video[0]
        assert stream.codec_context.name == "h264"
        drawn_frames = [f.to_ndarray(format="rgb24") for f in drawn.decode(stream)]
    assert len(drawn_frames) == len(source_frames)
    assert drawn_frames[0].shape == source_frames[0].shape
    # At 2 s the theft is running: its red frame is drawn around the picture.
    at_two = drawn_frames[20]
    assert at_two[1, at_two.shape[1] // 2, 0] > 180 and at_two[1, at_two.shape[1] // 2, 1] < 100
    # At 0.5 s nothing runs: the top edge is the clip's own.
    assert np.abs(drawn_frames[5][1].astype(int) - source_frames[5][1].astype(int)).mean() < 20
