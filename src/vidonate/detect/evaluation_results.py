"""What the evaluation returns: metrics with bootstrap intervals, and their JSON form."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, TypeAdapter

from vidonate.detect.evaluation_inputs import CLASSES, CLIP_LABELS

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
class Reliability:
    """How far clip-level event scores (a clip's peak score of a class) are from meaning
    the chance that the clip is of that class: the expected calibration error over every
    (clip, event class) pair, after the detector's score calibration and before it (NaN
    when the raw scores were not kept). Point estimates, no interval."""

    ece: Number
    ece_uncalibrated: Number
    bins: int
    pairs: int


@dataclass(frozen=True)
class MetricSet:
    """Every metric on one set of clips."""

    clips: int
    hours: Number  # total duration of the clips
    clip_level: ClipLevel
    events: EventLevel
    frames: tuple[FrameAuc, ...]  # in CLASSES order
    false_alarms: FalseAlarms
    reliability: Reliability | None = None  # None in results written before it existed

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
                "ece": overall.reliability.ece if overall.reliability else None,
                "ece_uncalibrated": (
                    overall.reliability.ece_uncalibrated if overall.reliability else None
                ),
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
