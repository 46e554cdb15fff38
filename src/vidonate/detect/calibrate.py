"""Pick the event threshold on held-out clips, with the detector exactly as deployed.

The network's scores are computed once per clip; then every threshold on a grid is
decoded into events and judged the way the evaluation judges them (clip label = class of
the highest-scoring event; an event is recalled when a detection of its class overlaps
it). The objective is clip macro-F1 plus event recall; a tie goes to the higher
threshold, because a false alarm on a quiet porch costs more trust than a late detection.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from vidonate.detect.dataset import TrainingClip
from vidonate.detect.evaluation import CLIP_LABELS, NORMAL, ClipResult, Event, predicted_clip_label
from vidonate.detect.events import DecoderConfig, decode_events
from vidonate.detect.gate import active_spans

if TYPE_CHECKING:
    from vidonate.detect.infer import Detector

THRESHOLDS = tuple(np.round(np.arange(0.30, 0.951, 0.05), 2))


def clip_macro_f1(truth: Sequence[str], predicted: Sequence[str]) -> float:
    """Mean F1 over the clip labels that occur in ``truth`` or ``predicted``."""
    scores = []
    for label in CLIP_LABELS:
        tp = sum(t == label and p == label for t, p in zip(truth, predicted, strict=True))
        fp = sum(t != label and p == label for t, p in zip(truth, predicted, strict=True))
        fn = sum(t == label and p != label for t, p in zip(truth, predicted, strict=True))
        if tp + fp + fn:
            scores.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores)) if scores else 0.0


def event_recall(
    truth: Sequence[Sequence[Event]], detected: Sequence[Sequence[Event]]
) -> tuple[int, int]:
    """(recalled, total) ground-truth events, recalled = overlapped by a same-class detection."""
    recalled = total = 0
    for true_events, found in zip(truth, detected, strict=True):
        for event in true_events:
            total += 1
            recalled += any(
                d.label == event.label and min(d.end, event.end) > max(d.start, event.start)
                for d in found
            )
    return recalled, total


def judge(
    clips: Sequence[TrainingClip], detected: Sequence[Sequence[Event]], scores: Sequence[np.ndarray]
) -> dict[str, Any]:
    """Validation metrics of one set of detections."""
    predicted = [
        predicted_clip_label(
            ClipResult(
                clip_id=c.clip_id,
                label=c.label,
                truth=c.events,
                detected=tuple(found),
                times=c.features.times,
                scores=s,
                duration=c.features.duration,
                staged=True,
                synthetic=True,
            )
        )
        for c, found, s in zip(clips, detected, scores, strict=True)
    ]
    recalled, total = event_recall([c.events for c in clips], detected)
    normal = [found for c, found in zip(clips, detected, strict=True) if c.label == NORMAL]
    return {
        "clips": len(clips),
        "clip_accuracy": float(
            np.mean([p == c.label for p, c in zip(predicted, clips, strict=True)])
        ),
        "macro_f1": clip_macro_f1([c.label for c in clips], predicted),
        "event_recall": recalled / total if total else None,
        "events": total,
        "false_events_on_normal_clips": sum(len(found) for found in normal),
        "normal_clips": len(normal),
    }


def gate_recall(detector: Detector, clips: Sequence[TrainingClip]) -> float | None:
    """Share of ground-truth event frames the motion gate lets through."""
    inside = total = 0
    for clip in clips:
        spans = active_spans(clip.features.frames, clip.features.fps, detector.manifest.gate)
        active = np.zeros(len(clip.features.frames), dtype=bool)
        for first, stop in spans:
            active[first:stop] = True
        times = clip.features.times
        for event in clip.events:
            frames = (times >= event.start) & (times < event.end)
            inside += int((frames & active).sum())
            total += int(frames.sum())
    return inside / total if total else None


def calibrate(
    detector: Detector, clips: Sequence[TrainingClip], base: DecoderConfig
) -> tuple[DecoderConfig, dict[str, Any] | None]:
    """The decoder at the best threshold on ``clips`` and its metrics there; ``base`` and
    None when there are no clips to judge by."""
    if not clips:
        return base, None
    analysed = [detector.analyse(c.features) for c in clips]
    best: tuple[float, DecoderConfig, dict[str, Any]] | None = None
    for high in THRESHOLDS:
        decoder = base.with_threshold(float(high))
        detected = [
            decode_events(
                a.times, a.scores, detector.manifest.event_classes, decoder, fps=c.features.fps
            )
            for a, c in zip(analysed, clips, strict=True)
        ]
        metrics = judge(clips, detected, [a.scores for a in analysed])
        objective = metrics["macro_f1"] + (metrics["event_recall"] or 0.0)
        if best is None or objective >= best[0]:
            best = (objective, decoder, metrics)
    assert best is not None
    _, decoder, metrics = best
    return decoder, {
        "threshold": decoder.high,
        **metrics,
        "gate_recall": gate_recall(detector, clips),
    }
