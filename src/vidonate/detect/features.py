"""Decode a clip into what the detector looks at: small grayscale frames on a uniform clock.

Every source is resampled to ``fps`` frames per second by sample-and-hold (the newest decoded
frame at or just before each tick), so 25 fps street footage and 10 fps synthetic clips
reach the model on the same time grid. Frames are shrunk by FFmpeg's swscale with area
averaging, which also averages away most sensor and compression noise; colour is dropped
because a box, a hand on a door or a person is a shape and a motion, not a hue.

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
class ClipFeatures:
    """A clip as the detector sees it.

    ``frames`` is ``(T, height, width)`` uint8 luma; frame ``i`` shows the clip at
    ``times[i] == i / fps`` seconds from its first frame.
    """

    frames: np.ndarray
    times: np.ndarray
    fps: float
    source_width: int
    source_height: int

    @property
    def duration(self) -> float:
        """Seconds covered: the last frame lasts one tick."""
        return len(self.frames) / self.fps

    def __post_init__(self) -> None:
        if self.frames.ndim != 3 or self.frames.dtype != np.uint8:
            raise ValueError(f"frames must be (T, H, W) uint8, got {self.frames.shape}")
        if len(self.times) != len(self.frames):
            raise ValueError("times and frames differ in length")


def uniform_times(count: int, fps: float) -> np.ndarray:
    """The tick times of ``count`` frames at ``fps``."""
    return (np.arange(count, dtype=np.float64) / fps).astype(np.float32)


class _TickSampler:
    """Sample-and-hold onto ticks: each tick shows the frame on screen at that moment.

    A frame takes the ticks from its timestamp (less a tolerance) until the next frame's;
    frames that take no tick (a 25 fps source has 2.5 frames per tick) are decoded, as
    they must be, but never scaled, which is where the time goes.
    """

    def __init__(self, fps: float, width: int, height: int) -> None:
        self.tick = 1.0 / fps
        self.tolerance = _TICK_TOLERANCE * self.tick
        self.width, self.height = width, height
        self.frames: list[np.ndarray] = []
        self.source_size = (0, 0)
        self._held: VideoFrame | None = None
        self._held_small: np.ndarray | None = None

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

    def add(self, frame: VideoFrame, offset: float) -> None:
        """``frame`` appears ``offset`` seconds after the first one."""
        while self._held is not None and self.next_tick < offset - self.tolerance:
            self.frames.append(self._small_held())
        self._held, self._held_small = frame, None
        while self.next_tick <= offset + self.tolerance:
            self.frames.append(self._small_held())

    def finish(self, end: float) -> None:
        """The last frame stays on screen until ``end``."""
        while self._held is not None and self.next_tick < end - self.tolerance:
            self.frames.append(self._small_held())


def extract_features(
    video: Path,
    *,
    fps: float = FEATURE_FPS,
    width: int = FEATURE_WIDTH,
    height: int = FEATURE_HEIGHT,
) -> ClipFeatures:
    """Decode ``video`` into :class:`ClipFeatures` at ``fps`` ticks per second.

    Only the frames that land on a tick are scaled, so a 25 fps source costs little more
    than its decoding. Raises :class:`~vidonate.errors.UnsupportedMedia` when the file has
    no decodable video.
    """
    sampler = _TickSampler(fps, width, height)
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
    )


def extract_many(
    videos: Sequence[Path],
    *,
    fps: float = FEATURE_FPS,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> list[ClipFeatures]:
    """:func:`extract_features` for many clips, in ``workers`` processes, in input order.

    ``progress(done, total)`` is called after each clip.
    """
    videos = [Path(v) for v in videos]
    extract = partial(extract_features, fps=fps)
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
