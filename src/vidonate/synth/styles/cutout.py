"""The "cutout" style: real people. Each clip's person is a walker cut from real footage
by background subtraction (:mod:`.sprites`), played frame by frame as they walk, leaning
and squashed as they bend, with a drawn arm for reaching and holding (footage has nobody
taking a box or trying a handle). The background is the same footage's median still when
the media is there; boxes are cardboard with a shipping label, cars photo-shaded, the
house front brick. Without media the walkers are procedural silhouettes (see sprites)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from vidonate.synth import backgrounds
from vidonate.synth.draw import disc, fill, fill_rect, line, shade
from vidonate.synth.layout import Box, Car, Porch
from vidonate.synth.pose import Joints, PersonState, Point
from vidonate.synth.scene import Scene, streams
from vidonate.synth.styles import sprites
from vidonate.synth.styles.classic import background_for, box_shadow, person_shadow

_CYCLE_FRAMES = 10  # footage frames per walking cycle (two steps at 10 fps)
SKIN = (190, 150, 120)


def _gradient_fill(
    img: np.ndarray, points: list[Point], top: np.ndarray, bottom: np.ndarray
) -> None:
    """Fill a polygon with a vertical gradient from `top` to `bottom` colour."""
    poly = np.array(points, np.float32)
    x0, y0 = np.floor(poly.min(axis=0)).astype(int)
    x1, y1 = np.ceil(poly.max(axis=0)).astype(int) + 1
    h, w = img.shape[:2]
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 <= x0 or y1 <= y0:
        return
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(mask, [np.round((poly - [x0, y0]) * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
    t = np.linspace(0, 1, y1 - y0, dtype=np.float32)[:, None, None]
    colour = top * (1 - t) + bottom * t
    a = mask[:, :, None].astype(np.float32) / 255
    region = img[y0:y1, x0:x1]
    region[...] = (region * (1 - a) + colour * a + 0.5).astype(np.uint8)


class CutoutPainter:
    margin = 0.12  # a cut-out is wider than the skeleton's limbs when it walks

    def __init__(self, scene: Scene, media_dir: Path | None) -> None:
        self.scene, self.media_dir = scene, media_dir
        rng = streams(scene.seed)["style"]
        bank = sprites.walkers(media_dir)
        self.walker = bank[int(rng.integers(len(bank)))]
        self.start_frame = int(rng.integers(len(self.walker.frames)))
        self.fibre = rng.uniform(0.85, 1.15, (16, 16)).astype(np.float32)
        self.label = bool(rng.random() < 0.7)
        self.bricks = float(rng.uniform(0.14, 0.22))  # brick height, person heights

    def backdrop(self) -> tuple[np.ndarray, dict[str, object]]:
        scene = self.scene
        if self.media_dir is not None and sprites.FOOTAGE in backgrounds.available_sources(
            self.media_dir
        ):
            # The walkers' own place: their light and their scale fit it.
            scene = replace(scene, background=sprites.FOOTAGE)
        return background_for(scene, self.media_dir)

    def car(self, img: np.ndarray, car: Car) -> None:
        u, length, ground = car.unit, car.length, car.ground

        def at(along: float, up: float) -> Point:
            a = along if car.facing > 0 else 1 - along
            return (car.x + a * length, ground - up * u)

        paint = np.array(car.colour, np.float32)
        body = [at(0.01, 0.14), at(0.0, 0.47), at(0.05, 0.53), at(0.96, 0.51), at(1.0, 0.4),
                at(1.0, 0.16), at(0.97, 0.14)]  # fmt: skip
        cabin = [at(0.14, 0.52), at(0.3, 0.8), at(0.64, 0.8), at(0.8, 0.51)]
        _gradient_fill(img, cabin, np.minimum(255, paint * 1.25), paint)
        _gradient_fill(img, body, np.minimum(255, paint * 1.3 + 20), paint * 0.55)
        glass = [at(0.18, 0.54), at(0.31, 0.77), at(0.62, 0.77), at(0.75, 0.54)]
        _gradient_fill(img, glass, np.array([120, 130, 140], np.float32),
                       np.array([20, 24, 30], np.float32))  # fmt: skip
        line(img, at(0.47, 0.54), at(0.47, 0.78), (20, 22, 26), 0.03 * u)
        line(img, at(0.02, 0.34), at(0.98, 0.34), (200, 202, 206), 0.015 * u)
        for along in (0.17, 0.82):
            disc(img, at(along, 0.16), 0.19 * u, (18, 18, 20))
            disc(img, at(along, 0.16), 0.1 * u, (110, 112, 118))
        hx, hy = car.handle
        fill_rect(img, (hx - 0.05 * u, hy - 0.013 * u, hx + 0.05 * u, hy + 0.013 * u),
                  (200, 202, 206))  # fmt: skip

    def porch(self, img: np.ndarray, porch: Porch, unit: float) -> None:
        x0, y0, x1, y1 = porch.wall
        mortar = (196, 190, 180)
        brick = shade((150, 70, 50), 0.8 + 0.4 * (porch.wall_colour[0] / 255))
        fill_rect(img, porch.wall, mortar)
        height = self.bricks * unit / 2
        row, y = 0, y0
        while y < y1:
            x = x0 - (height * 1.1 if row % 2 else 0)
            while x < x1:
                rect = (
                    max(x0, x + 1),
                    y + 1,
                    min(x1, x + height * 2.2 - 1),
                    min(y1, y + height - 1),
                )
                if rect[2] > rect[0] and rect[3] > rect[1]:
                    fill_rect(img, rect, shade(brick, 0.9 + 0.2 * ((row * 7 + int(x)) % 3) / 2))
                x += height * 2.2
            y, row = y + height, row + 1
        dx0, dy0, dx1, dy1 = porch.door
        _gradient_fill(img, [(dx0, dy0), (dx1, dy0), (dx1, dy1), (dx0, dy1)],
                       np.array(shade(porch.door_colour, 1.2), np.float32),
                       np.array(shade(porch.door_colour, 0.7), np.float32))  # fmt: skip
        if porch.window is not None:
            wx0, wy0, wx1, wy1 = porch.window
            _gradient_fill(img, [(wx0, wy0), (wx1, wy0), (wx1, wy1), (wx0, wy1)],
                           np.array([150, 160, 170], np.float32),
                           np.array([30, 34, 40], np.float32))  # fmt: skip
        fill_rect(img, porch.step, porch.step_colour)

    def _box(self, img: np.ndarray, box: Box, centre: Point) -> None:
        cx, cy = centre
        w, h, d = box.width, box.height, box.depth
        left, top, right, bottom = cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2
        card = np.array(box.colour, np.float32)
        fill(img, [(left, top), (right, top), (right + d * 0.45, top - d * 0.55),
                   (left + d * 0.45, top - d * 0.55)], shade(box.colour, 1.1))  # fmt: skip
        fill(img, [(right, top), (right + d * 0.45, top - d * 0.55),
                   (right + d * 0.45, bottom - d * 0.55), (right, bottom)],
             shade(box.colour, 0.7))  # fmt: skip
        x0, y0 = max(0, int(left)), max(0, int(top))
        x1, y1 = min(img.shape[1], int(right + 1)), min(img.shape[0], int(bottom + 1))
        if x1 > x0 and y1 > y0:
            fibre = cv2.resize(self.fibre, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
            img[y0:y1, x0:x1] = np.clip(card * fibre[:, :, None], 0, 255).astype(np.uint8)
        if self.label:
            lx0, ly0 = cx - 0.15 * w, cy - 0.25 * h
            fill_rect(img, (lx0, ly0, lx0 + 0.4 * w, ly0 + 0.3 * h), (240, 240, 236))
            for k in range(5):
                bx = lx0 + 0.05 * w + k * 0.06 * w
                line(img, (bx, ly0 + 0.17 * h), (bx, ly0 + 0.27 * h), (30, 30, 30), 1)

    def box_on_porch(self, img: np.ndarray, box: Box) -> None:
        box_shadow(img, box)
        self._box(img, box, box.centre)

    def _frame(self, state: PersonState, seconds: float) -> sprites.Cutout:
        frames = self.walker.frames
        if state.stride < 0.25:
            return frames[self.start_frame]
        step = int(state.phase / (2 * np.pi) * _CYCLE_FRAMES)
        return frames[(self.start_frame + step) % len(frames)]

    def person(
        self,
        img: np.ndarray,
        joints: Joints,
        state: PersonState,
        held: tuple[Box, Point] | None,
        seconds: float,
    ) -> None:
        layout = self.scene.layout
        unit, ground = layout.unit, layout.ground
        person_shadow(img, state, ground, unit)
        cut = self._frame(state, seconds)
        h, w = cut.alpha.shape
        scale = unit * (1 - 0.3 * state.bend) / h
        flip = self.walker.heading != state.facing
        # Sprite pixel (u, v) -> world: scaled, mirrored when walking the other way, feet on
        # the ground under the hip, the top sheared forward as the person bends.
        sx = -scale if flip else scale
        shear = state.facing * 0.55 * state.bend
        matrix = np.array(
            [
                [sx, -shear * scale, state.x - sx * w / 2 + shear * scale * h],
                [0, scale, ground - scale * h],
            ],
            np.float64,
        )
        corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64) @ matrix.T
        x0, y0 = np.floor(corners.min(axis=0)).astype(int)
        x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + 1
        x0, y0 = max(0, x0), max(0, y0)
        x1, y1 = min(img.shape[1], x1), min(img.shape[0], y1)
        if x1 > x0 and y1 > y0:
            local = matrix.copy()
            local[:, 2] -= (x0, y0)
            size = (x1 - x0, y1 - y0)
            rgb = cv2.warpAffine(cut.rgb, local, size, flags=cv2.INTER_LINEAR)
            alpha = cv2.warpAffine(cut.alpha, local, size, flags=cv2.INTER_LINEAR)
            a = alpha[:, :, None].astype(np.float32) / 255
            region = img[y0:y1, x0:x1]
            region[...] = (region * (1 - a) + rgb * a + 0.5).astype(np.uint8)
        if held is not None:
            self._box(img, held[0], held[1])
        if max(state.reach, state.grip) > 0.05:
            sleeve = cut.torso
            line(img, joints.shoulder, joints.near_elbow, sleeve, 0.06 * unit)
            line(img, joints.near_elbow, joints.near_hand, sleeve, 0.05 * unit)
            disc(img, joints.near_hand, 0.028 * unit, SKIN)

    def record(self) -> dict[str, object]:
        return {
            "walker": self.walker.origin,
            "walker_frames": len(self.walker.frames),
            "start_frame": self.start_frame,
            "shipping_label": self.label,
        }
