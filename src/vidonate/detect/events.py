"""From per-frame probabilities to events in time: a pure function, tested without video.

Per event class: smooth the curve with a short moving average (one jittery frame must not
open or split an event), then hysteresis — an event opens where the curve rises above
the class's ``high`` and lasts while it stays above its ``low`` — then gaps shorter than
``merge_gap_s`` are closed, and what is still shorter than ``min_duration_s`` is dropped.
Where events of different classes overlap for most of the shorter one, only the
higher-scoring one stays: one person at one moment does one thing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from vidonate.detect.evaluation import Event

# How much of the shorter of two events of different classes may overlap the other before
# the lower-scoring one is dropped.
_CROSS_CLASS_OVERLAP = 0.5


@dataclass(frozen=True)
class DecoderConfig:
    """Thresholds and durations of the event decoder; stored in model.json.

    ``class_high`` holds an opening threshold per event class (picked per class on
    validation clips); a class it does not name, and every class of a model saved before
    it existed, opens at ``high``. Each class closes at the same fraction of its opening
    threshold as ``low`` is of ``high``.
    """

    high: float = 0.6
    low: float = 0.3
    smooth_s: float = 0.5
    min_duration_s: float = 1.0
    merge_gap_s: float = 1.5
    class_high: dict[str, float] | None = None

    def with_threshold(self, high: float) -> DecoderConfig:
        """The same decoder at one opening threshold for every class, closing at half of it."""
        return replace(self, high=high, low=high / 2, class_high=None)

    def with_class_thresholds(self, thresholds: Mapping[str, float]) -> DecoderConfig:
        """The same decoder with these per-class opening thresholds."""
        return replace(self, class_high={k: float(v) for k, v in sorted(thresholds.items())})

    def high_for(self, label: str) -> float:
        """The opening threshold of class ``label``."""
        return (self.class_high or {}).get(label, self.high)

    def low_for(self, label: str) -> float:
        """The closing threshold of class ``label``."""
        high = self.high_for(label)
        return self.low * high / self.high if self.high > 0 else self.low


def smooth(curve: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average of ``window`` frames, averaging only real frames at the ends."""
    if window <= 1 or len(curve) == 0:
        return curve.astype(np.float64)
    kernel = np.ones(window)
    total = np.convolve(curve, kernel, mode="same")
    count = np.convolve(np.ones_like(curve, dtype=np.float64), kernel, mode="same")
    return total / count


def hysteresis_runs(curve: np.ndarray, high: float, low: float) -> list[tuple[int, int]]:
    """Runs ``[first, last]`` (inclusive) above ``low`` that reach above ``high`` somewhere."""
    above = np.concatenate([[False], curve > low, [False]])
    edges = np.flatnonzero(np.diff(above.astype(np.int8)))
    runs = []
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        if curve[start:stop].max() > high:
            runs.append((int(start), int(stop) - 1))
    return runs


def _merge(runs: list[tuple[int, int]], max_gap_frames: int) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for first, last in runs:
        if merged and first - merged[-1][1] - 1 <= max_gap_frames:
            merged[-1] = (merged[-1][0], last)
        else:
            merged.append((first, last))
    return merged


def decode_events(
    times: np.ndarray,
    scores: np.ndarray,
    classes: Sequence[str],
    config: DecoderConfig,
    *,
    fps: float,
) -> list[Event]:
    """Events from per-frame ``scores`` ``(T, len(classes))``, sorted by start time.

    An event runs from its first frame's time to one tick after its last frame's; its
    score is the peak of the smoothed curve inside it.
    """
    if scores.ndim != 2 or scores.shape != (len(times), len(classes)):
        raise ValueError(f"scores {scores.shape} do not match {len(times)} times × {classes}")
    window = max(1, round(config.smooth_s * fps))
    max_gap = round(config.merge_gap_s * fps)
    events: list[Event] = []
    for column, label in enumerate(classes):
        curve = smooth(scores[:, column], window)
        runs = hysteresis_runs(curve, config.high_for(label), config.low_for(label))
        for first, last in _merge(runs, max_gap):
            start, end = float(times[first]), float(times[last]) + 1.0 / fps
            if end - start + 1e-9 < config.min_duration_s:
                continue
            peak = float(curve[first : last + 1].max())
            events.append(Event(start=start, end=end, label=label, score=peak))
    return sorted(_one_class_at_a_time(events), key=lambda e: (e.start, e.label))


def _one_class_at_a_time(events: list[Event]) -> list[Event]:
    kept: list[Event] = []
    for event in sorted(events, key=lambda e: -e.score):
        length = event.end - event.start
        clash = any(
            other.label != event.label
            and min(event.end, other.end) - max(event.start, other.start)
            > _CROSS_CLASS_OVERLAP * min(length, other.end - other.start)
            for other in kept
        )
        if not clash:
            kept.append(event)
    return kept


def frame_targets(times: np.ndarray, events: Sequence[Event], classes: Sequence[str]) -> np.ndarray:
    """Per-frame class index: the event class whose span holds the frame, else 0 (normal).

    ``classes[0]`` is the background class; events of labels not in ``classes`` are ignored.
    """
    labels = np.zeros(len(times), dtype=np.int64)
    for event in events:
        if event.label not in classes[1:]:
            continue
        inside = (times >= event.start) & (times < event.end)
        labels[inside] = classes.index(event.label)
    return labels
