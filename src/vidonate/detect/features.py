"""Decode a clip into what the detector looks at: small grayscale frames on a uniform clock.

Every source is resampled to ``fps`` frames per second by sample-and-hold (the newest decoded
frame at or just before each tick), so 25 fps street footage and 10 fps synthetic clips
reach the model on the same time grid. Frames are shrunk by FFmpeg's swscale with area
averaging, which also averages away most sensor and compression noise; colour is dropped
because a box, a hand on a door or a person is a shape and a motion, not a hue.

With ``hog=True`` (or a :class:`HogConfig`) the decoder also runs OpenCV's HOG people
detector on the full picture every ``every_ticks`` ticks (people must be ~128 px tall for
it, far more than the small frames hold) and keeps a person map of the small frames' size
(:attr:`ClipFeatures.hog`), which the ``hog`` evidence channel reads.

Files are opened through :func:`vidonate.ingest.inputs.open_upload`: the detector runs on
donated footage and must not be the door that lets a hostile file open other files.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import cv2
import numpy as np
from av.video.frame import VideoFrame

from vidonate.errors import UnsupportedMedia
from vidonate.ingest.inputs import MEDIA_ERRORS, open_upload

FEATURE_FPS = 10.0
FEATURE_WIDTH = 96
FEATURE_HEIGHT = 54
# A tick takes the frame whose timestamp is at most this fraction of a tick after it, so
# that rounding in timestamps (0.0999 vs 0.1) does not shift a 10 fps source by a frame.
_TICK_TOLERANCE = 0.25


@dataclass(frozen=True)
class HogConfig:
    """How the HOG person map is made (the defaults are what docs/detector.md measured).

    The picture is scaled to ``height`` rows (up or down, so the map means the same for a
    360p and a 1080p camera; the default people detector's window is 64×128), the detector
    runs every ``every_ticks`` ticks (0.5 s at 10 fps) and its map is held until the next.
    """

    every_ticks: int = 5
    height: int = 720
    win_stride: tuple[int, int] = (8, 8)
    padding: tuple[int, int] = (8, 8)
    scale: float = 1.1
    hit_threshold: float = 0.0


class HogPersonMapper:
    """The HOG person map of one picture: each detection a filled box of the small frame,
    of strength 128 at the detector's threshold rising to 255 one SVM unit past it, the
    strongest where boxes overlap, 0 elsewhere."""

    def __init__(self, config: HogConfig, width: int, height: int) -> None:
        self.config = config
        self.width, self.height = width, height
        # OpenCV 5's stubs lack HOGDescriptor (pyproject.toml holds OpenCV below 5); the
        # ignore keeps mypy quiet in an environment that still has 5.x installed.
        descriptor = cv2.HOGDescriptor  # type: ignore[attr-defined,unused-ignore]
        self._hog = descriptor()
        people = np.asarray(descriptor.getDefaultPeopleDetector(), dtype=np.float32)
        self._hog.setSVMDetector(people)

    def detect(self, grey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Boxes ``(N, 4)`` (x, y, w, h) in ``grey``'s pixels and their SVM weights ``(N,)``."""
        config = self.config
        factor = config.height / grey.shape[0]
        size = (max(64, round(grey.shape[1] * factor)), config.height)
        scaled = cv2.resize(grey, size, interpolation=cv2.INTER_LINEAR)
        boxes, weights = self._hog.detectMultiScale(
            scaled,
            hitThreshold=config.hit_threshold,
            winStride=config.win_stride,
            padding=config.padding,
            scale=config.scale,
        )
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4) / factor
        return boxes, np.asarray(weights, dtype=np.float64).reshape(-1)

    def person_map(self, grey: np.ndarray) -> np.ndarray:
        """``(height, width)`` uint8 person map of the full-size grey picture ``grey``."""
        out = np.zeros((self.height, self.width), dtype=np.uint8)
        boxes, weights = self.detect(grey)
        across, down = self.width / grey.shape[1], self.height / grey.shape[0]
        strengths = np.clip(np.rint(128 + 127 * (weights - self.config.hit_threshold)), 1, 255)
        for (x, y, w, h), strength in zip(boxes, strengths, strict=True):
            left, top = max(0, int(x * across)), max(0, int(y * down))
            right = min(self.width, int(np.ceil((x + w) * across)))
            bottom = min(self.height, int(np.ceil((y + h) * down)))
            area = out[top:bottom, left:right]
            np.maximum(area, np.uint8(strength), out=area)
        return out


@dataclass(frozen=True)
class ClipFeatures:
    """A clip as the detector sees it.

    ``frames`` is ``(T, height, width)`` uint8 luma; frame ``i`` shows the clip at
    ``times[i] == i / fps`` seconds from its first frame. ``hog``, when the clip was
    decoded with the HOG people detector, is ``(T, height, width)`` uint8: the person map
    of the latest HOG tick at or before each frame (:class:`HogPersonMapper`).
    """

    frames: np.ndarray
    times: np.ndarray
    fps: float
    source_width: int
    source_height: int
    hog: np.ndarray | None = None

    @property
    def duration(self) -> float:
        """Seconds covered: the last frame lasts one tick."""
        return len(self.frames) / self.fps

    def __post_init__(self) -> None:
        if self.frames.ndim != 3 or self.frames.dtype != np.uint8:
            raise ValueError(f"frames must be (T, H, W) uint8, got {self.frames.shape}")
        if len(self.times) != len(self.frames):
            raise ValueError("times and frames differ in length")
        if self.hog is not None and (
            self.hog.shape != self.frames.shape or self.hog.dtype != np.uint8
        ):
            raise ValueError(f"hog must be uint8 of the frames' shape, got {self.hog.shape}")


def uniform_times(count: int, fps: float) -> np.ndarray:
    """The tick times of ``count`` frames at ``fps``."""
    return (np.arange(count, dtype=np.float64) / fps).astype(np.float32)


class _TickSampler:
    """Sample-and-hold onto ticks: each tick shows the frame on screen at that moment.

    A frame takes the ticks from its timestamp (less a tolerance) until the next frame's;
    frames that take no tick (a 25 fps source has 2.5 frames per tick) are decoded, as
    they must be, but never scaled, which is where the time goes.
    """

    def __init__(self, fps: float, width: int, height: int, hog: HogConfig | None = None) -> None:
        self.tick = 1.0 / fps
        self.tolerance = _TICK_TOLERANCE * self.tick
        self.width, self.height = width, height
        self.frames: list[np.ndarray] = []
        self.hog_maps: list[np.ndarray] = []
        self.source_size = (0, 0)
        self._held: VideoFrame | None = None
        self._held_small: np.ndarray | None = None
        self._held_hog: np.ndarray | None = None  # the held frame's map, once run
        self._mapper = HogPersonMapper(hog, width, height) if hog else None

    @property
    def next_tick(self) -> float:
        return len(self.frames) * self.tick

    def _small_held(self) -> np.ndarray:
        if self._held_small is None:
            assert self._held is not None
            self.source_size = (self._held.width, self._held.height)
            self._held_small = self._held.to_ndarray(
                format="gray", width=self.width, height=self.height, interpolation="AREA"
            )
        return self._held_small

    def _append_held(self) -> None:
        """The held frame at the next tick (and, with HOG, the person map then)."""
        if self._mapper is not None:
            if len(self.frames) % self._mapper.config.every_ticks == 0 or not self.hog_maps:
                if self._held_hog is None:
                    assert self._held is not None
                    self._held_hog = self._mapper.person_map(self._held.to_ndarray(format="gray"))
                self.hog_maps.append(self._held_hog)
            else:
                self.hog_maps.append(self.hog_maps[-1])
        self.frames.append(self._small_held())

    def add(self, frame: VideoFrame, offset: float) -> None:
        """``frame`` appears ``offset`` seconds after the first one."""
        while self._held is not None and self.next_tick < offset - self.tolerance:
            self._append_held()
        self._held, self._held_small, self._held_hog = frame, None, None
        while self.next_tick <= offset + self.tolerance:
            self._append_held()

    def finish(self, end: float) -> None:
        """The last frame stays on screen until ``end``."""
        while self._held is not None and self.next_tick < end - self.tolerance:
            self._append_held()


def extract_features(
    video: Path,
    *,
    fps: float = FEATURE_FPS,
    width: int = FEATURE_WIDTH,
    height: int = FEATURE_HEIGHT,
    hog: bool | HogConfig = False,
) -> ClipFeatures:
    """Decode ``video`` into :class:`ClipFeatures` at ``fps`` ticks per second.

    Only the frames that land on a tick are scaled, so a 25 fps source costs little more
    than its decoding. ``hog`` (``True`` for the default :class:`HogConfig`) also makes
    the HOG person map, which costs far more than decoding (docs/detector.md). Raises
    :class:`~vidonate.errors.UnsupportedMedia` when the file has no decodable video.
    """
    hog_config = HogConfig() if hog is True else (hog or None)
    sampler = _TickSampler(fps, width, height, hog_config)
    with open_upload(Path(video)) as container:
        if not container.streams.video:
            raise UnsupportedMedia("not_video", "the file has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = float(stream.average_rate or stream.guessed_rate or fps)
        first: float | None = None
        offset = 0.0
        try:
            for index, frame in enumerate(container.decode(stream)):
                at = frame.time if frame.time is not None else index / rate
                first = at if first is None else first
                offset = at - first
                sampler.add(frame, offset)
        except MemoryError:
            raise
        except MEDIA_ERRORS as exc:
            if not sampler.frames:
                raise UnsupportedMedia("unreadable", f"no frame can be decoded ({exc})") from exc
        # The last frame is on screen for one source period too (a 5 fps clip of 2 s is
        # 20 ticks, not 19).
        sampler.finish(offset + 1.0 / rate)
    if not sampler.frames:
        raise UnsupportedMedia("unreadable", "the video stream holds no decodable frame")
    stacked = np.stack(sampler.frames)
    return ClipFeatures(
        frames=stacked,
        times=uniform_times(len(stacked), fps),
        fps=fps,
        source_width=sampler.source_size[0],
        source_height=sampler.source_size[1],
        hog=np.stack(sampler.hog_maps) if hog_config else None,
    )


def extract_many(
    videos: Sequence[Path],
    *,
    fps: float = FEATURE_FPS,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
    hog: bool | HogConfig = False,
) -> list[ClipFeatures]:
    """:func:`extract_features` for many clips, in ``workers`` processes, in input order.

    ``progress(done, total)`` is called after each clip.
    """
    videos = [Path(v) for v in videos]
    extract = partial(extract_features, fps=fps, hog=hog)
    results: list[ClipFeatures] = []
    if workers <= 1:
        for video in videos:
            results.append(extract(video))
            if progress:
                progress(len(results), len(videos))
        return results
    # Spawned, not forked: the parent may already run PyTorch's or onnxruntime's threads.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        for features in pool.map(extract, videos, chunksize=4):
            results.append(features)
            if progress:
                progress(len(results), len(videos))
    return results
