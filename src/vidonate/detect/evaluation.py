"""How well the theft detector does: pure metrics over its per-clip output.

The detector gives, for each evaluated clip, a :class:`ClipResult`: the clip's ground
truth (its label and events), the events it detected at the chosen threshold, and its
per-frame probabilities. :func:`evaluate` turns a sequence of them into one
:class:`EvaluationResult`:

- clip-level precision, recall and F1 per label, and macro-F1 (:func:`predicted_clip_label`);
- event-level recall and precision, by any overlap and by IoU ≥ ``strict_iou``;
- frame-level ROC AUC per class (:func:`roc_auc`, :func:`roc_curve`, :func:`frame_labels`);
- false alarms per hour on real normal footage, with an exact Poisson upper bound
  (:func:`poisson_upper_bound`);
- all of the above again on the subsets staged / real and synthetic / donated;
- percentile bootstrap intervals over clips for every ratio above.

Every statistic is computed as a function of clip weights: the point estimate weighs
each clip once, a bootstrap resample weighs each clip by how often it was drawn. One
code path gives both, so an interval is always an interval of the number it stands by.
No I/O: the report (``report.py``) renders the result.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from vidonate.detect.evaluation_bootstrap import (
    _DETECTED,
    _RECALLED,
    _RECALLED_STRICT,
    _TRUE_DET,
    _TRUE_DET_STRICT,
    _TRUTH,
    _bootstrap,
    _clip_table,
    _ClipTable,
    _statistics,
    _subtable,
)
from vidonate.detect.evaluation_inputs import (
    CLASSES,
    CLIP_LABELS,
    DEFAULT_CONFIDENCE,
    DEFAULT_ECE_BINS,
    DEFAULT_RESAMPLES,
    DEFAULT_STRICT_IOU,
    MAX_ROC_POINTS,
    NORMAL,
    ClipResult,
    Event,
)
from vidonate.detect.evaluation_metrics import (
    clip_event_scores,
    event_overlaps,
    expected_calibration_error,
    false_alarms,
    frame_labels,
    poisson_upper_bound,
    predicted_clip_label,
    roc_auc,
    roc_curve,
)
from vidonate.detect.evaluation_results import (
    BootstrapSettings,
    ClipLabelMetrics,
    ClipLevel,
    Estimate,
    EvaluationResult,
    EventLevel,
    EventMetrics,
    FalseAlarms,
    FrameAuc,
    MetricSet,
    Number,
    Reliability,
    SubsetResult,
)

__all__ = [
    "CLASSES",
    "CLIP_LABELS",
    "DEFAULT_CONFIDENCE",
    "DEFAULT_ECE_BINS",
    "DEFAULT_RESAMPLES",
    "DEFAULT_STRICT_IOU",
    "MAX_ROC_POINTS",
    "NORMAL",
    "SUBSETS",
    "BootstrapSettings",
    "ClipLabelMetrics",
    "ClipLevel",
    "ClipResult",
    "Estimate",
    "EvaluationResult",
    "Event",
    "EventLevel",
    "EventMetrics",
    "FalseAlarms",
    "FrameAuc",
    "MetricSet",
    "Number",
    "Reliability",
    "SubsetResult",
    "clip_event_scores",
    "evaluate",
    "event_overlaps",
    "expected_calibration_error",
    "false_alarms",
    "frame_labels",
    "poisson_upper_bound",
    "predicted_clip_label",
    "reliability_of",
    "roc_auc",
    "roc_curve",
]

# ------------------------------------------------------------------------- evaluation

# Subsets every metric is computed on again: (name, description, membership).
SUBSETS: tuple[tuple[str, str, Callable[[ClipResult], bool]], ...] = (
    ("staged", "staged re-enactments", lambda clip: clip.staged),
    ("real", "real footage, not staged", lambda clip: not clip.staged),
    ("synthetic", "made by vidonate's synthesizer", lambda clip: clip.synthetic),
    ("donated", "not synthetic: donated clips, other real footage", lambda c: not c.synthetic),
)


def evaluate(
    clips: Sequence[ClipResult],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    confidence: float = DEFAULT_CONFIDENCE,
    strict_iou: float = DEFAULT_STRICT_IOU,
) -> EvaluationResult:
    """Every metric on ``clips`` and on each of :data:`SUBSETS`, with bootstrap intervals.

    The bootstrap draws ``resamples`` resamples of the clips with replacement, each set of
    clips (all of them, and each subset) from a fresh ``numpy.random.default_rng(seed)``,
    so a seed always gives the same intervals; it takes the (1 − confidence)/2 and
    (1 + confidence)/2 percentiles of each statistic over the resamples where it is
    defined. ``resamples=0`` skips it.
    """
    if not clips:
        raise ValueError("no clips to evaluate")
    if resamples < 0:
        raise ValueError(f"resamples must be ≥ 0, got {resamples}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if not 0 < strict_iou <= 1:
        raise ValueError(f"strict_iou must be in (0, 1], got {strict_iou}")
    settings = BootstrapSettings(resamples=resamples, seed=seed, confidence=confidence)
    table = _clip_table(clips, strict_iou)
    subsets = []
    for name, description, member in SUBSETS:
        chosen = np.flatnonzero([member(clip) for clip in clips])
        if chosen.size:
            metrics = _metric_set(
                [clips[int(i)] for i in chosen], _subtable(table, chosen), settings, strict_iou
            )
            subsets.append(SubsetResult(name, description, metrics, None))
        else:
            subsets.append(SubsetResult(name, description, None, "no clips"))
    return EvaluationResult(
        classes=CLIP_LABELS,
        overall=_metric_set(clips, table, settings, strict_iou),
        subsets=tuple(subsets),
        bootstrap=settings,
        strict_iou=strict_iou,
    )


def _metric_set(
    clips: Sequence[ClipResult], table: _ClipTable, settings: BootstrapSettings, strict_iou: float
) -> MetricSet:
    point = {key: float(v[0]) for key, v in _statistics(table, np.ones((1, len(clips)))).items()}
    resampled = _bootstrap(table, len(clips), settings)
    tail = 50.0 * (1.0 - settings.confidence)

    def estimate(key: str) -> Estimate:
        values = resampled.get(key, np.empty(0))
        values = values[~np.isnan(values)]
        if values.size == 0:
            return Estimate(point[key], math.nan, math.nan, 0)
        low, high = np.percentile(values, [tail, 100.0 - tail])
        return Estimate(point[key], float(low), float(high), int(values.size))

    n_labels = len(CLIP_LABELS)
    confusion = table.label_pairs.sum(axis=0).reshape(n_labels, n_labels).astype(int)
    per_label = tuple(
        ClipLabelMetrics(
            label=label,
            support=int(confusion[j].sum()),
            predicted=int(confusion[:, j].sum()),
            true_positives=int(confusion[j, j]),
            precision=estimate(f"clip.{label}.precision"),
            recall=estimate(f"clip.{label}.recall"),
            f1=estimate(f"clip.{label}.f1"),
        )
        for j, label in enumerate(CLIP_LABELS)
    )
    clip_level = ClipLevel(
        per_label=per_label,
        macro_f1=estimate("clip.macro_f1"),
        confusion=tuple(tuple(int(x) for x in row) for row in confusion),
    )

    tallies = table.event_tallies.sum(axis=0).astype(int)

    def event_metrics(label: str, t: np.ndarray) -> EventMetrics:
        return EventMetrics(
            label=label,
            truth_events=int(t[_TRUTH]),
            recalled=int(t[_RECALLED]),
            recalled_strict=int(t[_RECALLED_STRICT]),
            detected_events=int(t[_DETECTED]),
            true_detections=int(t[_TRUE_DET]),
            true_detections_strict=int(t[_TRUE_DET_STRICT]),
            recall=estimate(f"event.{label}.recall"),
            precision=estimate(f"event.{label}.precision"),
            recall_strict=estimate(f"event.{label}.recall_strict"),
            precision_strict=estimate(f"event.{label}.precision_strict"),
        )

    events = EventLevel(
        per_class=tuple(event_metrics(label, tallies[c]) for c, label in enumerate(CLASSES)),
        overall=event_metrics("all", tallies.sum(axis=0)),
        strict_iou=strict_iou,
    )

    frame_aucs = []
    for label, frames in zip(CLASSES, table.frames, strict=True):
        fpr, tpr = roc_curve(frames.scores, frames.positive)
        if fpr.size > MAX_ROC_POINTS:
            keep = np.unique(np.linspace(0, fpr.size - 1, MAX_ROC_POINTS).round().astype(int))
            fpr, tpr = fpr[keep], tpr[keep]
        n_positive = int(frames.positive.sum())
        frame_aucs.append(
            FrameAuc(
                label=label,
                positive_frames=n_positive,
                negative_frames=int(frames.positive.size - n_positive),
                positive_clips=int(frames.positive_clips.size),
                auc=estimate(f"auc.{label}"),
                false_positive_rate=tuple(float(x) for x in fpr),
                true_positive_rate=tuple(float(x) for x in tpr),
            )
        )

    return MetricSet(
        clips=len(clips),
        hours=sum(clip.duration for clip in clips) / 3600.0,
        clip_level=clip_level,
        events=events,
        frames=tuple(frame_aucs),
        false_alarms=false_alarms(clips, settings.confidence),
        reliability=reliability_of(clips),
    )


def reliability_of(clips: Sequence[ClipResult], bins: int = DEFAULT_ECE_BINS) -> Reliability:
    """The calibration error of the clips' peak event scores, after and before calibration."""
    scores, outcomes = clip_event_scores(clips)
    raw, raw_outcomes = clip_event_scores(clips, raw=True)
    before = (
        expected_calibration_error(raw, raw_outcomes, bins)
        if all(c.raw_scores is not None for c in clips)
        else math.nan
    )
    return Reliability(
        ece=expected_calibration_error(scores, outcomes, bins),
        ece_uncalibrated=before,
        bins=bins,
        pairs=int(scores.size),
    )
