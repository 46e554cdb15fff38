"""The motion gate: find the stretches where something moves; the network sees only those.

A frame counts as moving when enough of its (small, already noise-averaged) pixels changed
since the previous one. Moving frames are widened by ``margin_s`` on both sides, because
the network needs to see the scene before and after an action (the box on the porch, then
gone). Everything else is a still stretch: it costs one subtraction per pixel, its scores
are zero, and nothing there can raise a false alarm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GateConfig:
    """Sensitivity of the motion gate; stored in model.json."""

    pixel_threshold: int = 10  # grey levels (0..255) a pixel must change by
    min_changed_fraction: float = 0.0015  # of the frame's pixels (8 of 96×54)
    margin_s: float = 3.0


def changed_fraction(frames: np.ndarray, pixel_threshold: int) -> np.ndarray:
    """(T,) share of pixels that changed by more than ``pixel_threshold`` since the last
    frame; the first frame has nothing to compare with and scores 0."""
    fractions = np.zeros(len(frames), dtype=np.float64)
    if len(frames) < 2:
        return fractions
    # Blocks of frames keep the int16 temporary small on hour-long clips.
    block = 512
    for first in range(1, len(frames), block):
        last = min(first + block, len(frames))
        now = frames[first:last].astype(np.int16)
        before = frames[first - 1 : last - 1].astype(np.int16)
        changed = np.abs(now - before) > pixel_threshold
        fractions[first:last] = changed.reshape(last - first, -1).mean(axis=1)
    return fractions


def active_spans(frames: np.ndarray, fps: float, config: GateConfig) -> list[tuple[int, int]]:
    """Half-open frame ranges ``[first, stop)`` the network must look at, in order."""
    moving = changed_fraction(frames, config.pixel_threshold) >= config.min_changed_fraction
    if not moving.any():
        return []
    margin = round(config.margin_s * fps)
    # Widen every moving frame by the margin: a running maximum done with cumulative sums.
    counts = np.concatenate([[0], np.cumsum(moving)])
    index = np.arange(len(frames))
    low = np.clip(index - margin, 0, len(frames))
    high = np.clip(index + margin + 1, 0, len(frames))
    active = counts[high] - counts[low] > 0
    edges = np.flatnonzero(np.diff(np.concatenate([[0], active.astype(np.int8), [0]])))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]
