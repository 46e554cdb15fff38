"""People cut from real footage: walkers found in a fixed-camera video by background
subtraction (OpenCV's MOG2), followed from frame to frame, and kept as sequences of
RGBA cut-outs; or, without footage, the same kind of sequence made from a procedural
silhouette.

Heads are mosaicked when a cut-out is made (the top sixth of each figure), as vidonate
never shows a recognisable face it did not have consent for.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from vidonate.synth.pose import PersonState, skeleton

FOOTAGE = "vtest.avi"  # a fixed camera over a campus, people walking across it
_ANALYSE_FRAMES = 420  # how much of the footage the subtraction watches
_WARMUP = 40  # frames MOG2 learns the background from before blobs count
_MIN_TRACK = 10  # shortest walker kept, frames
_MAX_FRAMES = 24  # most frames kept per walker
_MAX_WALKERS = 16
_HEAD_SHARE = 0.17


@dataclass(frozen=True)
class Cutout:
    """One frame of a walker: colour, coverage (0-255) and the mean colour of the torso."""

    rgb: np.ndarray
    alpha: np.ndarray
    torso: tuple[int, int, int]


@dataclass(frozen=True)
class Walker:
    frames: tuple[Cutout, ...]
    heading: int  # +1 walks to the right of the picture, -1 to the left
    origin: str  # "vtest.avi track 3", or "procedural"


_bank: dict[str, tuple[Walker, ...]] = {}
_lock = threading.Lock()


def _key(media_dir: Path | None) -> str:
    return "" if media_dir is None else str(media_dir.resolve())


def walkers(media_dir: Path | None) -> tuple[Walker, ...]:
    """The walkers of `media_dir`'s footage (made once per process), or procedural ones
    when there is no footage or nobody could be cut from it."""
    key = _key(media_dir)
    with _lock:
        cached = _bank.get(key)
    if cached is not None:
        return cached
    found: tuple[Walker, ...] = ()
    if media_dir is not None and (media_dir / FOOTAGE).is_file():
        found = from_footage(media_dir / FOOTAGE)
    if not found:
        found = procedural_walkers()
    with _lock:
        _bank[key] = found
    return found


def preload(media_dir: Path | None, bank: tuple[Walker, ...]) -> None:
    """Give this process walkers made elsewhere (by a run's parent process)."""
    with _lock:
        _bank[_key(media_dir)] = bank


def _mosaic_head(rgb: np.ndarray) -> None:
    h, w = rgb.shape[:2]
    head = max(2, round(h * _HEAD_SHARE))
    block = max(2, w // 4)
    region = rgb[:head]
    size = (max(1, w // block), max(1, head // block))
    small = cv2.resize(region, size, interpolation=cv2.INTER_AREA)
    region[...] = cv2.resize(small, (w, head), interpolation=cv2.INTER_NEAREST)


def _cutout(rgb: np.ndarray, mask: np.ndarray) -> Cutout:
    rgb = np.ascontiguousarray(rgb)
    _mosaic_head(rgb)
    alpha = cv2.GaussianBlur(mask, (0, 0), 1.0)
    h = rgb.shape[0]
    torso_rows = slice(round(h * 0.22), round(h * 0.5))
    cover = mask[torso_rows] > 127
    pixels = rgb[torso_rows][cover]
    mean = pixels.mean(axis=0) if len(pixels) else np.array([90.0, 90.0, 90.0])
    return Cutout(rgb, alpha, (int(mean[0]), int(mean[1]), int(mean[2])))


def from_footage(path: Path) -> tuple[Walker, ...]:
    """Walkers in a fixed-camera video: MOG2 foreground at half size, cleaned, split into
    upright person-shaped blobs, each joined to the blob of the previous frame nearest to
    it; tracks long enough and moving sideways become walkers."""
    subtractor = cv2.createBackgroundSubtractorMOG2(history=200, varThreshold=25)
    tracks: list[_Track] = []
    open_kernel, close_kernel = np.ones((3, 3), np.uint8), np.ones((7, 5), np.uint8)
    with av.open(str(path)) as container:
        for index, frame in enumerate(container.decode(container.streams.video[0])):
            if index >= _ANALYSE_FRAMES:
                break
            rgb: np.ndarray = frame.to_ndarray(format="rgb24")
            half = (rgb.shape[1] // 2, rgb.shape[0] // 2)
            small = cv2.resize(rgb, half, interpolation=cv2.INTER_AREA)
            mask = subtractor.apply(small)
            if index < _WARMUP:
                continue
            moving = np.where(mask == 255, 255, 0).astype(np.uint8)  # 127 is MOG2's shadow
            opened = cv2.morphologyEx(moving, cv2.MORPH_OPEN, open_kernel)
            fg: np.ndarray = cv2.morphologyEx(opened, cv2.MORPH_CLOSE, close_kernel)
            count, labels, stats, _ = cv2.connectedComponentsWithStats(fg)
            for blob in range(1, count):
                x, y, w, h, area = (int(v) for v in stats[blob])
                touches = x <= 1 or y <= 1 or x + w >= fg.shape[1] - 1 or y + h >= fg.shape[0] - 1
                if touches or h < 36 or not 1.7 * w < h < 4.5 * w or area < 0.4 * w * h:
                    continue
                crop = rgb[2 * y : 2 * (y + h), 2 * x : 2 * (x + w)]
                own = np.where(labels[y : y + h, x : x + w] == blob, 255, 0).astype(np.uint8)
                full: np.ndarray = cv2.resize(
                    own, (crop.shape[1], crop.shape[0]), interpolation=cv2.INTER_LINEAR
                )
                _join(tracks, index, (x + w / 2, y + h, h), crop.copy(), full)
    result = []
    for number, track in enumerate(tracks):
        moved = track.xs[-1] - track.xs[0]
        if len(track.frames) < _MIN_TRACK or abs(moved) < 0.6 * float(np.mean(track.heights)):
            continue
        kept = track.frames[:_MAX_FRAMES]
        result.append(
            Walker(
                tuple(_cutout(c, m) for c, m in kept),
                1 if moved > 0 else -1,
                f"{path.name} track {number}",
            )
        )
        if len(result) >= _MAX_WALKERS:
            break
    return tuple(result)


@dataclass
class _Track:
    """A walker being followed: the last frame and foot point (x, y, height) seen."""

    last: int
    foot: tuple[float, float, float]
    frames: list[tuple[np.ndarray, np.ndarray]]
    xs: list[float]
    heights: list[float]


def _join(
    tracks: list[_Track],
    index: int,
    foot: tuple[float, float, float],
    crop: np.ndarray,
    mask: np.ndarray,
) -> None:
    """Add a blob to the track it continues (seen the frame before, near, of a similar
    height), or start a track with it."""
    x, y, h = foot
    for track in tracks:
        if track.last != index - 1:
            continue
        lx, ly, lh = track.foot
        if math.hypot(x - lx, y - ly) < 0.35 * lh and 0.75 < h / lh < 1.33:
            track.last, track.foot = index, foot
            track.frames.append((crop, mask))
            track.xs.append(x)
            track.heights.append(h)
            return
    tracks.append(_Track(index, foot, [(crop, mask)], [x], [h]))


def procedural_walkers() -> tuple[Walker, ...]:
    """Without footage: walkers whose frames are a filled side-view silhouette at ten
    phases of the walking cycle, in mottled clothing colours (no footage, no faces)."""
    rng = np.random.default_rng(2024)
    result = []
    for number in range(6):
        shirt = rng.uniform(40, 200, 3)
        trousers = rng.uniform(30, 120, 3)
        frames = []
        for step in range(10):
            state = PersonState(x=40.0, facing=1, phase=step / 10 * 2 * math.pi, stride=1.0)
            joints = skeleton(state, 120.0, 130.0)
            mask = np.zeros((136, 80), np.uint8)
            for a, b, width in (
                (joints.hip, joints.near_knee, 12), (joints.near_knee, joints.near_foot, 10),
                (joints.hip, joints.far_knee, 12), (joints.far_knee, joints.far_foot, 10),
                (joints.shoulder, joints.hip, 20), (joints.shoulder, joints.near_elbow, 8),
                (joints.near_elbow, joints.near_hand, 7), (joints.shoulder, joints.far_elbow, 8),
                (joints.far_elbow, joints.far_hand, 7),
            ):  # fmt: skip
                cv2.line(mask, _int(a), _int(b), 255, width, cv2.LINE_AA)
            cv2.circle(mask, _int(joints.head), 9, 255, -1, cv2.LINE_AA)
            rows = np.arange(136, dtype=np.float32)[:, None, None]
            colour = np.where(rows < joints.hip[1], shirt, trousers)
            mottled = colour * rng.uniform(0.8, 1.2, (136, 80, 1))
            rgb = np.broadcast_to(mottled, (136, 80, 3)).clip(0, 255).astype(np.uint8)
            ys, xs = np.nonzero(mask)
            box = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
            crop = (slice(box[1], box[3]), slice(box[0], box[2]))
            frames.append(_cutout(rgb[crop].copy(), mask[crop].copy()))
        result.append(Walker(tuple(frames), 1, f"procedural {number}"))
    return tuple(result)


def _int(point: tuple[float, float]) -> tuple[int, int]:
    return (round(point[0]), round(point[1]))
