"""Training-time variations of the clips: what real footage does that staged scenes do not.

The staged scenes show one person, a fixed camera and one continuous shot. Real cameras
see several people at once, pan and shake, and recordings get cut and joined. None of that
is a theft, so each variation keeps the clip's labels, and the network learns to look past
it:

- mirror image and exposure/contrast (cheap, every clip);
- the synthesizer's burnt-in SYNTHETIC label covered over, half of the time;
- **extra people**: the moving parts of other, normal clips (found against their per-pixel
  median, the empty scene), shrunk and pasted into this one: crowds of small passers-by
  (off by default: it made the detector worse on real pedestrians, see ``AugmentConfig``);
- **cuts**: this clip up to a moment outside its events, then another clip from a moment
  outside its events, ending at one too, no longer than this clip: a scene change is not an
  event, and no event is cut in half (half a theft, the walk away with the box, would look
  like half a delivery);
- **clutter**: the fine detail of another clip's empty scene (its objects and edges, not
  its light) laid over every frame alike, so the place looks different while nothing in
  it moves: a detector that learnt the few places of its training set misread new ones
  (tampering missed in front of the table of boxes of ``box_in_scene.png``);
- **camera motion and distance**: a slow pan over the whole clip, zoomed in or out (done on
  the tensor, in :func:`camera_motion`).

A clip's HOG person map (``ClipFeatures.hog``, for the "hog" evidence), when the
augmenter is asked to carry it, goes through the same cuts, pastes, mirroring and camera
motion as its frames, and through none of the changes of light, label or clutter (the
detector ran on the real picture, which those do not change).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from scipy.ndimage import maximum_filter
from torch.nn import functional as F

from vidonate.detect.dataset import TrainingClip
from vidonate.detect.evidence import MissingHogMap

# Grey levels a pixel must differ from the empty scene by to count as a moving thing.
_FOREGROUND_LEVELS = 25
# Pixels of blur whose removal leaves a scene's detail (at 96×54: objects, edges, texture).
_CLUTTER_BLUR = 6


@dataclass(frozen=True)
class AugmentConfig:
    """How often each variation applies to a training clip."""

    flip: float = 0.5
    gain: tuple[float, float] = (0.7, 1.3)
    offset: tuple[float, float] = (-25.0, 25.0)
    marker: float = 0.5
    # Off: with it on, the detector called vtest.avi's real pedestrians tampering four
    # times in 80 s (none without it), and fitted the staged scenes worse (docs/detector.md).
    extra_person: float = 0.0  # then again with the same chance, for crowds
    person_scale: tuple[float, float] = (0.35, 1.0)
    cut: float = 0.2
    camera_motion: float = 0.35
    zoom: tuple[float, float] = (0.55, 1.35)
    clutter: float = 0.5
    clutter_strength: tuple[float, float] = (0.4, 1.0)


class Augmenter:
    """Variations of the clips of one training set (targets are per-frame class indices)."""

    def __init__(
        self,
        clips: Sequence[TrainingClip],
        targets: Sequence[np.ndarray],
        config: AugmentConfig,
        *,
        hog: bool = False,
    ) -> None:
        if hog and any(c.features.hog is None for c in clips):
            raise MissingHogMap()
        self.clips = clips
        self.targets = targets
        self.config = config
        self.hog = hog
        # Only clips without events lend people: a pasted thief would be an unlabelled theft.
        self.lenders = [i for i, t in enumerate(targets) if not t.any()]
        self._empty_scene: dict[int, np.ndarray] = {}

    def sample(self, index: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Frames ``(T, H, W)`` uint8 and targets ``(T,)`` for one draw of clip ``index``."""
        frames, _, targets = self.draw(index, rng)
        return frames, targets

    def draw(
        self, index: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """Frames, the HOG person map moved with them (``None`` unless the augmenter
        carries it) and targets for one draw of clip ``index`` (the same draw as
        :meth:`sample` with the same ``rng``)."""
        frames, targets = self.clips[index].features.frames, self.targets[index]
        hog = self.clips[index].features.hog if self.hog else None
        if rng.random() < self.config.cut:
            frames, hog, targets = self._cut(index, rng)
        if rng.random() < self.config.marker:
            frames = _cover_marker(frames, rng)
        for _ in range(3):
            if not self.lenders or rng.random() >= self.config.extra_person:
                break
            frames, hog = self._paste_person(frames, hog, int(rng.choice(self.lenders)), rng)
        if rng.random() < self.config.clutter:
            frames = self._lay_clutter(frames, int(rng.integers(len(self.clips))), rng)
        return frames, hog, targets

    def empty_scene(self, index: int) -> np.ndarray:
        """Per-pixel median of the clip: the scene with whoever walks through removed."""
        if index not in self._empty_scene:
            frames = self.clips[index].features.frames
            self._empty_scene[index] = np.median(frames[:: max(1, len(frames) // 25)], axis=0)
        return self._empty_scene[index]

    def _lay_clutter(self, frames: np.ndarray, other: int, rng: np.random.Generator) -> np.ndarray:
        """Lay the fine detail of clip ``other``'s empty scene (the scene less a blur of it:
        edges, objects, texture, not its light), mirrored or not, over every frame alike."""
        scene = self.empty_scene(other).astype(np.float32)
        if rng.random() < 0.5:
            scene = scene[:, ::-1]
        detail = scene - cv2.GaussianBlur(scene, (0, 0), _CLUTTER_BLUR)
        strength = rng.uniform(*self.config.clutter_strength)
        return np.clip(frames + strength * detail, 0, 255).astype(np.uint8)

    def _paste_person(
        self, frames: np.ndarray, hog: np.ndarray | None, lender: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Paste the moving parts of clip ``lender``, mirrored or not, shrunk to between a
        third and the full size (far-away people are a few pixels tall), at a random
        place and a random moment of this clip (with its HOG boxes, strongest kept)."""
        other = self.clips[lender].features.frames
        lent_hog = self.clips[lender].features.hog if hog is not None else None
        moving = np.abs(other.astype(np.int16) - self.empty_scene(lender)) > _FOREGROUND_LEVELS
        moving = maximum_filter(moving, size=(1, 3, 3))
        mirror = rng.random() < 0.5
        if mirror:
            other, moving = other[:, :, ::-1], moving[:, :, ::-1]
        scale = rng.uniform(*self.config.person_scale)
        height, width = frames.shape[1:]
        rows = (np.arange(max(1, int(height * scale))) / scale).astype(int)
        cols = (np.arange(max(1, int(width * scale))) / scale).astype(int)
        other, moving = other[:, rows][:, :, cols], moving[:, rows][:, :, cols]
        if lent_hog is not None:
            lent_hog = (lent_hog[:, :, ::-1] if mirror else lent_hog)[:, rows][:, :, cols]
        top = int(rng.integers(0, height - len(rows) + 1))
        left = int(rng.integers(0, width - len(cols) + 1))
        # Line the lent clip up at a random moment of this one.
        shift = int(rng.integers(-len(other) // 2, len(frames) // 2 + 1))
        first, last = max(0, shift), min(len(frames), shift + len(other))
        if last <= first:
            return frames, hog
        out = frames.copy()
        lent = slice(first - shift, last - shift)
        place = (slice(first, last), slice(top, top + len(rows)), slice(left, left + len(cols)))
        area = out[place]
        area[...] = np.where(moving[lent], other[lent], area)
        if hog is None or lent_hog is None:
            return out, hog
        hog = hog.copy()
        np.maximum(hog[place], lent_hog[lent], out=hog[place])
        return out, hog

    def _cut(
        self, index: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """This clip until a free moment, then another from a free moment to its end."""
        head_frames, head_targets = self.clips[index].features.frames, self.targets[index]
        other = int(rng.integers(len(self.clips)))
        tail_frames, tail_targets = self.clips[other].features.frames, self.targets[other]
        head_hog = self.clips[index].features.hog if self.hog else None
        tail_hog = self.clips[other].features.hog if self.hog else None
        length = len(head_frames)
        head_cuts = _free_cuts(head_targets, lowest=length // 5, highest=4 * length // 5)
        tail_cuts = _free_cuts(tail_targets, lowest=0, highest=len(tail_targets) // 2)
        if len(head_cuts) == 0 or len(tail_cuts) == 0:
            return head_frames, head_hog, head_targets
        cut, start = int(rng.choice(head_cuts)), int(rng.choice(tail_cuts))
        frames = np.concatenate([head_frames[:cut], tail_frames[start:]])
        targets = np.concatenate([head_targets[:cut], tail_targets[start:]])
        hog = None
        if head_hog is not None and tail_hog is not None:
            hog = np.concatenate([head_hog[:cut], tail_hog[start:]])
        if len(frames) > length:
            # No longer than this clip: a batch is padded to its longest clip, so one long
            # clip costs the whole batch. It ends at a free moment too, no event cut short.
            ends = _free_cuts(targets, lowest=cut + 1, highest=length)
            if len(ends) == 0:
                return head_frames, head_hog, head_targets
            frames, targets = frames[: ends[-1]], targets[: ends[-1]]
            hog = None if hog is None else hog[: ends[-1]]
        return frames, hog, targets


def _cover_marker(frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Cover the synthesizer's burnt-in SYNTHETIC label (top left, x 6–93 and y 6–29 of
    640×360) with a flat grey: real footage has no such label, so its presence must not
    mean anything to the network."""
    height, width = frames.shape[1:]
    rows, cols = math.ceil(height * 30 / 360), math.ceil(width * 94 / 640)
    out = frames.copy()
    out[:, :rows, :cols] = int(rng.integers(0, 256))
    return out


def _free_cuts(targets: np.ndarray, *, lowest: int, highest: int) -> np.ndarray:
    """Frame indices ``c`` in [lowest, highest] where cutting before frame ``c`` splits no
    event: frames c-1 and c are not both inside one."""
    padded = np.concatenate([[0], targets, [0]])
    candidates = np.arange(max(lowest, 1), min(highest, len(targets) - 1) + 1)
    inside_both = (padded[candidates] != 0) & (padded[candidates + 1] != 0)
    return candidates[~inside_both]


def camera_motion(
    frames: torch.Tensor, rng: np.random.Generator, zoom_range: tuple[float, float]
) -> torch.Tensor:
    """A slow pan over one clip ``(T, H, W)`` (or ``(T, C, H, W)``, every plane moved
    alike) at one zoom: a window of the picture that drifts from one place to another,
    scaled to full size. A zoom below 1 shows more than the picture (the rest mirrored
    in), so everyone in it looks smaller and farther away."""
    planes = frames if frames.ndim == 4 else frames[:, None]
    steps = frames.shape[0]
    zoom = rng.uniform(*zoom_range)
    # How far the window's centre may travel, in normalised coordinates.
    room = 1.0 - 1.0 / zoom if zoom > 1 else 0.2
    start, end = rng.uniform(-room, room, size=2), rng.uniform(-room, room, size=2)
    progress = torch.linspace(0.0, 1.0, steps, dtype=torch.float32)
    # Ease in and out, like a camera operator or a PTZ preset move.
    progress = 0.5 - 0.5 * torch.cos(progress * torch.pi)
    theta = torch.zeros((steps, 2, 3), dtype=torch.float32)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0 / zoom
    theta[:, 0, 2] = float(start[0]) + (float(end[0]) - float(start[0])) * progress
    theta[:, 1, 2] = float(start[1]) + (float(end[1]) - float(start[1])) * progress
    grid = F.affine_grid(theta, [steps, 1, *planes.shape[2:]], align_corners=False)
    moved = F.grid_sample(
        planes, grid, mode="bilinear", padding_mode="reflection", align_corners=False
    )
    return moved if frames.ndim == 4 else moved[:, 0]
