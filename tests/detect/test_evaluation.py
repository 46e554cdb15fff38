"""The detector's evaluation metrics, on hand-built clips whose answers are known."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, replace

import numpy as np
import pytest
from scipy.stats import chi2

from vidonate.detect import evaluation_bootstrap
from vidonate.detect.evaluation import (
    CLASSES,
    NORMAL,
    ClipResult,
    EvaluationResult,
    Event,
    evaluate,
    event_overlaps,
    false_alarms,
    frame_labels,
    poisson_upper_bound,
    predicted_clip_label,
    roc_auc,
    roc_curve,
)

FPS = 10
THEFT, DOOR = CLASSES


def make_clip(
    clip_id: str,
    label: str,
    *,
    truth: tuple[Event, ...] = (),
    detected: tuple[Event, ...] = (),
    duration: float = 10.0,
    scores: np.ndarray | None = None,
    staged: bool = False,
    synthetic: bool = False,
) -> ClipResult:
    """A clip at FPS frames per second; without ``scores``, a detector that is sure and
    right on every frame (0.95 inside a ground-truth event of the class, 0.05 outside)."""
    times = np.arange(round(duration * FPS)) / FPS
    clip = ClipResult(
        clip_id=clip_id,
        label=label,
        truth=truth,
        detected=detected,
        times=times,
        scores=np.zeros((times.size, len(CLASSES))),
        duration=duration,
        staged=staged,
        synthetic=synthetic,
    )
    if scores is None:
        scores = np.where(frame_labels(clip), 0.95, 0.05)
    return ClipResult(clip_id, label, truth, detected, times, scores, duration, staged, synthetic)


def theft_clip(clip_id: str, label: str = THEFT, **kwargs) -> ClipResult:
    """A clip of ``label`` with one ground-truth event at 3–6 s, detected as it is."""
    event = Event(3.0, 6.0, label)
    kwargs.setdefault("detected", (Event(3.0, 6.0, label, 0.9),))
    return make_clip(clip_id, label, truth=(event,), **kwargs)


def perfect_set() -> list[ClipResult]:
    return [
        *(theft_clip(f"t{i}") for i in range(3)),
        *(theft_clip(f"d{i}", DOOR) for i in range(3)),
        *(make_clip(f"n{i}", NORMAL) for i in range(3)),
    ]


def noisy_set(n_clips: int = 90, seed: int = 7) -> list[ClipResult]:
    """A middling detector: misses some events, fires on some normal clips, noisy scores."""
    rng = np.random.default_rng(seed)
    clips = []
    for i in range(n_clips):
        label = (THEFT, DOOR, NORMAL)[i % 3]
        times = np.arange(100) / FPS
        scores = rng.random((100, len(CLASSES))) * 0.6
        truth: tuple[Event, ...] = ()
        detected: tuple[Event, ...] = ()
        if label != NORMAL:
            truth = (Event(3.0, 6.0, label),)
            scores[30:61, CLASSES.index(label)] += 0.3
            if rng.random() < 0.75:
                detected = (Event(3.5, 6.5, label, 0.8),)
        elif rng.random() < 0.2:
            detected = (Event(1.0, 2.0, THEFT, 0.6),)
        clips.append(
            ClipResult(str(i), label, truth, detected, times, scores, 10.0, i % 2 == 0, i % 5 == 0)
        )
    return clips


# ------------------------------------------------------------------ clip level


def test_a_perfect_detector_scores_one_everywhere() -> None:
    result = evaluate(perfect_set(), resamples=100)
    overall = result.overall
    for metrics in overall.clip_level.per_label:
        assert (metrics.precision.value, metrics.recall.value, metrics.f1.value) == (1, 1, 1)
        assert metrics.support == metrics.predicted == metrics.true_positives == 3
    assert overall.clip_level.macro_f1.value == 1.0
    # Every resample is perfect too: the interval is the point.
    assert (overall.clip_level.macro_f1.low, overall.clip_level.macro_f1.high) == (1.0, 1.0)
    assert overall.clip_level.confusion == ((3, 0, 0), (0, 3, 0), (0, 0, 3))
    for events in (*overall.events.per_class, overall.events.overall):
        assert events.recall.value == events.precision.value == 1.0
        assert events.recall_strict.value == events.precision_strict.value == 1.0
    for frames in overall.frames:
        assert frames.auc.value == 1.0
        assert frames.positive_frames == 3 * 31  # 3 clips × frames at 3.0, 3.1 … 6.0 s
        assert frames.positive_clips == 3
    assert overall.false_alarms.events == 0


def test_a_detector_that_fires_everywhere_has_the_base_rate_as_precision() -> None:
    everywhere = (Event(0.0, 10.0, THEFT, 0.9),)
    clips = [
        *(theft_clip(f"t{i}", detected=everywhere) for i in range(3)),
        *(theft_clip(f"d{i}", DOOR, detected=everywhere) for i in range(2)),
        *(make_clip(f"n{i}", NORMAL, detected=everywhere) for i in range(5)),
    ]
    overall = evaluate(clips, resamples=0).overall
    theft = overall.clip_level.label(THEFT)
    assert (theft.support, theft.predicted, theft.true_positives) == (3, 10, 3)
    assert theft.precision.value == pytest.approx(3 / 10)
    assert theft.recall.value == 1.0
    assert theft.f1.value == pytest.approx(2 * 3 / (3 + 10))
    door = overall.clip_level.label(DOOR)
    normal = overall.clip_level.label(NORMAL)
    # Never predicted: precision has no denominator, recall and F1 are 0.
    for never in (door, normal):
        assert math.isnan(never.precision.value)
        assert never.recall.value == 0.0
        assert never.f1.value == 0.0
    assert overall.clip_level.macro_f1.value == pytest.approx((6 / 13) / 3)

    assert overall.events.label(THEFT).recall.value == 1.0
    assert overall.events.label(THEFT).precision.value == pytest.approx(3 / 10)
    assert overall.events.label(DOOR).recall.value == 0.0
    assert math.isnan(overall.events.label(DOOR).precision.value)
    assert overall.events.overall.recall.value == pytest.approx(3 / 5)
    assert overall.events.overall.precision.value == pytest.approx(3 / 10)

    # 5 events on 5 real normal clips of 10 s: 5 per 50 s = 360 per hour.
    assert overall.false_alarms.events == 5
    assert overall.false_alarms.per_hour == pytest.approx(360.0)


def test_the_clip_is_predicted_as_its_highest_scoring_event() -> None:
    both = (Event(0, 1, THEFT, 0.6), Event(2, 3, DOOR, 0.7), Event(4, 5, THEFT, 0.65))
    assert predicted_clip_label(make_clip("a", THEFT, detected=both)) == DOOR
    assert predicted_clip_label(make_clip("b", THEFT, detected=both[:1])) == THEFT
    assert predicted_clip_label(make_clip("c", THEFT)) == NORMAL
    tie = (Event(2, 3, DOOR, 0.7), Event(0, 1, THEFT, 0.7))
    assert predicted_clip_label(make_clip("d", DOOR, detected=tie)) == THEFT


def test_macro_f1_leaves_out_a_label_with_neither_clips_nor_predictions() -> None:
    clips = [theft_clip("t"), theft_clip("d", DOOR)]  # no normal clip, none predicted normal
    clip_level = evaluate(clips, resamples=0).overall.clip_level
    assert math.isnan(clip_level.label(NORMAL).f1.value)
    assert clip_level.macro_f1.value == 1.0


# ----------------------------------------------------------------- event level


def test_an_event_overlapping_by_one_frame_counts_and_an_adjacent_one_does_not() -> None:
    truth = Event(2.0, 4.0, THEFT)
    one_frame = Event(3.9, 6.0, THEFT)  # shares the frame at 3.9–4.0 s
    adjacent = Event(4.0, 6.0, THEFT)  # starts where the truth ends
    intersection, iou = event_overlaps([truth], [one_frame, adjacent])
    assert intersection[0] == pytest.approx([0.1, 0.0])
    assert iou[0] == pytest.approx([0.1 / 4.0, 0.0])

    clips = [
        make_clip("overlap", THEFT, truth=(truth,), detected=(one_frame,)),
        make_clip("adjacent", THEFT, truth=(truth,), detected=(adjacent,)),
    ]
    events = evaluate(clips, resamples=0).overall.events.label(THEFT)
    assert (events.truth_events, events.recalled, events.detected_events) == (2, 1, 2)
    assert events.true_detections == 1
    assert events.recall.value == events.precision.value == 0.5
    # The one-frame overlap is far below IoU 0.3.
    assert events.recalled_strict == events.true_detections_strict == 0


def test_the_strict_variant_needs_iou_of_at_least_the_threshold() -> None:
    truth = (Event(2.0, 4.0, THEFT), Event(6.0, 8.0, THEFT))
    detected = (
        Event(2.5, 4.5, THEFT),  # IoU 1.5 / 2.5 = 0.6
        Event(7.5, 9.0, THEFT),  # IoU 0.5 / 3.0 ≈ 0.17
    )
    clip = make_clip("c", THEFT, truth=truth, detected=detected)
    events = evaluate([clip], resamples=0, strict_iou=0.3).overall.events.label(THEFT)
    assert (events.recalled, events.recalled_strict) == (2, 1)
    assert (events.true_detections, events.true_detections_strict) == (2, 1)
    assert events.recall_strict.value == events.precision_strict.value == 0.5
    looser = evaluate([clip], resamples=0, strict_iou=0.15).overall.events.label(THEFT)
    assert looser.recalled_strict == 2


def test_an_event_of_the_other_class_is_no_match() -> None:
    clip = make_clip("c", THEFT, truth=(Event(2.0, 4.0, THEFT),), detected=(Event(2.0, 4.0, DOOR),))
    events = evaluate([clip], resamples=0).overall.events
    assert events.label(THEFT).recall.value == 0.0
    assert events.label(DOOR).precision.value == 0.0
    assert math.isnan(events.label(DOOR).recall.value)  # no ground-truth door event


def test_two_detections_on_one_event_are_both_true() -> None:
    clip = make_clip(
        "c",
        THEFT,
        truth=(Event(2.0, 6.0, THEFT),),
        detected=(Event(2.0, 3.0, THEFT), Event(4.0, 6.0, THEFT)),
    )
    events = evaluate([clip], resamples=0).overall.events.label(THEFT)
    assert (events.recalled, events.true_detections, events.detected_events) == (1, 2, 2)


# ----------------------------------------------------------------- frame level


def test_frame_labels_include_both_bounds_of_an_event() -> None:
    clip = make_clip("c", THEFT, truth=(Event(0.3, 0.5, THEFT),), duration=1.0)
    assert np.flatnonzero(frame_labels(clip)[:, 0]).tolist() == [3, 4, 5]
    assert not frame_labels(clip)[:, 1].any()


def test_auc_with_ties_is_the_mann_whitney_value() -> None:
    # Positives 0.8, 0.5, 0.5 against negatives 0.5, 0.2; a tie counts one half:
    #   0.8 beats both (2), each 0.5 ties 0.5 (½) and beats 0.2 (1): 2 + 1.5 + 1.5 = 5
    #   of 3 × 2 = 6 pairs.
    scores = np.array([0.8, 0.5, 0.5, 0.5, 0.2])
    positive = np.array([True, True, True, False, False])
    assert roc_auc(scores, positive) == pytest.approx(5 / 6)

    # The same frames in a clip: frames at 0–2 s lie in the event, 3–4 s do not.
    clip = ClipResult(
        clip_id="c",
        label=THEFT,
        truth=(Event(0.0, 2.0, THEFT),),
        detected=(),
        times=np.arange(5.0),
        scores=np.column_stack([scores, np.zeros(5)]),
        duration=5.0,
        staged=False,
        synthetic=False,
    )
    frames = evaluate([clip], resamples=0).overall.auc(THEFT)
    assert frames.auc.value == pytest.approx(5 / 6)
    assert (frames.positive_frames, frames.negative_frames) == (3, 2)


def test_a_weight_counts_a_frame_that_many_times() -> None:
    rng = np.random.default_rng(3)
    scores = rng.integers(0, 5, 40) / 4  # coarse scores: many ties
    positive = rng.random(40) < 0.4
    weights = rng.integers(0, 4, 40)
    repeated = roc_auc(np.repeat(scores, weights), np.repeat(positive, weights))
    assert roc_auc(scores, positive, weights) == pytest.approx(repeated)


def test_auc_is_undefined_without_positive_or_negative_frames() -> None:
    assert math.isnan(roc_auc(np.array([0.1, 0.9]), np.array([False, False])))
    assert math.isnan(roc_auc(np.array([0.1, 0.9]), np.array([True, True])))
    overall = evaluate([make_clip("n", NORMAL)], resamples=20).overall
    for frames in overall.frames:
        assert frames.positive_frames == 0
        assert math.isnan(frames.auc.value)
        assert frames.auc.resamples == 0
        assert frames.false_positive_rate == frames.true_positive_rate == ()


def test_the_roc_curve_runs_from_origin_to_corner_through_each_threshold() -> None:
    fpr, tpr = roc_curve(np.array([0.8, 0.5, 0.5, 0.5, 0.2]), np.array([1, 1, 1, 0, 0], bool))
    # Thresholds 0.8, 0.5, 0.2: the tied 0.5 frames enter together.
    assert fpr.tolist() == [0.0, 0.0, 0.5, 1.0]
    assert tpr.tolist() == pytest.approx([0.0, 1 / 3, 1.0, 1.0])


@pytest.mark.parametrize("decimals", [None, 1], ids=["distinct-scores", "tied-scores"])
def test_the_pair_matrix_and_the_frame_walk_give_the_same_aucs(
    monkeypatch: pytest.MonkeyPatch, decimals: int | None
) -> None:
    clips = noisy_set(30)
    if decimals is not None:
        clips = [replace(clip, scores=np.round(clip.scores, decimals)) for clip in clips]
    by_pairs = evaluate(clips, resamples=50, seed=1)
    monkeypatch.setattr(evaluation_bootstrap, "_AUC_PAIR_CELLS", 0)
    by_frames = evaluate(clips, resamples=50, seed=1)
    for a, b in zip(by_pairs.overall.frames, by_frames.overall.frames, strict=True):
        assert (a.auc.value, a.auc.low, a.auc.high) == pytest.approx(
            (b.auc.value, b.auc.low, b.auc.high), abs=1e-12
        )


# ----------------------------------------------------------------- false alarms


def test_the_poisson_upper_bound_for_zero_events_is_minus_ln_five_percent() -> None:
    assert poisson_upper_bound(0) == pytest.approx(-math.log(0.05))
    assert poisson_upper_bound(0) == pytest.approx(2.996, abs=1e-3)
    hour_of_nothing = make_clip("n", NORMAL, duration=3600.0)
    alarms = false_alarms([hour_of_nothing])
    assert (alarms.events, alarms.hours, alarms.per_hour) == (0, 1.0, 0.0)
    assert alarms.upper_per_hour == pytest.approx(2.996, abs=1e-3)


@pytest.mark.parametrize("events", [1, 2, 5, 17, 100, 1000])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_the_poisson_upper_bound_is_the_exact_chi_square_bound(
    events: int, confidence: float
) -> None:
    expected = chi2.ppf(confidence, 2 * events + 2) / 2
    assert poisson_upper_bound(events, confidence) == pytest.approx(expected, rel=1e-9)


def test_false_alarms_count_only_real_normal_footage() -> None:
    alarm = (Event(1.0, 2.0, THEFT, 0.7),)
    clips = [
        make_clip("real", NORMAL, detected=alarm * 2, duration=1800.0),
        make_clip("real-quiet", NORMAL, duration=1800.0),
        make_clip("staged", NORMAL, detected=alarm, duration=900.0, staged=True),
        make_clip("synthetic", NORMAL, detected=alarm, duration=900.0, synthetic=True),
        theft_clip("theft", detected=(Event(0.0, 2.0, THEFT), Event(5.0, 9.0, DOOR))),
    ]
    alarms = evaluate(clips, resamples=0).overall.false_alarms
    assert (alarms.clips, alarms.events, alarms.hours) == (2, 2, 1.0)
    assert alarms.per_hour == 2.0
    assert alarms.upper_per_hour == pytest.approx(chi2.ppf(0.95, 6) / 2)


def test_false_alarms_are_undefined_without_real_normal_footage() -> None:
    alarms = false_alarms([theft_clip("t"), make_clip("s", NORMAL, staged=True)])
    assert (alarms.clips, alarms.hours, alarms.events) == (0, 0.0, 0)
    assert math.isnan(alarms.per_hour) and math.isnan(alarms.upper_per_hour)


# -------------------------------------------------------------------- subsets


def test_each_subset_is_evaluated_on_its_own_clips() -> None:
    staged = [
        theft_clip("st", staged=True),
        theft_clip("sd", DOOR, staged=True),
        make_clip("sn", NORMAL, staged=True),
    ]
    # The real clips are all missed: every one is predicted normal.
    real = [theft_clip("rt", detected=()), theft_clip("rd", DOOR, detected=())]
    result = evaluate(staged + real, resamples=20)

    staged_result = result.subset("staged")
    assert staged_result.metrics is not None
    assert staged_result.metrics.clips == 3
    assert staged_result.metrics.clip_level.macro_f1.value == 1.0

    real_result = result.subset("real")
    assert real_result.metrics is not None
    assert real_result.metrics.clips == 2
    assert real_result.metrics.events.overall.recall.value == 0.0
    assert real_result.metrics.clip_level.label(NORMAL).predicted == 2

    assert result.overall.clips == 5
    assert result.overall.events.overall.recall.value == pytest.approx(2 / 4)
    # No synthetic clip at all: said, not evaluated.
    synthetic = result.subset("synthetic")
    assert (synthetic.metrics, synthetic.skipped) == (None, "no clips")
    donated = result.subset("donated").metrics
    assert donated is not None and donated.clips == 5
    assert [s.name for s in result.subsets] == ["staged", "real", "synthetic", "donated"]


def test_a_subset_gives_what_evaluating_its_clips_alone_gives() -> None:
    clips = noisy_set(45)
    result = evaluate(clips, resamples=60, seed=4)
    for name, member in (("staged", lambda c: c.staged), ("donated", lambda c: not c.synthetic)):
        alone = evaluate([c for c in clips if member(c)], resamples=60, seed=4).overall
        subset = result.subset(name).metrics
        assert subset is not None
        # Through JSON text, where NaN equals NaN.
        assert json.dumps(asdict(subset)) == json.dumps(asdict(alone))


# -------------------------------------------------------------------- bootstrap


def test_the_bootstrap_is_deterministic_for_a_seed() -> None:
    clips = noisy_set()
    first = evaluate(clips, resamples=200, seed=11).to_dict()
    assert evaluate(clips, resamples=200, seed=11).to_dict() == first
    other = evaluate(clips, resamples=200, seed=12).overall.clip_level.macro_f1
    assert (other.low, other.high) != (
        first["overall"]["clip_level"]["macro_f1"]["low"],
        first["overall"]["clip_level"]["macro_f1"]["high"],
    )


def test_the_intervals_contain_their_point_estimates() -> None:
    result = evaluate(noisy_set(), resamples=300, seed=5)
    overall = result.overall
    estimates = [
        overall.clip_level.macro_f1,
        *(m.f1 for m in overall.clip_level.per_label),
        *(m.precision for m in overall.clip_level.per_label),
        *(e.recall for e in (*overall.events.per_class, overall.events.overall)),
        *(e.precision for e in (*overall.events.per_class, overall.events.overall)),
        *(f.auc for f in overall.frames),
    ]
    for estimate in estimates:
        assert estimate.resamples == 300
        assert estimate.low <= estimate.value <= estimate.high
        if 0 < estimate.value < 1:  # a middling detector on 90 clips is uncertain
            assert estimate.low < estimate.high
    # Fewer clips, wider interval.
    staged = result.subset("staged").metrics
    assert staged is not None
    assert (staged.clip_level.macro_f1.high - staged.clip_level.macro_f1.low) > (
        overall.clip_level.macro_f1.high - overall.clip_level.macro_f1.low
    )


def test_no_resamples_means_no_intervals() -> None:
    macro_f1 = evaluate(perfect_set(), resamples=0).overall.clip_level.macro_f1
    assert macro_f1.value == 1.0
    assert math.isnan(macro_f1.low) and math.isnan(macro_f1.high)
    assert macro_f1.resamples == 0


def test_a_statistic_undefined_in_some_resamples_counts_only_the_others() -> None:
    # One door clip among ten: about a third of the resamples (0.9^10) draw no door clip
    # and have no door recall.
    clips = [theft_clip(f"t{i}") for i in range(9)] + [theft_clip("d", DOOR)]
    recall = evaluate(clips, resamples=400, seed=2).overall.clip_level.label(DOOR).recall
    assert 200 < recall.resamples < 320
    assert (recall.value, recall.low, recall.high) == (1.0, 1.0, 1.0)


# ------------------------------------------------------------------ form and input


def test_the_result_round_trips_through_json() -> None:
    result = evaluate([*noisy_set(30), make_clip("n", NORMAL)], resamples=30)
    data = json.loads(result.to_json())  # allow_nan=False: no NaN may leak into the JSON
    assert data == result.to_dict()
    assert EvaluationResult.from_dict(data).to_dict() == data
    # Undefined values are null in JSON and NaN again when read back.
    undefined = evaluate([make_clip("n", NORMAL)], resamples=0)
    assert undefined.to_dict()["overall"]["frames"][0]["auc"]["value"] is None
    back = EvaluationResult.from_dict(json.loads(undefined.to_json()))
    assert math.isnan(back.overall.frames[0].auc.value)
    assert back.subset("staged").metrics is None


def test_the_headline_holds_the_numbers_worth_keeping() -> None:
    headline = evaluate(perfect_set(), resamples=0).headline()
    json.dumps(headline, allow_nan=False)
    assert headline["macro_f1"] == 1.0
    assert headline["auc"] == {THEFT: 1.0, DOOR: 1.0}
    assert headline["clips"] == 9


def test_malformed_detector_output_is_refused() -> None:
    with pytest.raises(ValueError, match="scores must have shape"):
        ClipResult("c", THEFT, (), (), np.arange(3.0), np.zeros((3, 1)), 3.0, False, False)
    with pytest.raises(ValueError, match="cannot have ground-truth events"):
        make_clip("c", NORMAL, truth=(Event(0, 1, THEFT),))
    with pytest.raises(ValueError, match="is not one of"):
        make_clip("c", "burglary")
    with pytest.raises(ValueError, match="ends before it starts"):
        Event(2.0, 1.0, THEFT)
    with pytest.raises(ValueError, match="event label"):
        Event(0.0, 1.0, NORMAL)
    with pytest.raises(ValueError, match="finite"):
        make_clip("c", THEFT, scores=np.full((100, 2), np.nan))
    with pytest.raises(ValueError, match="no clips"):
        evaluate([])
