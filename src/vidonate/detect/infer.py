"""Run a trained detector on footage with onnxruntime (no PyTorch needed).

``Detector.load(model_dir)`` reads model.onnx and model.json. For a clip it decodes the
small frames (:mod:`~vidonate.detect.features`, with the HOG person map when the model
reads it), asks the motion gate where something
moves, runs the network on those stretches only (long ones in overlapping windows, so
memory stays flat and every scored frame has its full temporal context), calibrates the
probabilities per class (:class:`~vidonate.detect.calibrate.ScoreCalibration`, when
model.json has one) and decodes them into events (:mod:`~vidonate.detect.events`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from vidonate.detect.evaluation import CLASSES, Event
from vidonate.detect.events import DecoderConfig, decode_events
from vidonate.detect.evidence import MissingHogMap, clip_evidence, needs_hog
from vidonate.detect.features import ClipFeatures, extract_features
from vidonate.detect.gate import active_spans
from vidonate.detect.manifest import EVIDENCE_INPUT_NAME, INPUT_NAME, ONNX_NAME, ModelManifest

# Frames the network scores per window; a window also carries the receptive field's
# context on both sides. 2 minutes at 10 fps: ~6 MB of input, well past the context.
_WINDOW_FRAMES = 1200


@dataclass(frozen=True)
class Detection:
    """What the detector made of one clip."""

    times: np.ndarray  # (T,) seconds
    scores: np.ndarray  # (T, len(CLASSES)) per-frame probability of each event class
    raw_scores: np.ndarray  # the same before the model's score calibration
    events: tuple[Event, ...]
    duration: float
    gated_fraction: float  # share of frames the motion gate let through to the network


class Detector:
    """A trained theft detector, ready to run."""

    def __init__(self, session: ort.InferenceSession, manifest: ModelManifest) -> None:
        if tuple(manifest.event_classes) != CLASSES:
            raise ValueError(f"model scores {manifest.event_classes}, evaluation wants {CLASSES}")
        self.session = session
        self.manifest = manifest
        names = [item.name for item in session.get_inputs()]
        wanted = [INPUT_NAME, EVIDENCE_INPUT_NAME] if manifest.evidence else [INPUT_NAME]
        if names != wanted:
            raise ValueError(f"model.onnx takes {names}, model.json describes {wanted}")
        self._columns = [manifest.classes.index(label) for label in manifest.event_classes]

    @classmethod
    def load(cls, model_dir: Path, *, threads: int | None = None) -> Detector:
        """Load model.onnx and model.json from ``model_dir``; ``threads`` defaults to the
        CPU count (the network is small: more threads than cores only adds contention)."""
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or min(os.cpu_count() or 1, 4)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        session = ort.InferenceSession(
            str(Path(model_dir) / ONNX_NAME), options, providers=["CPUExecutionProvider"]
        )
        return cls(session, ModelManifest.read(model_dir))

    @property
    def decoder(self) -> DecoderConfig:
        return self.manifest.decoder

    def features(self, video: Path | ClipFeatures) -> ClipFeatures:
        """``video`` decoded the way this model was trained (features pass through): with
        the HOG person map when the model reads the "hog" evidence."""
        hog = needs_hog(self.manifest.evidence)
        if isinstance(video, ClipFeatures):
            expected = (self.manifest.fps, self.manifest.height, self.manifest.width)
            actual = (video.fps, *video.frames.shape[1:])
            if actual != expected:
                raise ValueError(f"features are {actual} (fps, H, W), the model wants {expected}")
            if hog and video.hog is None:
                raise MissingHogMap()
            return video
        return extract_features(
            Path(video),
            fps=self.manifest.fps,
            width=self.manifest.width,
            height=self.manifest.height,
            hog=hog,
        )

    def analyse(
        self, video: Path | ClipFeatures, *, decoder: DecoderConfig | None = None
    ) -> Detection:
        """Per-frame scores and events for one clip, from a single decode."""
        clip = self.features(video)
        spans = active_spans(clip.frames, clip.fps, self.manifest.gate)
        probabilities = np.zeros((len(clip.frames), len(self.manifest.classes)), np.float32)
        probabilities[:, 0] = 1.0  # still stretches are normal activity
        # Evidence of the whole clip, as training computes it: a running background has a
        # history, so a window's evidence is a slice of the clip's, not its own.
        evidence = clip_evidence(clip, self.manifest.evidence) if spans else None
        for first, stop in spans:
            probabilities[first:stop] = self._score_span(clip.frames, evidence, first, stop)
        raw_scores = probabilities[:, self._columns]
        calibration = self.manifest.calibration
        scores = (
            calibration.apply(raw_scores, self.manifest.event_classes)
            if calibration
            else raw_scores
        )
        events = decode_events(
            clip.times, scores, self.manifest.event_classes, decoder or self.decoder, fps=clip.fps
        )
        gated = sum(stop - first for first, stop in spans)
        return Detection(
            times=clip.times,
            scores=scores,
            raw_scores=raw_scores,
            events=tuple(events),
            duration=clip.duration,
            gated_fraction=gated / max(1, len(clip.frames)),
        )

    def frame_scores(self, video: Path | ClipFeatures) -> tuple[np.ndarray, np.ndarray]:
        """``(times (T,), scores (T, 2))``: the probability of each event class per frame."""
        detection = self.analyse(video)
        return detection.times, detection.scores

    def detect(self, video: Path | ClipFeatures) -> list[Event]:
        """The events in ``video``, sorted by start time."""
        return list(self.analyse(video).events)

    def _score_span(
        self, frames: np.ndarray, evidence: np.ndarray | None, first: int, stop: int
    ) -> np.ndarray:
        """Probabilities for frames ``[first, stop)``: windows of _WINDOW_FRAMES, each run
        with half a receptive field of real frames around it (clipped to the span)."""
        # Windows start a whole number of encoder strides after ``first`` (the window and the
        # context are multiples of it), so each frame is encoded or held as in one long run.
        stride = self.manifest.frame_stride
        context = self.manifest.receptive_field // 2
        context += -context % stride
        size = max(stride, _WINDOW_FRAMES - _WINDOW_FRAMES % stride)
        out = np.empty((stop - first, len(self.manifest.classes)), np.float32)
        for start in range(first, stop, size):
            end = min(start + size, stop)
            lo, hi = max(first, start - context), min(stop, end + context)
            feed = {INPUT_NAME: np.ascontiguousarray(frames[lo:hi][None])}
            if self.manifest.evidence and evidence is not None:
                feed[EVIDENCE_INPUT_NAME] = np.ascontiguousarray(evidence[lo:hi][None])
            result = self.session.run(None, feed)[0][0]
            out[start - first : end - first] = result[start - lo : end - lo]
        return out
