"""The nuisance variation of a scene, drawn from a seeded generator: how the person looks,
where the camera is, and the light.

None of it depends on the kind of scene, so a detector cannot learn the label from a
colour, an angle or the time of day. Every draw is recorded in the clip's sidecar
(:meth:`as_record`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import cv2
import numpy as np

Colour = tuple[int, int, int]

SKIN: tuple[Colour, ...] = (
    (250, 218, 190),
    (232, 188, 150),
    (198, 146, 108),
    (160, 110, 76),
    (112, 76, 52),
    (82, 56, 40),
)
HAIR: tuple[Colour, ...] = (
    (22, 16, 12),
    (62, 42, 26),
    (122, 90, 52),
    (204, 172, 112),
    (150, 150, 150),
)
SHIRTS: tuple[Colour, ...] = (
    (196, 40, 42),
    (38, 66, 150),
    (30, 30, 34),
    (228, 228, 222),
    (92, 118, 62),
    (120, 120, 126),
    (236, 196, 44),
    (56, 146, 166),
    (146, 60, 138),
    (226, 118, 42),
    (108, 80, 62),
    (24, 40, 72),
)
TROUSERS: tuple[Colour, ...] = (
    (48, 68, 108),
    (30, 30, 34),
    (92, 92, 98),
    (160, 142, 104),
    (42, 52, 42),
    (70, 60, 52),
)
SHOES: tuple[Colour, ...] = ((22, 22, 22), (228, 228, 228), (82, 62, 44), (60, 60, 72))
HEADWEAR = ("none", "cap", "hood")


def pick_colour(rng: np.random.Generator, palette: tuple[Colour, ...], jitter: int = 12) -> Colour:
    base = np.asarray(palette[int(rng.integers(len(palette)))], np.int64)
    shifted = np.clip(base + rng.integers(-jitter, jitter + 1, 3), 0, 255)
    return (int(shifted[0]), int(shifted[1]), int(shifted[2]))


@dataclass(frozen=True)
class Look:
    """Clothes, skin and build of the person."""

    skin: Colour
    hair: Colour
    shirt: Colour
    trousers: Colour
    shoes: Colour
    headwear: str  # "none", "cap" or "hood" (a hood is the shirt's colour)
    build: float  # torso and limb thickness, relative to an average build

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Look:
        return cls(
            skin=pick_colour(rng, SKIN, 6),
            hair=pick_colour(rng, HAIR, 8),
            shirt=pick_colour(rng, SHIRTS),
            trousers=pick_colour(rng, TROUSERS),
            shoes=pick_colour(rng, SHOES, 6),
            headwear=HEADWEAR[int(rng.choice(3, p=[0.55, 0.2, 0.25]))],
            build=round(float(rng.uniform(0.85, 1.2)), 3),
        )

    def as_record(self) -> dict[str, object]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Camera:
    """Where the camera looks from, as a warp of the composed (frontal) scene.

    The visible part of the scene is a quadrilateral inside it: a smaller one is a zoom,
    one narrower at the top a camera mounted high and tilted down (`tilt` > 0) or looking
    up (< 0), one shorter on one side a camera turned sideways (`yaw`), a turned one a
    camera not level (`roll`). `flip` mirrors the picture, so people enter from either side.
    """

    flip: bool
    zoom: float  # 1.0 sees the whole composed scene
    tilt: float  # fraction of the width the top edge is narrower (each side) than the bottom
    yaw: float  # fraction of the height one side is shorter (each end) than the other
    roll: float  # degrees
    shift: tuple[float, float]  # where the view sits within the room zoom leaves, -1..1

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Camera:
        return cls(
            flip=bool(rng.random() < 0.5),
            zoom=round(float(rng.uniform(1.0, 1.15)), 4),
            tilt=round(float(rng.uniform(-0.05, 0.14)), 4),
            yaw=round(float(rng.uniform(-0.08, 0.08)), 4),
            roll=round(float(rng.uniform(-3.5, 3.5)), 3),
            shift=(round(float(rng.uniform(-1, 1)), 4), round(float(rng.uniform(-1, 1)), 4)),
        )

    def view(self, width: int, height: int) -> np.ndarray:
        """The corners (top-left, top-right, bottom-right, bottom-left) of the seen part of
        the composed scene, shrunk until all four lie inside it."""
        zoom = self.zoom
        for _ in range(60):
            quad = self._quad(width, height, zoom)
            inside = (quad[:, 0] >= 0) & (quad[:, 0] <= width) & (quad[:, 1] >= 0)
            if bool(np.all(inside & (quad[:, 1] <= height))):
                return quad
            zoom *= 1.01
        return self._quad(width, height, zoom)

    def _quad(self, width: int, height: int, zoom: float) -> np.ndarray:
        half_w, half_h = width / 2 / zoom, height / 2 / zoom
        top = half_w * (1 - 2 * max(0.0, self.tilt))
        bottom = half_w * (1 + 2 * min(0.0, self.tilt))
        left = half_h * (1 - 2 * max(0.0, self.yaw))
        right = half_h * (1 + 2 * min(0.0, self.yaw))
        quad = np.array(
            [[-top, -left], [top, -right], [bottom, right], [-bottom, left]], np.float64
        )
        angle = math.radians(self.roll)
        rotation = np.array(
            [[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]]
        )
        quad = quad @ rotation.T
        # Slide the view within the room the zoom leaves, by `shift` of that room.
        room_x = max(0.0, width / 2 - np.abs(quad[:, 0]).max())
        room_y = max(0.0, height / 2 - np.abs(quad[:, 1]).max())
        centre = (width / 2 + self.shift[0] * room_x, height / 2 + self.shift[1] * room_y)
        return quad + np.array(centre)

    def homography(self, width: int, height: int) -> np.ndarray:
        """The 3×3 matrix from composed-scene pixels to output pixels (flip included)."""
        target = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
        if self.flip:
            target = target[[1, 0, 3, 2]]
        return cv2.getPerspectiveTransform(self.view(width, height).astype(np.float32), target)

    def as_record(self) -> dict[str, object]:
        record: dict[str, object] = asdict(self)
        record["shift"] = list(self.shift)
        return record


@dataclass(frozen=True)
class Lighting:
    """Light and sensor: exposure, gamma, white balance, noise and focus."""

    period: str  # "day" or "dusk"
    brightness: float
    gamma: float
    cast: tuple[float, float, float]  # per-channel gain, red, green, blue
    noise: float  # standard deviation of the sensor noise, in 0-255 levels
    blur: float  # Gaussian blur sigma in pixels, 0 for a sharp lens

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Lighting:
        dusk = bool(rng.random() < 0.3)
        if dusk:
            brightness = rng.uniform(0.38, 0.62)
            cast = (rng.uniform(0.84, 0.96), rng.uniform(0.9, 1.0), rng.uniform(1.0, 1.12))
            noise = rng.uniform(3.0, 8.0)
        else:
            brightness = rng.uniform(0.85, 1.15)
            cast = tuple(rng.uniform(0.94, 1.06, 3))
            noise = rng.uniform(0.0, 4.0)
        blur = rng.uniform(0.5, 1.3) if rng.random() < 0.5 else 0.0
        return cls(
            period="dusk" if dusk else "day",
            brightness=round(float(brightness), 4),
            gamma=round(float(rng.uniform(0.8, 1.25)), 4),
            cast=(round(float(cast[0]), 4), round(float(cast[1]), 4), round(float(cast[2]), 4)),
            noise=round(float(noise), 3),
            blur=round(float(blur), 3),
        )

    def table(self) -> np.ndarray:
        """A 256-entry lookup table per channel (shape 1×256×3) for exposure, gamma and
        white balance together, so applying them costs one table lookup a pixel."""
        levels = np.arange(256, dtype=np.float64) / 255.0
        curve = levels**self.gamma * self.brightness
        channels = [np.clip(curve * gain * 255.0 + 0.5, 0, 255) for gain in self.cast]
        return np.stack(channels, axis=1).astype(np.uint8).reshape(1, 256, 3)

    def as_record(self) -> dict[str, object]:
        record: dict[str, object] = asdict(self)
        record["cast"] = list(self.cast)
        return record
