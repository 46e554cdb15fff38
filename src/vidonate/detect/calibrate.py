"""Calibrate scores and pick the event thresholds on held-out clips, with the detector
exactly as deployed.

The network's scores are computed once per clip. First the scores are made to mean what
they say: per event class, a temperature ``T`` maps a probability ``p`` to
``σ(logit(p) / T)``, fitted (least log-loss on a grid) so that a clip's peak score of a
class is the chance that the clip is of that class. Then thresholds on a grid are decoded
into events and judged the way the evaluation judges them (clip label = class of the
highest-scoring event; an event is recalled when a detection of its class overlaps it):
one threshold for all classes first, then each class's own, in turns, from there. The
objective is clip macro-F1 plus event recall; a tie goes to the higher threshold, because
a false alarm on a quiet porch costs more trust than a late detection.

The clips are any labelled clips the caller holds out: a release's val split, or clips of
styles training never saw (:func:`calibrate_model` recalibrates a written model on them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vidonate.detect.dataset import TrainingClip
from vidonate.detect.evaluation import (
    CLASSES,
    CLIP_LABELS,
    NORMAL,
    ClipResult,
    Event,
    predicted_clip_label,
)
from vidonate.detect.evaluation_metrics import expected_calibration_error
from vidonate.detect.events import DecoderConfig, decode_events
from vidonate.detect.gate import active_spans

if TYPE_CHECKING:
    from vidonate.detect.infer import Detector

THRESHOLDS = tuple(np.round(np.arange(0.30, 0.951, 0.05), 2))
# Temperatures tried: sharper (T < 1) or softer (T > 1) scores, within a factor of four.
TEMPERATURES = tuple(np.round(np.exp(np.linspace(np.log(0.25), np.log(4.0), 49)), 4))
# Rounds of per-class threshold search, each class in turn.
_CLASS_ROUNDS = 2
_EPSILON = 1e-6


@dataclass(frozen=True)
class ScoreCalibration:
    """Per-class temperatures on the event probabilities; stored in model.json and applied
    by :class:`~vidonate.detect.infer.Detector` after the network's softmax."""

    temperatures: dict[str, float]
    method: str = "temperature"

    def apply(self, scores: np.ndarray, classes: Sequence[str]) -> np.ndarray:
        """``scores (T, len(classes))`` calibrated; 0 and 1 stay 0 and 1 (a still stretch
        the gate never showed the network stays at 0)."""
        out = np.asarray(scores, dtype=np.float32).copy()
        for column, label in enumerate(classes):
            temperature = self.temperatures.get(label, 1.0)
            if temperature == 1.0:
                continue
            p = out[:, column].astype(np.float64)
            inside = (p > 0.0) & (p < 1.0)
            q = np.clip(p[inside], _EPSILON, 1.0 - _EPSILON)
            logit = np.log(q) - np.log1p(-q)
            out[inside, column] = 1.0 / (1.0 + np.exp(-logit / temperature))
        return out


def clip_peaks(scores: Sequence[np.ndarray]) -> np.ndarray:
    """``(clips, classes)``: each clip's highest score of each class (0 for an empty clip)."""
    return np.stack([s.max(axis=0) if len(s) else np.zeros(s.shape[1]) for s in scores])


def fit_temperatures(
    peaks: np.ndarray, labels: Sequence[str], classes: Sequence[str] = CLASSES
) -> ScoreCalibration:
    """The temperature per class, on :data:`TEMPERATURES`, that minimises the log-loss of
    clips' peak scores against "the clip is of this class"; exact ties keep T nearest 1."""
    temperatures: dict[str, float] = {}
    for column, label in enumerate(classes):
        outcome = np.array([clip_label == label for clip_label in labels], dtype=np.float64)
        best: tuple[float, float, float] | None = None
        for temperature in TEMPERATURES:
            single = ScoreCalibration({label: float(temperature)})
            q = single.apply(peaks[:, column : column + 1], [label])[:, 0].astype(np.float64)
            q = np.clip(q, _EPSILON, 1.0 - _EPSILON)
            loss = float(-np.mean(outcome * np.log(q) + (1.0 - outcome) * np.log1p(-q)))
            key = (round(loss, 12), abs(np.log(temperature)), float(temperature))
            if best is None or key < best:
                best = key
        assert best is not None
        temperatures[label] = best[2]
    return ScoreCalibration(temperatures)


def reliability(
    peaks: np.ndarray, labels: Sequence[str], classes: Sequence[str] = CLASSES
) -> float:
    """Expected calibration error of clips' peak scores, over every (clip, class) pair."""
    outcome = np.array([[label == c for c in classes] for label in labels], dtype=bool)
    return expected_calibration_error(peaks.ravel(), outcome.ravel())


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


@dataclass(frozen=True)
class Calibration:
    """What :func:`calibrate` picked, and the validation metrics at it."""

    decoder: DecoderConfig
    scores: ScoreCalibration | None
    metrics: dict[str, Any] | None


def pick_thresholds(
    clips: Sequence[TrainingClip],
    scores: Sequence[np.ndarray],
    classes: Sequence[str],
    base: DecoderConfig,
    per_class: bool,
) -> tuple[DecoderConfig, dict[str, Any]]:
    """The decoder that does best on ``clips`` with per-frame ``scores`` (already
    calibrated), and its metrics: the best single threshold, then with ``per_class`` each
    class's threshold in turn, keeping the others, for a few rounds (never worse than the
    single threshold, which it starts from)."""

    def judged(decoder: DecoderConfig) -> tuple[float, dict[str, Any]]:
        detected = [
            decode_events(c.features.times, s, classes, decoder, fps=c.features.fps)
            for c, s in zip(clips, scores, strict=True)
        ]
        metrics = judge(clips, detected, scores)
        return metrics["macro_f1"] + (metrics["event_recall"] or 0.0), metrics

    best: tuple[float, DecoderConfig, dict[str, Any]] | None = None
    for high in THRESHOLDS:  # ascending, and ``>=``: a tie goes to the higher threshold
        decoder = base.with_threshold(float(high))
        objective, metrics = judged(decoder)
        if best is None or objective >= best[0]:
            best = (objective, decoder, metrics)
    assert best is not None
    if per_class:
        objective, decoder, metrics = best
        chosen = {label: decoder.high for label in classes}
        for _ in range(_CLASS_ROUNDS):
            for label in classes:
                for high in THRESHOLDS:
                    trial = decoder.with_class_thresholds({**chosen, label: float(high)})
                    trial_objective, trial_metrics = judged(trial)
                    if trial_objective > objective or (
                        trial_objective == objective and float(high) >= chosen[label]
                    ):
                        objective, metrics = trial_objective, trial_metrics
                        chosen[label] = float(high)
        best = (objective, decoder.with_class_thresholds(chosen), metrics)
    return best[1], best[2]


def calibrate(
    detector: Detector,
    clips: Sequence[TrainingClip],
    base: DecoderConfig,
    *,
    per_class: bool = True,
    fit_scores: bool = True,
) -> Calibration:
    """Score calibration (``fit_scores``) and the decoder's thresholds (one per class with
    ``per_class``) picked on ``clips``, with the metrics there; ``base``, the detector's
    own score calibration and no metrics when there are no clips to judge by."""
    if not clips:
        return Calibration(base, detector.manifest.calibration, None)
    classes = detector.manifest.event_classes
    raw = [detector.analyse(c.features).raw_scores for c in clips]
    labels = [c.label for c in clips]
    peaks = clip_peaks(raw)
    if fit_scores:
        scoring: ScoreCalibration | None = fit_temperatures(peaks, labels, classes)
    else:
        scoring = detector.manifest.calibration
    scores = [scoring.apply(s, classes) if scoring else s for s in raw]
    decoder, metrics = pick_thresholds(clips, scores, classes, base, per_class)
    return Calibration(
        decoder,
        scoring,
        {
            "threshold": decoder.high,
            "thresholds": {label: decoder.high_for(label) for label in classes},
            "temperatures": dict(scoring.temperatures) if scoring else None,
            **metrics,
            "ece_uncalibrated": reliability(peaks, labels, classes),
            "ece": reliability(clip_peaks(scores), labels, classes),
            "gate_recall": gate_recall(detector, clips),
        },
    )


def calibrate_model(
    model_dir: Path,
    clips: Sequence[TrainingClip],
    *,
    per_class: bool = True,
    fit_scores: bool = True,
) -> Calibration:
    """Recalibrate the model in ``model_dir`` on ``clips`` (held-out styles, another
    release's val split) and rewrite its model.json: scores, thresholds, and a
    ``recalibration`` record beside the training one."""
    from vidonate.detect.infer import Detector

    detector = Detector.load(model_dir, threads=1)
    result = calibrate(
        detector, clips, detector.manifest.decoder, per_class=per_class, fit_scores=fit_scores
    )
    manifest = detector.manifest.model_copy(
        update={
            "decoder": result.decoder,
            "calibration": result.scores,
            "training": {**detector.manifest.training, "recalibration": result.metrics},
        }
    )
    manifest.write(model_dir)
    return result
