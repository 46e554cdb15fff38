"""Camera variation on top of a style: how a different camera would see the same scene.

A :class:`Rig` is drawn per clip from the clip's own random stream ("rig"), the same draw
whatever the style, and recorded in the sidecar. It changes only how the finished picture
reaches the file, never what happens in it:

- viewpoint: a second perspective warp (camera mounted higher or lower, turned, rolled),
  reusing :class:`~vidonate.synth.variation.Camera`'s quadrilateral with wider ranges;
- lens: barrel (fisheye) distortion on some clips;
- night: an infrared look on some clips (grey, flat contrast, more noise);
- sensor noise, frame rate (5-15 fps) and compression (x264 CRF).

Warp and lens are folded into one pixel map made once per clip, so each frame costs one
``cv2.remap``. Events stay in seconds on the scene's plan (see docs/synth.md), so a clip
at 7 fps labels the same seconds as at 10.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import cv2
import numpy as np

from vidonate.synth.variation import Camera

FPS_RANGE = (5, 15)
CRF_RANGE = (20, 34)
FISHEYE_CHANCE = 0.3
NIGHT_CHANCE = 0.25
Rect = tuple[float, float, float, float]


@dataclass(frozen=True)
class Rig:
    """One clip's camera variation (see the module's docstring)."""

    fps: int
    crf: int
    view: Camera  # the extra perspective warp (never flipped)
    fisheye: float  # barrel strength: 0 none; corners move in by fisheye / (1 + fisheye)
    night: bool  # infrared look
    noise: float  # extra sensor noise, standard deviation in 0-255 levels

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Rig:
        view = Camera(
            flip=False,
            zoom=round(float(rng.uniform(1.0, 1.2)), 4),
            tilt=round(float(rng.uniform(-0.08, 0.22)), 4),
            yaw=round(float(rng.uniform(-0.14, 0.14)), 4),
            roll=round(float(rng.uniform(-5.0, 5.0)), 3),
            shift=(round(float(rng.uniform(-1, 1)), 4), round(float(rng.uniform(-1, 1)), 4)),
        )
        fisheye = float(rng.uniform(0.15, 0.45)) if rng.random() < FISHEYE_CHANCE else 0.0
        night = bool(rng.random() < NIGHT_CHANCE)
        noise = float(rng.uniform(4.0, 9.0)) if night else float(rng.uniform(0.0, 5.0))
        return cls(
            fps=int(rng.integers(FPS_RANGE[0], FPS_RANGE[1] + 1)),
            crf=int(rng.integers(CRF_RANGE[0], CRF_RANGE[1] + 1)),
            view=view,
            fisheye=round(fisheye, 4),
            night=night,
            noise=round(noise, 3),
        )

    def as_record(self) -> dict[str, object]:
        record: dict[str, object] = asdict(self)
        record["view"] = self.view.as_record()
        return record

    def softened(self, share: float) -> Rig:
        """The rig with its viewpoint change scaled by `share` (0: none, 1: all of it)."""
        v = self.view
        view = Camera(
            flip=False,
            zoom=round(1 + (v.zoom - 1) * share, 4),
            tilt=round(v.tilt * share, 4),
            yaw=round(v.yaw * share, 4),
            roll=round(v.roll * share, 3),
            shift=(round(v.shift[0] * share, 4), round(v.shift[1] * share, 4)),
        )
        return replace(self, view=view)


def aimed(rig: Rig, points: list[tuple[float, float]], width: int, height: int) -> Rig:
    """The rig, its viewpoint change softened as little as needed for every one of
    `points` (where the action happens, in the scene's picture) to stay inside the
    output with a margin: a camera installed to watch the porch or the kerb."""
    margin_x, margin_y = 0.06 * width, 0.06 * height
    for step in range(10, -1, -1):
        candidate = rig.softened(step / 10)
        optics = RigOptics(candidate, width, height, pixel_map=False)
        inside = True
        for point in points:
            seen = optics.point(point)
            if seen is None or not (
                margin_x <= seen[0] <= width - margin_x and margin_y <= seen[1] <= height - margin_y
            ):
                inside = False
                break
        if inside:
            return candidate
    return rig.softened(0.0)


class RigOptics:
    """A rig's pixel map for one output size, and the same mapping for points and boxes."""

    def __init__(self, rig: Rig, width: int, height: int, pixel_map: bool = True) -> None:
        self.rig, self.width, self.height = rig, width, height
        self.homography = rig.view.homography(width, height)  # scene picture -> rig view
        self.inverse = np.linalg.inv(self.homography)
        self.half_diagonal = math.hypot(width / 2, height / 2)
        if not pixel_map:  # points and boxes only
            return
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
        ux, uy = self._undistort(xs + 0.5, ys + 0.5)
        src = self._apply(self.inverse, ux, uy)
        # Fixed-point maps: remap runs about twice as fast on them as on float maps.
        self.map_xy, self.map_frac = cv2.convertMaps(
            (src[0] - 0.5).astype(np.float32), (src[1] - 0.5).astype(np.float32), cv2.CV_16SC2
        )

    def _undistort(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Output (distorted) pixels to where they are in the undistorted rig view."""
        k = self.rig.fisheye
        if k <= 0:
            return x, y
        cx, cy = self.width / 2, self.height / 2
        u, v = (x - cx) / self.half_diagonal, (y - cy) / self.half_diagonal
        factor = (1 + k * (u * u + v * v)) / (1 + k)
        return cx + u * factor * self.half_diagonal, cy + v * factor * self.half_diagonal

    def _distort(self, x: float, y: float) -> tuple[float, float]:
        """The inverse of :meth:`_undistort` for one point (Newton on the radius)."""
        k = self.rig.fisheye
        if k <= 0:
            return x, y
        cx, cy = self.width / 2, self.height / 2
        u, v = (x - cx) / self.half_diagonal, (y - cy) / self.half_diagonal
        target = math.hypot(u, v)
        if target == 0:
            return x, y
        r = target
        for _ in range(12):
            f = r * (1 + k * r * r) / (1 + k) - target
            r -= f / ((1 + 3 * k * r * r) / (1 + k))
        scale = r / target
        return cx + u * scale * self.half_diagonal, cy + v * scale * self.half_diagonal

    @staticmethod
    def _apply(matrix: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        w = matrix[2, 0] * x + matrix[2, 1] * y + matrix[2, 2]
        return np.stack(
            [
                (matrix[0, 0] * x + matrix[0, 1] * y + matrix[0, 2]) / w,
                (matrix[1, 0] * x + matrix[1, 1] * y + matrix[1, 2]) / w,
            ]
        )

    def picture(self, img: np.ndarray) -> np.ndarray:
        """The scene's picture as the rig's camera sees it."""
        out: np.ndarray = cv2.remap(
            img,
            self.map_xy,
            self.map_frac,
            interpolation=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REFLECT,
        )
        return out

    def point(self, point: tuple[float, float] | None) -> tuple[float, float] | None:
        """A point of the scene's picture on the rig's output; None out of view."""
        if point is None:
            return None
        mapped = self._apply(self.homography, np.array(point[0]), np.array(point[1]))
        x, y = self._distort(float(mapped[0]), float(mapped[1]))
        return (x, y) if 0 <= x < self.width and 0 <= y < self.height else None

    def rect(self, rect: Rect | None) -> Rect | None:
        """The output bounding box of a rectangle of the scene's picture, clipped; None
        if none of it is visible. Edges are sampled, as the lens bends them."""
        if rect is None:
            return None
        x0, y0, x1, y1 = rect
        t = np.linspace(0.0, 1.0, 5)
        xs = np.concatenate(
            [x0 + (x1 - x0) * t, np.full(5, x1), x1 - (x1 - x0) * t, np.full(5, x0)]
        )
        ys = np.concatenate(
            [np.full(5, y0), y0 + (y1 - y0) * t, np.full(5, y1), y1 - (y1 - y0) * t]
        )
        mapped = self._apply(self.homography, xs, ys)
        points = [self._distort(float(a), float(b)) for a, b in mapped.T]
        px = [p[0] for p in points]
        py = [p[1] for p in points]
        bx0, by0 = max(0.0, min(px)), max(0.0, min(py))
        bx1, by1 = min(float(self.width), max(px)), min(float(self.height), max(py))
        return (bx0, by0, bx1, by1) if bx1 > bx0 and by1 > by0 else None


def night_table() -> np.ndarray:
    """Grey levels of an infrared picture: lifted shadows, flattened highlights."""
    levels = np.arange(256, dtype=np.float64) / 255.0
    curve = 0.12 + 0.8 * levels**0.7
    return np.clip(curve * 255 + 0.5, 0, 255).astype(np.uint8)


def infrared(img: np.ndarray, table: np.ndarray) -> np.ndarray:
    """An RGB picture as a night camera's infrared grey."""
    grey = cv2.LUT(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), table)
    return cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB)
