"""Pure building blocks of the evaluation: clip labels, overlaps, ROC, false-alarm rates."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.special import chdtri

from vidonate.detect.evaluation_inputs import (
    CLASSES,
    DEFAULT_CONFIDENCE,
    DEFAULT_ECE_BINS,
    NORMAL,
    ClipResult,
    Event,
)
from vidonate.detect.evaluation_results import FalseAlarms

# ------------------------------------------------------------------- pure building blocks


def predicted_clip_label(clip: ClipResult) -> str:
    """The clip's predicted label: the class of its highest-scoring detected event.

    A clip with no detected event is ``normal_activity``; a clip with events of one class
    is that class; with events of both, the class of the highest-scoring event (an exact
    tie goes to the class listed first in :data:`CLASSES`).
    """
    if not clip.detected:
        return NORMAL
    best = max(clip.detected, key=lambda event: (event.score, -CLASSES.index(event.label)))
    return best.label


def event_overlaps(
    truth: Sequence[Event], detected: Sequence[Event]
) -> tuple[np.ndarray, np.ndarray]:
    """Intersection in seconds and IoU of every (truth, detected) pair.

    Both arrays have shape ``(len(truth), len(detected))``. Labels are not compared here.
    Events that only touch (one ends where the other starts) intersect in 0 s.
    """
    truth_bounds = np.array([(e.start, e.end) for e in truth], dtype=np.float64).reshape(-1, 2)
    detected_bounds = np.array([(e.start, e.end) for e in detected], dtype=np.float64)
    detected_bounds = detected_bounds.reshape(-1, 2)
    t_start, t_end = truth_bounds[:, :1], truth_bounds[:, 1:]
    d_start, d_end = detected_bounds[:, 0], detected_bounds[:, 1]
    intersection = np.clip(np.minimum(t_end, d_end) - np.maximum(t_start, d_start), 0.0, None)
    union = (t_end - t_start) + (d_end - d_start) - intersection
    iou = np.divide(intersection, union, out=np.zeros_like(intersection), where=union > 0)
    return intersection, iou


def frame_labels(clip: ClipResult) -> np.ndarray:
    """(T, len(CLASSES)) booleans: frame t is positive for class c when start ≤ t ≤ end
    for some ground-truth event of class c (both bounds included)."""
    positive = np.zeros((clip.times.shape[0], len(CLASSES)), dtype=bool)
    for event in clip.truth:
        column = CLASSES.index(event.label)
        positive[:, column] |= (clip.times >= event.start) & (clip.times <= event.end)
    return positive


def roc_auc(scores: np.ndarray, positive: np.ndarray, weights: np.ndarray | None = None) -> float:
    """ROC AUC by the Mann–Whitney formula: over all (positive, negative) pairs, the
    share where the positive scores higher, a tie counting one half.

    ``weights`` (one per sample, default 1) count a sample that many times. NaN when
    there is no positive or no negative sample.
    """
    scores = np.asarray(scores, dtype=np.float64)
    positive = np.asarray(positive, dtype=bool)
    weights = np.ones_like(scores) if weights is None else np.asarray(weights, np.float64)
    order, group_starts = _ascending_groups(scores)
    w = weights[order][None, :]
    pos = positive[order]
    return float(_auc_rows(w * pos, w * ~pos, group_starts)[0])


def roc_curve(scores: np.ndarray, positive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(false positive rate, true positive rate) at every distinct score used as the
    threshold (score ≥ threshold is positive), from (0, 0) to (1, 1). Empty arrays when
    there is no positive or no negative sample."""
    scores = np.asarray(scores, dtype=np.float64)
    positive = np.asarray(positive, dtype=bool)
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return np.empty(0), np.empty(0)
    order = np.argsort(-scores, kind="stable")
    descending = scores[order]
    hits = positive[order]
    # Only the last frame of a run of equal scores is a point: a threshold takes all of them.
    last_of_run = np.r_[descending[1:] != descending[:-1], True]
    tpr = np.r_[0.0, np.cumsum(hits)[last_of_run] / n_pos]
    fpr = np.r_[0.0, np.cumsum(~hits)[last_of_run] / n_neg]
    return fpr, tpr


def poisson_upper_bound(events: int, confidence: float = DEFAULT_CONFIDENCE) -> float:
    """The exact one-sided upper confidence bound on a Poisson mean, ``events`` observed.

    It is the mean μ at which seeing ``events`` or fewer has probability 1 − confidence
    (Garwood's bound): ½·χ²-quantile(confidence, 2·events + 2), from scipy's inverse
    χ² survival function. With 0 events it is −ln(1 − confidence): 2.996 at 95 %, the
    "rule of three".
    """
    if events < 0:
        raise ValueError(f"events must be ≥ 0, got {events}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return float(chdtri(2 * events + 2, 1.0 - confidence)) / 2.0


def false_alarms(
    clips: Sequence[ClipResult], confidence: float = DEFAULT_CONFIDENCE
) -> FalseAlarms:
    """Detected events, of any class, on clips labelled normal_activity that are neither
    staged nor synthetic, per hour of those clips; with the exact Poisson upper bound on
    that rate (:func:`poisson_upper_bound` / hours)."""
    real_normal = [c for c in clips if c.label == NORMAL and not c.staged and not c.synthetic]
    hours = sum(c.duration for c in real_normal) / 3600.0
    events = sum(len(c.detected) for c in real_normal)
    if hours > 0:
        per_hour = events / hours
        upper = poisson_upper_bound(events, confidence) / hours
    else:
        per_hour = upper = math.nan
    return FalseAlarms(
        clips=len(real_normal),
        hours=hours,
        events=events,
        per_hour=per_hour,
        upper_per_hour=upper,
        confidence=confidence,
    )


def _ascending_groups(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ascending sort order of ``scores`` and where each run of equal scores starts."""
    order = np.argsort(scores, kind="stable")
    return order, _run_starts(scores[order])


def _run_starts(ordered: np.ndarray) -> np.ndarray:
    """Where each run of equal values starts in the sorted array ``ordered``."""
    if ordered.size == 0:
        return np.empty(0, dtype=np.intp)
    return np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])


def _auc_rows(
    positive_weights: np.ndarray, negative_weights: np.ndarray, group_starts: np.ndarray
) -> np.ndarray:
    """Mann–Whitney AUC per row of frame weights (rows: resamples; columns: frames in
    ascending score order). Each positive frame wins against the negative weight strictly
    below its score and half of the negative weight tied with it."""
    rows = positive_weights.shape[0]
    if positive_weights.shape[1] == 0:
        return np.full(rows, np.nan)
    positive_per_score = np.add.reduceat(positive_weights, group_starts, axis=1)
    negative_per_score = np.add.reduceat(negative_weights, group_starts, axis=1)
    negative_below = np.cumsum(negative_per_score, axis=1) - negative_per_score
    wins = (positive_per_score * (negative_below + 0.5 * negative_per_score)).sum(axis=1)
    pairs = positive_per_score.sum(axis=1) * negative_per_score.sum(axis=1)
    return _ratio(wins, pairs)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, NaN where the denominator is 0."""
    numerator, denominator = np.broadcast_arrays(
        np.asarray(numerator, np.float64), np.asarray(denominator, np.float64)
    )
    out = np.full(numerator.shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def expected_calibration_error(
    confidences: np.ndarray, outcomes: np.ndarray, bins: int = DEFAULT_ECE_BINS
) -> float:
    """Expected calibration error: scores in ``bins`` equal-width bins over [0, 1], the gap
    between each bin's mean score and its share of true outcomes, weighted by the bin's
    share of the scores. 0 is perfect; NaN without scores."""
    confidences = np.asarray(confidences, dtype=np.float64).ravel()
    outcomes = np.asarray(outcomes, dtype=np.float64).ravel()
    if confidences.size == 0:
        return math.nan
    which = np.minimum((np.clip(confidences, 0.0, 1.0) * bins).astype(int), bins - 1)
    count = np.bincount(which, minlength=bins)
    score_sum = np.bincount(which, weights=confidences, minlength=bins)
    outcome_sum = np.bincount(which, weights=outcomes, minlength=bins)
    filled = count > 0
    gaps = np.abs(score_sum[filled] - outcome_sum[filled])  # = count × |mean gap|
    return float(gaps.sum() / confidences.size)


def clip_event_scores(
    clips: Sequence[ClipResult], *, raw: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(scores, outcomes) over every (clip, event class) pair: the clip's peak per-frame
    score of the class (``raw``: before score calibration), and whether the clip is of
    that class. Pairs of clips without raw scores are left out when ``raw``."""
    scores: list[np.ndarray] = []
    outcomes: list[np.ndarray] = []
    for clip in clips:
        frames = clip.raw_scores if raw else clip.scores
        if frames is None:
            continue
        peak = frames.max(axis=0) if len(frames) else np.zeros(len(CLASSES))
        scores.append(peak)
        outcomes.append(np.array([clip.label == label for label in CLASSES]))
    if not scores:
        return np.empty(0), np.empty(0, dtype=bool)
    return np.concatenate(scores), np.concatenate(outcomes)
