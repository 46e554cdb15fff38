"""A detector evaluated on clips held in memory: what the bench's runs need.

The bench extracts each clip set once (:func:`~vidonate.detect.dataset.extract_training_clips`),
trains with several seeds and evidence settings (:func:`~vidonate.detect.train.train_seeds`),
recalibrates on held-out styles (:func:`~vidonate.detect.calibrate.calibrate_model`) and
scores each model here on a test set, with or without real normal footage, through the
same :func:`~vidonate.detect.evaluation.evaluate` as the release report.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from vidonate.detect.dataset import TrainingClip
from vidonate.detect.evaluation import NORMAL, ClipResult, EvaluationResult, evaluate
from vidonate.detect.features import ClipFeatures

if TYPE_CHECKING:
    from vidonate.detect.infer import Detector


def clip_result(
    detector: Detector, clip: TrainingClip, *, staged: bool = True, synthetic: bool = True
) -> ClipResult:
    """What ``detector`` made of one labelled clip, next to its ground truth."""
    detection = detector.analyse(clip.features)
    return ClipResult(
        clip_id=clip.clip_id, label=clip.label, truth=clip.events, detected=detection.events,
        times=detection.times, scores=detection.scores, duration=detection.duration,
        staged=staged, synthetic=synthetic, raw_scores=detection.raw_scores,
    )  # fmt: skip


def evaluate_clips(
    detector: Detector,
    clips: Sequence[TrainingClip],
    *,
    normal_footage: Sequence[tuple[str, ClipFeatures]] = (),
    resamples: int = 0,
    seed: int = 0,
) -> EvaluationResult:
    """Every metric of :func:`~vidonate.detect.evaluation.evaluate` for ``detector`` on the
    staged synthetic ``clips`` and on ``normal_footage`` (named real clips with no event:
    each event there is a false alarm). ``resamples`` 0: point estimates only (fast)."""
    results = [clip_result(detector, clip) for clip in clips]
    for name, features in normal_footage:
        normal = TrainingClip(features=features, label=NORMAL, events=(), clip_id=name)
        results.append(clip_result(detector, normal, staged=False, synthetic=False))
    return evaluate(results, resamples=resamples, seed=seed)


def summary(result: EvaluationResult) -> dict[str, Any]:
    """The bench's numbers from one evaluation: on the synthetic clips, macro-F1, event
    recall and the calibration error before and after; on all, false alarms per hour."""
    synthetic = result.subset("synthetic").metrics
    overall = result.headline()
    if synthetic is None:
        return {"macro_f1": None, "event_recall": None, "ece": None, **_alarms(overall)}
    reliability = synthetic.reliability
    return {
        "clips": synthetic.clips,
        "macro_f1": synthetic.clip_level.macro_f1.value,
        "event_recall": synthetic.events.overall.recall.value,
        "ece": reliability.ece if reliability else None,
        "ece_uncalibrated": reliability.ece_uncalibrated if reliability else None,
        **_alarms(overall),
    }


def _alarms(headline: dict[str, Any]) -> dict[str, Any]:
    return {
        "false_alarm_hours": headline["false_alarm_hours"],
        "false_alarms_per_hour": headline["false_alarms_per_hour"],
        "false_alarms_upper_per_hour": headline["false_alarms_upper_per_hour"],
    }
