"""The bootstrap behind every interval: statistics as functions of clip weights.

Each clip's contribution (its label pair, its event tallies, its frames' scores) is
tabulated once; a resample is then a weight per clip, and every statistic a weighted sum,
so the point estimate (all weights 1) and the resamples share one code path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vidonate.detect.evaluation_inputs import CLASSES, CLIP_LABELS, ClipResult
from vidonate.detect.evaluation_metrics import (
    _ascending_groups,
    _auc_rows,
    _ratio,
    _run_starts,
    event_overlaps,
    frame_labels,
    predicted_clip_label,
)
from vidonate.detect.evaluation_results import BootstrapSettings

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
