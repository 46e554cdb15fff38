"""Per-class thresholds, score calibration and its error, on hand-built scores."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vidonate.detect.calibrate import (
    ScoreCalibration,
    clip_peaks,
    fit_temperatures,
    pick_thresholds,
    reliability,
)
from vidonate.detect.dataset import TrainingClip
from vidonate.detect.evaluation import (
    CLASSES,
    NORMAL,
    ClipResult,
    Event,
    evaluate,
    expected_calibration_error,
)
from vidonate.detect.events import DecoderConfig, decode_events
from vidonate.detect.features import ClipFeatures, uniform_times
from vidonate.detect.report import render_markdown

FPS = 10.0
THEFT, DOOR = CLASSES


def _curve(length: int, first: int, stop: int, value: float) -> np.ndarray:
    curve = np.zeros(length)
    curve[first:stop] = value
    return curve


def test_each_class_opens_at_its_own_threshold() -> None:
    times = np.arange(100) / FPS
    scores = np.stack([_curve(100, 10, 40, 0.5), _curve(100, 60, 90, 0.5)], axis=1)
    decoder = DecoderConfig().with_class_thresholds({THEFT: 0.4, DOOR: 0.8})

    events = decode_events(times, scores, CLASSES, decoder, fps=FPS)

    assert [e.label for e in events] == [THEFT]
    assert decoder.low_for(THEFT) == pytest.approx(0.2)  # half, as high/low
    assert DecoderConfig(high=0.7, low=0.35).high_for(DOOR) == 0.7  # a model saved before


def test_expected_calibration_error_of_known_bins() -> None:
    # Bin 0.9: mean score 0.9, half true (gap 0.4); bin 0.1: none true (gap 0.1); each half.
    scores = np.array([0.9, 0.9, 0.1, 0.1])
    outcomes = np.array([True, False, False, False])
    assert expected_calibration_error(scores, outcomes) == pytest.approx(0.25)
    assert expected_calibration_error(np.array([0.0, 1.0]), np.array([0, 1])) == 0.0
    assert math.isnan(expected_calibration_error(np.empty(0), np.empty(0)))


def test_a_temperature_undoes_overconfidence_and_lowers_the_error() -> None:
    rng = np.random.default_rng(0)
    truth = rng.uniform(0.02, 0.98, size=(400, 2))
    labels = []
    for row in truth:  # a clip is of class c with the true chance row[c] (or normal)
        draw = rng.random()
        labels.append(
            THEFT if draw < row[0] / 2 else DOOR if draw < (row[0] + row[1]) / 2 else NORMAL
        )
    # Overconfident scores: the true logit tripled; a temperature near 3 undoes it.
    logit = np.log(truth / 2) - np.log1p(-truth / 2)
    peaks = 1 / (1 + np.exp(-3 * logit))

    calibration = fit_temperatures(peaks, labels)

    assert all(2.0 < t < 4.0 for t in calibration.temperatures.values())
    calibrated = calibration.apply(peaks, CLASSES)
    assert reliability(calibrated, labels) < reliability(peaks, labels) / 2
    # Monotone per class: the order of scores (and so of any threshold's choices) is kept.
    assert (np.argsort(calibrated[:, 0]) == np.argsort(peaks[:, 0])).all()


def test_calibration_keeps_still_frames_at_zero() -> None:
    calibration = ScoreCalibration({THEFT: 3.0, DOOR: 0.5})
    scores = np.array([[0.0, 0.0], [0.5, 0.5], [0.9, 0.2]], dtype=np.float32)
    out = calibration.apply(scores, CLASSES)
    assert out[0].tolist() == [0.0, 0.0]
    assert out[1] == pytest.approx([0.5, 0.5])
    assert out[2, 0] < 0.9 and out[2, 1] < 0.2
    assert clip_peaks([scores]).tolist() == [[pytest.approx(0.9), pytest.approx(0.5)]]


def _clip(clip_id: str, label: str, scores: np.ndarray) -> TrainingClip:
    frames = np.zeros((len(scores), 6, 8), np.uint8)
    features = ClipFeatures(frames, uniform_times(len(frames), FPS), FPS, 8, 6)
    events = (Event(2.0, 5.0, label),) if label != NORMAL else ()
    return TrainingClip(features=features, label=label, events=events, clip_id=clip_id)


def test_per_class_thresholds_fix_what_one_threshold_cannot() -> None:
    """Thefts peak at 0.55; tampering at 0.9 but normal clips (a passer-by lingering at a
    car) reach 0.7 on tampering: no single threshold serves both, one per class does."""
    clips, scores = [], []
    for index in range(4):
        theft = np.stack([_curve(80, 20, 50, 0.55), np.zeros(80)], 1)
        door = np.stack([np.zeros(80), _curve(80, 20, 50, 0.9)], 1)
        normal = np.stack([np.zeros(80), _curve(80, 20, 50, 0.7)], 1)
        for label, curve in ((THEFT, theft), (DOOR, door), (NORMAL, normal)):
            clips.append(_clip(f"{label}-{index}", label, curve))
            scores.append(curve)

    single, single_metrics = pick_thresholds(clips, scores, CLASSES, DecoderConfig(), False)
    decoder, metrics = pick_thresholds(clips, scores, CLASSES, DecoderConfig(), True)

    assert single_metrics["macro_f1"] < 1.0 and single.class_high is None
    assert metrics["macro_f1"] == 1.0 and metrics["event_recall"] == 1.0
    assert decoder.high_for(THEFT) == 0.5  # the highest that still opens on 0.55
    assert decoder.high_for(DOOR) == 0.85  # above the passers-by, ties going higher


def _result_clip(label: str, peak: float, raw_peak: float | None) -> ClipResult:
    times = np.arange(50) / FPS
    column = CLASSES.index(label) if label != NORMAL else 0
    scores = np.zeros((50, 2))
    scores[10:30, column] = peak
    raw = None
    if raw_peak is not None:
        raw = np.zeros((50, 2))
        raw[10:30, column] = raw_peak
    truth = (Event(1.0, 3.0, label),) if label != NORMAL else ()
    return ClipResult(
        clip_id=f"{label}-{peak}", label=label, truth=truth, detected=(), times=times,
        scores=scores, duration=5.0, staged=True, synthetic=True, raw_scores=raw,
    )  # fmt: skip


def test_evaluation_reports_the_calibration_error_before_and_after() -> None:
    clips = [_result_clip(THEFT, 0.8, 0.99), _result_clip(NORMAL, 0.2, 0.9)]
    result = evaluate(clips, resamples=0)
    reliability_ = result.overall.reliability
    assert reliability_ is not None and reliability_.pairs == 4
    # After: theft pairs 0.8 (true) and 0.2 (false), door pairs 0 and 0 (false) -> 0.1.
    assert reliability_.ece == pytest.approx(0.1)
    # Before: both theft pairs (0.99 true, 0.9 false) share the top bin: 2/4 × |0.945 − ½|.
    assert reliability_.ece_uncalibrated == pytest.approx(0.5 * 0.445)
    assert result.headline()["ece"] == pytest.approx(0.1)
    again = type(result).from_dict(result.to_dict())
    assert again.overall.reliability == reliability_
    markdown = render_markdown(
        result, title="t", model={}, release={}, threshold={THEFT: 0.5, DOOR: 0.8}
    )
    assert "Calibration error (ECE)" in markdown and "0.100 after" in markdown
    assert "package_theft 0.5, car_door_tampering 0.8" in markdown

    unknown = evaluate([_result_clip(THEFT, 0.8, None)], resamples=0).overall.reliability
    assert unknown is not None and math.isnan(unknown.ece_uncalibrated)
