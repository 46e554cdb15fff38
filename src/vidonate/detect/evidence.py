"""Behaviour-level evidence: maps of what moves, what stays, and what changed where a person was.

The network's own channels (luma, motion, change since 2 s) show *how the picture looks*;
a renderer it never saw draws people and boxes differently. These maps say *what happens*
in a way that does not depend on the look, and the network can take them as extra input
channels (``ModelConfig.evidence``, recorded in model.json):

- ``bg``: **foreground** by background subtraction: pixels far from a running background,
  an approximate running median (each frame moves the background at most
  ``background_step`` grey levels towards itself, so people walking through barely touch
  it and a box left for seconds joins it);
- ``removed``: **a lasting change where a person was**: foreground that no longer moves
  (a ghost where a box was taken, or a box put down) at a place where something moved in
  the last ``lag`` frames; it fades as the background absorbs the change;
- ``dwell``: the share of the last ``dwell_s`` seconds that something moved at each place
  (a person lingering at a car door, or at the porch);
- ``hog``: **people by their shape**: OpenCV 4's HOG people detector (the default
  Dalal–Triggs SVM), run at decode time on the full picture scaled to 720 rows, every
  0.5 s, each detection a filled box of strength 128..255 (SVM weight), held until the
  next HOG tick (:class:`~vidonate.detect.features.HogConfig`). It needs people ~128 px
  tall, so it cannot run on the small frames: the map is made by
  :func:`~vidonate.detect.features.extract_features` with ``hog=True``, stored in
  :attr:`ClipFeatures.hog <vidonate.detect.features.ClipFeatures.hog>` (and the feature
  cache), and read here; features decoded without it raise :class:`MissingHogMap`.

The first three are computed here, in NumPy, from the same 96×54 grey frames the network
reads, by one function that training (on each augmented clip) and inference (on each whole
clip) both call, so the two see the same evidence for the same frames; training moves the
``hog`` map with its clip's frames through the same cuts, mirroring and camera motion.
Each map is uint8 (0..255) of the frames' shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import maximum_filter, uniform_filter1d

from vidonate.detect.features import ClipFeatures

EVIDENCE_CHANNELS: tuple[str, ...] = ("bg", "removed", "dwell", "hog")


class MissingHogMap(ValueError):
    """The ``hog`` channel was asked for on frames decoded without the HOG person map."""

    def __init__(self) -> None:
        super().__init__(
            "evidence channel 'hog' needs the HOG person map made at decode time: "
            "re-extract the clip with extract_features(..., hog=True) "
            "(or extract_training_clips(..., hog=True))"
        )


@dataclass(frozen=True)
class EvidenceConfig:
    """How the evidence maps are computed (the defaults are what the tests exercise)."""

    background_step: int = 2  # grey levels per frame the running background may move
    foreground_levels: int = 20  # from the background: a foreground pixel
    motion_levels: int = 10  # from the previous frame: a moving pixel
    lag: int = 20  # frames (2 s at 10 fps) a person's presence is remembered
    dwell_s: float = 5.0
    fps: float = 10.0


def check_channels(channels: Sequence[str]) -> tuple[str, ...]:
    """``channels`` as a tuple, each known and named once, in the caller's order."""
    channels = tuple(channels)
    unknown = [c for c in channels if c not in EVIDENCE_CHANNELS]
    if unknown:
        raise ValueError(f"unknown evidence channels {unknown}; known: {EVIDENCE_CHANNELS}")
    if len(set(channels)) != len(channels):
        raise ValueError(f"evidence channels named twice: {channels}")
    return channels


def running_background(frames: np.ndarray, step: int) -> np.ndarray:
    """``(T, H, W)`` int16: the background before each frame, an approximate running
    median started from the per-pixel median of the first 2 s (a person standing at the
    start then does not leave a ghost behind)."""
    out = np.empty(frames.shape, dtype=np.int16)
    if len(frames) == 0:
        return out
    background = np.median(frames[:20], axis=0).astype(np.int16)
    for index, frame in enumerate(frames.astype(np.int16)):
        out[index] = background
        background = background + np.clip(frame - background, -step, step)
    return out


def _moving(frames: np.ndarray, foreground: np.ndarray, levels: int) -> np.ndarray:
    """Foreground near a pixel that changed since the previous frame: a moving thing."""
    signed = frames.astype(np.int16)
    changed = np.zeros(frames.shape, dtype=bool)
    changed[1:] = np.abs(signed[1:] - signed[:-1]) > levels
    return foreground & maximum_filter(changed, size=(1, 5, 5))


def needs_hog(channels: Sequence[str]) -> bool:
    """Whether evidence ``channels`` read the HOG person map (so clips need ``hog=True``)."""
    return "hog" in channels


def clip_evidence(
    clip: ClipFeatures, channels: Sequence[str], config: EvidenceConfig | None = None
) -> np.ndarray:
    """:func:`evidence_maps` of a decoded clip, its HOG person map included."""
    return evidence_maps(clip.frames, channels, config, hog=clip.hog)


def evidence_maps(
    frames: np.ndarray,
    channels: Sequence[str],
    config: EvidenceConfig | None = None,
    *,
    hog: np.ndarray | None = None,
) -> np.ndarray:
    """``(T, len(channels), H, W)`` uint8 evidence for ``frames`` ``(T, H, W)`` uint8;
    ``hog`` is the clip's HOG person map (:attr:`ClipFeatures.hog`), needed for "hog"."""
    config = config or EvidenceConfig()
    channels = check_channels(channels)
    frames = np.asarray(frames, dtype=np.uint8)
    if needs_hog(channels):
        if hog is None:
            raise MissingHogMap()
        if hog.shape != frames.shape:
            raise ValueError(f"hog map is {hog.shape}, the frames {frames.shape}")
    out = np.zeros((len(frames), len(channels), *frames.shape[1:]), dtype=np.uint8)
    if not channels or len(frames) == 0:
        return out
    if needs_hog(channels):
        out[:, channels.index("hog")] = hog
    if channels == ("hog",):
        return out
    background = running_background(frames, config.background_step)
    foreground = np.abs(frames.astype(np.int16) - background) > config.foreground_levels
    moving = _moving(frames, foreground, config.motion_levels)
    for column, name in enumerate(channels):
        if name == "bg":
            out[:, column] = foreground * np.uint8(255)
        elif name == "removed":
            out[:, column] = _lasting_change(foreground, moving, config.lag) * np.uint8(255)
        elif name == "dwell":
            out[:, column] = _dwell(moving, round(config.dwell_s * config.fps))
        # "hog" was copied in above: it is made at decode time, not from these frames.
    return out


def _lasting_change(foreground: np.ndarray, moving: np.ndarray, lag: int) -> np.ndarray:
    """Still foreground where something moved within the last ``lag`` frames."""
    near = maximum_filter(moving, size=(1, 5, 5))
    # Where anything moved in frames t-lag..t: a running "any" over time by cumulative sums.
    counts = np.concatenate([np.zeros((1, *near.shape[1:]), np.int32), np.cumsum(near, 0)])
    index = np.arange(len(near))
    recent = counts[index + 1] - counts[np.maximum(0, index - lag)] > 0
    still = foreground & ~maximum_filter(moving, size=(1, 3, 3))
    return still & recent


def _dwell(moving: np.ndarray, window: int) -> np.ndarray:
    """The share of the last ``window`` frames something moved at each place, 0..255."""
    window = max(1, window)
    # A trailing mean: the centred filter of scipy, shifted back by half a window.
    share = uniform_filter1d(
        moving.astype(np.float32), size=window, axis=0, mode="nearest", origin=(window - 1) // 2
    )
    return np.clip(np.rint(share * 255.0), 0, 255).astype(np.uint8)
