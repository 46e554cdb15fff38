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

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any

import numpy as np
from pydantic import BeforeValidator, ConfigDict, TypeAdapter
from scipy.special import chdtri

CLASSES = ("package_theft", "car_door_tampering")
NORMAL = "normal_activity"
# The labels a clip can have, in the order of every per-label table and matrix.
CLIP_LABELS = (*CLASSES, NORMAL)

DEFAULT_RESAMPLES = 1000
DEFAULT_CONFIDENCE = 0.95
DEFAULT_STRICT_IOU = 0.3
# A ROC curve keeps at most this many points for plotting; the AUC is computed exactly.
MAX_ROC_POINTS = 500

# Resamples drawn per batch. A constant, so that a seed gives the same resamples
# whatever the number of clips or frames.
_RESAMPLE_BATCH = 64
# The AUC of a resample is a quadratic form of the clip weights over a matrix of
# (clip with positives × clip) pair wins, which makes a resample cost one small matrix
# product instead of a pass over every frame. Past this many cells (160 MB) the matrix is
# not built and each resample walks the frames instead, in blocks of at most
# _AUC_BATCH_CELLS (resamples × frames) to keep memory bounded.
_AUC_PAIR_CELLS = 20_000_000
_AUC_BATCH_CELLS = 4_000_000


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Event:
    """An event in a clip: the interval [start, end] in seconds from the clip's start."""

    start: float
    end: float
    label: str
    score: float = 1.0

    def __post_init__(self) -> None:
        if self.label not in CLASSES:
            raise ValueError(f"event label {self.label!r} is not one of {CLASSES}")
        if not (math.isfinite(self.start) and math.isfinite(self.end)):
            raise ValueError(f"event bounds must be finite, got [{self.start}, {self.end}]")
        if self.end < self.start:
            raise ValueError(f"event ends before it starts: [{self.start}, {self.end}]")
        if not math.isfinite(self.score):
            raise ValueError(f"event score must be finite, got {self.score}")


# eq=False: the fields hold numpy arrays, whose == is elementwise, so field-wise equality
# (and the hash a frozen dataclass would get) cannot work; clips compare by identity.
@dataclass(frozen=True, eq=False)
class ClipResult:
    """The detector's output on one clip, next to the clip's ground truth."""

    clip_id: str  # release clip id or file name
    label: str  # clip-level ground truth: package_theft | car_door_tampering | normal_activity
    truth: tuple[Event, ...]  # ground-truth events (may be empty; weakly labelled: whole clip)
    detected: tuple[Event, ...]  # detector output at the chosen threshold
    times: np.ndarray  # (T,) frame times in seconds
    scores: np.ndarray  # (T, len(CLASSES)) per-frame probabilities per event class
    duration: float  # seconds
    staged: bool  # staged re-enactment (True) or real
    synthetic: bool  # made by vidonate's synthesizer (True) or donated

    def __post_init__(self) -> None:
        # Coerce once here so every metric can rely on the shapes and dtypes.
        object.__setattr__(self, "truth", tuple(self.truth))
        object.__setattr__(self, "detected", tuple(self.detected))
        object.__setattr__(self, "times", np.asarray(self.times, dtype=np.float64))
        object.__setattr__(self, "scores", np.asarray(self.scores, dtype=np.float64))
        where = f"clip {self.clip_id!r}"
        if self.label not in CLIP_LABELS:
            raise ValueError(f"{where}: label {self.label!r} is not one of {CLIP_LABELS}")
        if self.label == NORMAL and self.truth:
            raise ValueError(f"{where}: a {NORMAL} clip cannot have ground-truth events")
        if self.times.ndim != 1:
            raise ValueError(f"{where}: times must have shape (T,), got {self.times.shape}")
        expected = (self.times.shape[0], len(CLASSES))
        if self.scores.shape != expected:
            raise ValueError(f"{where}: scores must have shape {expected}, got {self.scores.shape}")
        if not (np.isfinite(self.times).all() and np.isfinite(self.scores).all()):
            raise ValueError(f"{where}: times and scores must be finite")
        if not (math.isfinite(self.duration) and self.duration >= 0):
            raise ValueError(f"{where}: duration must be finite and ≥ 0, got {self.duration}")


# -------------------------------------------------------------------------- results


def _nan_for_null(value: object) -> object:
    return math.nan if value is None else value


# A number in a result: NaN where the statistic is undefined, written as null in JSON
# (which has no NaN) and read back as NaN.
Number = Annotated[float, BeforeValidator(_nan_for_null)]


@dataclass(frozen=True)
class Estimate:
    """A number with its bootstrap percentile interval.

    ``value`` is NaN when the statistic is undefined on the clips (a zero denominator);
    ``low``/``high`` are NaN when no resample defines it; ``resamples`` is how many
    resamples did (a resample that happens to draw no clip of a class has no recall).
    """

    value: Number
    low: Number
    high: Number
    resamples: int


@dataclass(frozen=True)
class ClipLabelMetrics:
    """Clip-level classification numbers for one label."""

    label: str
    support: int  # clips whose ground truth is this label
    predicted: int  # clips predicted as this label
    true_positives: int  # clips both
    precision: Estimate
    recall: Estimate
    f1: Estimate


@dataclass(frozen=True)
class ClipLevel:
    per_label: tuple[ClipLabelMetrics, ...]  # in CLIP_LABELS order
    macro_f1: Estimate
    # confusion[i][j]: clips of ground truth CLIP_LABELS[i] predicted as CLIP_LABELS[j].
    confusion: tuple[tuple[int, ...], ...]

    def label(self, label: str) -> ClipLabelMetrics:
        return self.per_label[CLIP_LABELS.index(label)]


@dataclass(frozen=True)
class EventMetrics:
    """Event-level numbers for one class, or for all classes pooled (label ``"all"``)."""

    label: str
    truth_events: int
    recalled: int  # ground-truth events overlapped by a detection of the same class
    recalled_strict: int  # ... with IoU ≥ strict_iou
    detected_events: int
    true_detections: int  # detections overlapping a ground-truth event of the same class
    true_detections_strict: int  # ... with IoU ≥ strict_iou
    recall: Estimate
    precision: Estimate
    recall_strict: Estimate
    precision_strict: Estimate


@dataclass(frozen=True)
class EventLevel:
    per_class: tuple[EventMetrics, ...]  # in CLASSES order
    overall: EventMetrics
    strict_iou: Number

    def label(self, label: str) -> EventMetrics:
        return self.per_class[CLASSES.index(label)]


@dataclass(frozen=True)
class FrameAuc:
    """Frame-level ROC AUC for one class, and its ROC curve (for plotting)."""

    label: str
    positive_frames: int
    negative_frames: int
    positive_clips: int  # clips with at least one positive frame: frames in a clip correlate
    auc: Estimate
    # ROC points from the highest threshold down, (0, 0) to (1, 1); empty when undefined.
    false_positive_rate: tuple[Number, ...]
    true_positive_rate: tuple[Number, ...]


@dataclass(frozen=True)
class FalseAlarms:
    """Detected events on real normal footage, per hour of it."""

    clips: int  # normal_activity clips that are neither staged nor synthetic
    hours: Number  # their total duration
    events: int  # detected events on them, of any class
    per_hour: Number  # events / hours; NaN with no such footage
    upper_per_hour: Number  # one-sided upper confidence bound; NaN with no such footage
    confidence: Number


@dataclass(frozen=True)
class MetricSet:
    """Every metric on one set of clips."""

    clips: int
    hours: Number  # total duration of the clips
    clip_level: ClipLevel
    events: EventLevel
    frames: tuple[FrameAuc, ...]  # in CLASSES order
    false_alarms: FalseAlarms

    def auc(self, label: str) -> FrameAuc:
        return self.frames[CLASSES.index(label)]


@dataclass(frozen=True)
class SubsetResult:
    name: str  # staged | real | synthetic | donated
    description: str
    metrics: MetricSet | None  # None when the subset has no clips
    skipped: str | None  # why it was not evaluated


@dataclass(frozen=True)
class BootstrapSettings:
    resamples: int
    seed: int
    confidence: Number


@dataclass(frozen=True)
class EvaluationResult:
    # pydantic reads and writes it (and the dataclasses inside): NaN is null in JSON.
    __pydantic_config__ = ConfigDict(ser_json_inf_nan="null")

    classes: tuple[str, ...]  # CLIP_LABELS at evaluation time
    overall: MetricSet
    subsets: tuple[SubsetResult, ...]
    bootstrap: BootstrapSettings
    strict_iou: Number

    def subset(self, name: str) -> SubsetResult:
        for subset in self.subsets:
            if subset.name == name:
                return subset
        raise KeyError(name)

    def headline(self) -> dict[str, Any]:
        """The few numbers worth keeping next to a model (JSON-safe, NaN as None)."""
        overall = self.overall
        alarms = overall.false_alarms
        return _jsonable(
            {
                "clips": overall.clips,
                "hours": overall.hours,
                "macro_f1": overall.clip_level.macro_f1.value,
                "f1": {m.label: m.f1.value for m in overall.clip_level.per_label},
                "event_recall": overall.events.overall.recall.value,
                "event_precision": overall.events.overall.precision.value,
                "auc": {frames.label: frames.auc.value for frames in overall.frames},
                "false_alarms_per_hour": alarms.per_hour,
                "false_alarms_upper_per_hour": alarms.upper_per_hour,
                "false_alarm_hours": alarms.hours,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict: tuples become lists, NaN becomes None."""
        data: dict[str, Any] = json.loads(_result_adapter().dump_json(self))
        return data

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvaluationResult:
        """The inverse of :meth:`to_dict` (None in a float field becomes NaN)."""
        return _result_adapter().validate_python(data)


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


# Columns of the per-clip event tallies, per class.
_TRUTH, _RECALLED, _RECALLED_STRICT, _DETECTED, _TRUE_DET, _TRUE_DET_STRICT = range(6)


@dataclass(frozen=True)
class _FrameTable:
    """One class's frames from all clips, sorted by score ascending."""

    clip_index: np.ndarray  # (F,) which clip each frame belongs to
    positive: np.ndarray  # (F,) bool
    group_starts: np.ndarray  # first index of each run of equal scores
    scores: np.ndarray  # (F,) sorted
    positive_per_clip: np.ndarray  # (N,)
    negative_per_clip: np.ndarray  # (N,)
    # Clips with positive frames, and pair_wins[k, j]: over (positive frame of clip
    # positive_clips[k], negative frame of clip j) pairs, those the positive wins, ties
    # counting ½. None when too large to hold (see _AUC_PAIR_CELLS).
    positive_clips: np.ndarray
    pair_wins: np.ndarray | None


@dataclass(frozen=True)
class _ClipTable:
    """What the statistics need from each clip, as arrays over clips."""

    label_pairs: np.ndarray  # (N, 9) one-hot of (truth label, predicted label)
    event_tallies: np.ndarray  # (N, len(CLASSES), 6)
    frames: tuple[_FrameTable, ...]  # per class


def _clip_table(clips: Sequence[ClipResult], strict_iou: float) -> _ClipTable:
    n_labels = len(CLIP_LABELS)
    label_pairs = np.zeros((len(clips), n_labels * n_labels))
    tallies = np.zeros((len(clips), len(CLASSES), 6))
    for i, clip in enumerate(clips):
        truth_index = CLIP_LABELS.index(clip.label)
        predicted_index = CLIP_LABELS.index(predicted_clip_label(clip))
        label_pairs[i, truth_index * n_labels + predicted_index] = 1.0
        for c, label in enumerate(CLASSES):
            truth = [e for e in clip.truth if e.label == label]
            detected = [e for e in clip.detected if e.label == label]
            intersection, iou = event_overlaps(truth, detected)
            hit = intersection > 0
            strict_hit = hit & (iou >= strict_iou)
            tallies[i, c] = (
                len(truth),
                hit.any(axis=1).sum(),
                strict_hit.any(axis=1).sum(),
                len(detected),
                hit.any(axis=0).sum(),
                strict_hit.any(axis=0).sum(),
            )
    clip_index = np.concatenate(
        [np.full(clip.times.shape[0], i, dtype=np.intp) for i, clip in enumerate(clips)]
    )
    all_scores = np.concatenate([clip.scores for clip in clips])
    all_positive = np.concatenate([frame_labels(clip) for clip in clips])
    frames = []
    for c in range(len(CLASSES)):
        order, group_starts = _ascending_groups(all_scores[:, c])
        positive = all_positive[order, c]
        sorted_clip_index = clip_index[order]
        positive_per_clip = np.bincount(sorted_clip_index[positive], minlength=len(clips))
        negative_per_clip = np.bincount(sorted_clip_index[~positive], minlength=len(clips))
        positive_clips = np.flatnonzero(positive_per_clip)
        frames.append(
            _FrameTable(
                clip_index=sorted_clip_index,
                positive=positive,
                group_starts=group_starts,
                scores=all_scores[order, c],
                positive_per_clip=positive_per_clip.astype(np.float64),
                negative_per_clip=negative_per_clip.astype(np.float64),
                positive_clips=positive_clips,
                pair_wins=_pair_wins(
                    all_scores[:, c], all_positive[:, c], clip_index, positive_clips, len(clips)
                )
                if positive_clips.size * len(clips) <= _AUC_PAIR_CELLS
                else None,
            )
        )
    return _ClipTable(label_pairs=label_pairs, event_tallies=tallies, frames=tuple(frames))


def _subtable(table: _ClipTable, keep: np.ndarray) -> _ClipTable:
    """The table of the clips at the ascending indices ``keep``, sliced, not rebuilt: the
    pair wins between two clips do not depend on the other clips."""
    local = np.full(table.label_pairs.shape[0], -1)
    local[keep] = np.arange(keep.size)
    frames = []
    for full in table.frames:
        kept_frames = local[full.clip_index] >= 0
        scores = full.scores[kept_frames]
        positive_per_clip = full.positive_per_clip[keep]
        positive_clips = np.flatnonzero(positive_per_clip)
        pair_wins = None
        if full.pair_wins is not None:
            rows = np.searchsorted(full.positive_clips, keep[positive_clips])
            pair_wins = full.pair_wins[rows][:, keep]
        frames.append(
            _FrameTable(
                clip_index=local[full.clip_index[kept_frames]],
                positive=full.positive[kept_frames],
                group_starts=_run_starts(scores),
                scores=scores,
                positive_per_clip=positive_per_clip,
                negative_per_clip=full.negative_per_clip[keep],
                positive_clips=positive_clips,
                pair_wins=pair_wins,
            )
        )
    return _ClipTable(
        label_pairs=table.label_pairs[keep],
        event_tallies=table.event_tallies[keep],
        frames=tuple(frames),
    )


def _pair_wins(
    scores: np.ndarray,
    positive: np.ndarray,
    clip_index: np.ndarray,
    positive_clips: np.ndarray,
    n_clips: int,
) -> np.ndarray:
    """(len(positive_clips), n_clips) Mann–Whitney win counts between the positive frames
    of each clip with positives and the negative frames of every clip."""
    # Ascending needles let searchsorted narrow each search from the previous one.
    order = np.argsort(scores[~positive], kind="stable")
    negative_scores = scores[~positive][order]
    negative_clip = clip_index[~positive][order]
    # Positive scores grouped by clip (ascending clip, then score): one slice per clip.
    by_clip = np.lexsort((scores[positive], clip_index[positive]))
    positive_scores = scores[positive][by_clip]
    bounds = np.searchsorted(clip_index[positive][by_clip], positive_clips)
    bounds = np.r_[bounds, positive_scores.size]
    # With continuous scores a positive and a negative frame rarely share a score; then
    # one search per clip is enough.
    any_ties = np.intersect1d(positive_scores, negative_scores).size > 0
    wins = np.zeros((positive_clips.size, n_clips))
    for row in range(positive_clips.size):
        clip_positives = positive_scores[bounds[row] : bounds[row + 1]]
        at_or_below = np.searchsorted(clip_positives, negative_scores, side="right")
        # Per negative frame: the clip's positives above it, and half of those tied with it.
        won = (clip_positives.size - at_or_below).astype(np.float64)
        if any_ties:
            below = np.searchsorted(clip_positives, negative_scores, side="left")
            won += 0.5 * (at_or_below - below)
        wins[row] = np.bincount(negative_clip, weights=won, minlength=n_clips)
    return wins


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


def _statistics(table: _ClipTable, clip_weights: np.ndarray) -> dict[str, np.ndarray]:
    """Every bootstrapped statistic, one value per row of ``clip_weights`` (rows: weight of
    each clip: ones for the point estimate, draw counts for a resample)."""
    n_labels = len(CLIP_LABELS)
    rows = clip_weights.shape[0]
    stats: dict[str, np.ndarray] = {}

    confusion = (clip_weights @ table.label_pairs).reshape(rows, n_labels, n_labels)
    true_positives = np.diagonal(confusion, axis1=1, axis2=2)
    support = confusion.sum(axis=2)
    predicted = confusion.sum(axis=1)
    f1 = _ratio(2 * true_positives, support + predicted)  # = harmonic mean of P and R
    for j, label in enumerate(CLIP_LABELS):
        stats[f"clip.{label}.precision"] = _ratio(true_positives[:, j], predicted[:, j])
        stats[f"clip.{label}.recall"] = _ratio(true_positives[:, j], support[:, j])
        stats[f"clip.{label}.f1"] = f1[:, j]
    defined = ~np.isnan(f1)
    stats["clip.macro_f1"] = _ratio(np.where(defined, f1, 0.0).sum(axis=1), defined.sum(axis=1))

    tallies = np.einsum("rn,nck->rck", clip_weights, table.event_tallies)
    per_group = [(label, tallies[:, c]) for c, label in enumerate(CLASSES)]
    per_group.append(("all", tallies.sum(axis=1)))
    for label, t in per_group:
        stats[f"event.{label}.recall"] = _ratio(t[:, _RECALLED], t[:, _TRUTH])
        stats[f"event.{label}.precision"] = _ratio(t[:, _TRUE_DET], t[:, _DETECTED])
        stats[f"event.{label}.recall_strict"] = _ratio(t[:, _RECALLED_STRICT], t[:, _TRUTH])
        stats[f"event.{label}.precision_strict"] = _ratio(t[:, _TRUE_DET_STRICT], t[:, _DETECTED])

    for label, frames in zip(CLASSES, table.frames, strict=True):
        stats[f"auc.{label}"] = _weighted_auc(frames, clip_weights)
    return stats


def _weighted_auc(frames: _FrameTable, clip_weights: np.ndarray) -> np.ndarray:
    """The frame-level AUC with each clip's frames counted as often as its weight says."""
    pairs = (clip_weights @ frames.positive_per_clip) * (clip_weights @ frames.negative_per_clip)
    if frames.pair_wins is not None:
        # Σ_kj w_k · w_j · pair_wins[k, j], one matrix product for all resamples at once.
        weighted = clip_weights[:, frames.positive_clips] @ frames.pair_wins
        return _ratio((weighted * clip_weights).sum(axis=1), pairs)
    batch = max(1, _AUC_BATCH_CELLS // max(1, frames.clip_index.size))
    aucs = []
    for first in range(0, clip_weights.shape[0], batch):
        frame_weights = clip_weights[first : first + batch][:, frames.clip_index]
        aucs.append(
            _auc_rows(
                frame_weights * frames.positive,
                frame_weights * ~frames.positive,
                frames.group_starts,
            )
        )
    return np.concatenate(aucs)


def _bootstrap(
    table: _ClipTable, n_clips: int, settings: BootstrapSettings
) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(settings.seed)
    batches: list[dict[str, np.ndarray]] = []
    for first in range(0, settings.resamples, _RESAMPLE_BATCH):
        rows = min(_RESAMPLE_BATCH, settings.resamples - first)
        draws = rng.integers(0, n_clips, size=(rows, n_clips))
        # How often each clip was drawn in each resample, via one flat bincount.
        flat = (draws + n_clips * np.arange(rows)[:, None]).ravel()
        counts = np.bincount(flat, minlength=rows * n_clips).reshape(rows, n_clips)
        batches.append(_statistics(table, counts.astype(np.float64)))
    if not batches:
        return {}
    return {key: np.concatenate([b[key] for b in batches]) for key in batches[0]}


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
    )


# ------------------------------------------------------------------ JSON form


@cache
def _result_adapter() -> TypeAdapter[EvaluationResult]:
    """Built on first use: the schema costs a moment that importing the module should not."""
    return TypeAdapter(EvaluationResult)


@cache
def _plain_adapter() -> TypeAdapter[dict[str, Any]]:
    return TypeAdapter(dict[str, Any], config=ConfigDict(ser_json_inf_nan="null"))


def _jsonable(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` with numpy numbers made plain and NaN made None."""
    plain: dict[str, Any] = _plain_adapter().dump_python(value, mode="json")
    return plain
