"""What the evaluation reads: events, one clip's detector output, and the label names."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

CLASSES = ("package_theft", "car_door_tampering")
NORMAL = "normal_activity"
# The labels a clip can have, in the order of every per-label table and matrix.
CLIP_LABELS = (*CLASSES, NORMAL)

DEFAULT_RESAMPLES = 1000
DEFAULT_CONFIDENCE = 0.95
DEFAULT_STRICT_IOU = 0.3
# Bins of the expected calibration error of clip-level event scores.
DEFAULT_ECE_BINS = 10
# A ROC curve keeps at most this many points for plotting; the AUC is computed exactly.
MAX_ROC_POINTS = 500

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
    # The per-frame scores before score calibration, when the detector calibrates them
    # (for the calibration error before and after); None: not known.
    raw_scores: np.ndarray | None = None

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
        if self.raw_scores is not None:
            raw = np.asarray(self.raw_scores, dtype=np.float64)
            object.__setattr__(self, "raw_scores", raw)
            if raw.shape != expected or not np.isfinite(raw).all():
                raise ValueError(f"{where}: raw_scores must be finite, of shape {expected}")
        if not (np.isfinite(self.times).all() and np.isfinite(self.scores).all()):
            raise ValueError(f"{where}: times and scores must be finite")
        if not (math.isfinite(self.duration) and self.duration >= 0):
            raise ValueError(f"{where}: duration must be finite and ≥ 0, got {self.duration}")
