"""The "mannequin" style, kept for the exam (never trained on by default): articulated
artist's mannequins of shaded ellipses and ball joints in one material (wood, plastic,
clay), longer-legged and smaller-headed than the other figures; the box is a gift-wrapped
parcel or a plastic tote; cars are rounded bubble cars with gradient paint; the house a
plank wall with an arched door and a round window; backgrounds are the real stills
colour-graded (hue turned, saturation raised) or a tiled wall over a tinted sky."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from vidonate.synth import backgrounds
from vidonate.synth.draw import disc, fill, fill_rect, line, oval, shade
from vidonate.synth.layout import Box, Car, Porch
from vidonate.synth.pose import HEAD_RADIUS, Joints, PersonState, Point
from vidonate.synth.scene import Scene, streams
from vidonate.synth.styles.classic import background_for
from vidonate.synth.variation import Colour

MATERIALS: tuple[Colour, ...] = (
    (214, 176, 128),  # beech
    (236, 236, 232),  # white plastic
    (120, 124, 132),  # grey clay
    (70, 110, 170),  # blue plastic
    (160, 90, 60),  # dark wood
)
WRAPS: tuple[tuple[Colour, Colour], ...] = (
    ((200, 30, 50), (250, 220, 60)),
    ((30, 120, 70), (240, 240, 240)),
    ((40, 60, 160), (240, 180, 200)),
    ((90, 90, 96), (60, 200, 220)),
)


def _segment(img: np.ndarray, a: Point, b: Point, width: float, colour: Colour) -> None:
    """A limb: an ellipse from `a` to `b`, a lit stripe along it, ball joints at the ends."""
    cx, cy = (a[0] + b[0]) / 2, (a[1] + b[1]) / 2
    length = math.hypot(b[0] - a[0], b[1] - a[1])
    angle = math.degrees(math.atan2(b[1] - a[1], b[0] - a[0]))
    oval(img, (cx, cy), (length / 2 + width * 0.2, width / 2), angle, shade(colour, 0.8))
    oval(img, (cx, cy), (length / 2, width * 0.22), angle, shade(colour, 1.15))


class MannequinPainter:
    margin = 0.06

    def __init__(self, scene: Scene, media_dir: Path | None) -> None:
        self.scene, self.media_dir = scene, media_dir
        rng = streams(scene.seed)["style"]
        self.material = MATERIALS[int(rng.integers(len(MATERIALS)))]
        self.wrap = WRAPS[int(rng.integers(len(WRAPS)))]
        self.tote = bool(rng.random() < 0.4)
        self.hue_turn = int(rng.integers(20, 160))
        light, dark = rng.uniform(90, 200, 3).astype(int), rng.uniform(60, 160, 3).astype(int)
        self.tiles: tuple[Colour, Colour] = (
            (int(light[0]), int(light[1]), int(light[2])),
            (int(dark[0]), int(dark[1]), int(dark[2])),
        )

    def backdrop(self) -> tuple[np.ndarray, dict[str, object]]:
        scene = self.scene
        if scene.background != backgrounds.PROCEDURAL and self.media_dir is not None:
            picture, record = background_for(scene, self.media_dir)
            hsv = cv2.cvtColor(picture, cv2.COLOR_RGB2HSV)
            hsv[:, :, 0] = ((hsv[:, :, 0].astype(np.int32) + self.hue_turn) % 180).astype(np.uint8)
            hsv[:, :, 1] = np.clip(hsv[:, :, 1].astype(np.float32) * 1.5 + 20, 0, 255).astype(
                np.uint8
            )
            graded = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
            return graded, {**record, "drawn_as": f"hue turned {self.hue_turn * 2} degrees"}
        h, w = scene.height, scene.width
        img = np.empty((h, w, 3), np.uint8)
        rows = np.arange(h, dtype=np.float32)[:, None, None] / h
        sky = np.array((150, 190, 230), np.float32) * (1 - rows) + np.array((240, 220, 200)) * rows
        img[:] = sky.astype(np.uint8)
        layout = scene.layout
        kerb = int(layout.cars[0].ground if layout.cars else layout.ground - 0.2 * layout.unit)
        top = int(max(0, layout.horizon - 0.3 * layout.unit))
        tile = max(6, int(0.18 * layout.unit))
        for y in range(top, h, tile):
            for x in range(-(y // tile % 2) * tile // 2, w, tile):
                colour = self.tiles[(x // tile + y // tile) % 2]
                cv2.rectangle(img, (x, y), (x + tile - 2, y + tile - 2), colour, -1)
        img[kerb : int(layout.ground + 0.1 * layout.unit)] = (205, 200, 190)
        return img, {"source": backgrounds.PROCEDURAL, "drawn_as": "tiles"}

    def car(self, img: np.ndarray, car: Car) -> None:
        u, length, ground = car.unit, car.length, car.ground
        cx = car.x + length / 2
        body = shade(car.colour, 1.0)
        oval(img, (cx, ground - 0.34 * u), (length / 2, 0.24 * u), 0, shade(body, 0.75))
        oval(img, (cx, ground - 0.38 * u), (length / 2 - 0.04 * u, 0.15 * u), 0, body)
        cabin = (cx - car.facing * 0.05 * length, ground - 0.56 * u)
        cv2.ellipse(img, (round(cabin[0] * 16), round(cabin[1] * 16)),
                    (round(length * 0.28 * 16), round(0.3 * u * 16)), 0, 180, 360,
                    shade(body, 0.9), -1, cv2.LINE_AA, 4)  # fmt: skip
        cv2.ellipse(img, (round(cabin[0] * 16), round(cabin[1] * 16)),
                    (round(length * 0.24 * 16), round(0.24 * u * 16)), 0, 180, 360,
                    (170, 200, 220), -1, cv2.LINE_AA, 4)  # fmt: skip
        line(img, (cabin[0], cabin[1]), (cabin[0], cabin[1] - 0.24 * u), shade(body, 0.9),
             0.03 * u)  # fmt: skip
        for along in (0.2, 0.8):
            wheel = (car.x + along * length, ground - 0.16 * u)
            disc(img, wheel, 0.16 * u, (30, 30, 30))
            disc(img, wheel, 0.08 * u, (220, 220, 225))
        hx, hy = car.handle
        oval(img, (hx, hy), (0.05 * u, 0.018 * u), 0, (230, 230, 235))

    def porch(self, img: np.ndarray, porch: Porch, unit: float) -> None:
        x0, y0, x1, y1 = porch.wall
        plank = max(4.0, 0.12 * unit)
        x, k = x0, 0
        while x < x1:
            tone = shade(porch.wall_colour, 0.9 if k % 2 else 1.05)
            fill_rect(img, (x, y0, min(x1, x + plank), y1), tone)
            x, k = x + plank, k + 1
        dx0, dy0, dx1, dy1 = porch.door
        radius = (dx1 - dx0) / 2
        fill_rect(img, (dx0, dy0 + radius, dx1, dy1), porch.door_colour)
        disc(img, ((dx0 + dx1) / 2, dy0 + radius), radius, porch.door_colour)
        if porch.window is not None:
            wx0, wy0, wx1, wy1 = porch.window
            centre = ((wx0 + wx1) / 2, (wy0 + wy1) / 2)
            disc(img, centre, min(wx1 - wx0, wy1 - wy0) / 2, (240, 240, 240))
            disc(img, centre, min(wx1 - wx0, wy1 - wy0) / 2 - 0.04 * unit, (90, 120, 150))
        fill_rect(img, porch.step, shade(porch.step_colour, 1.2))

    def _parcel(self, img: np.ndarray, box: Box, centre: Point) -> None:
        cx, cy = centre
        w, h = box.width, box.height
        paper, ribbon = self.wrap
        if self.tote:
            fill(img, [(cx - w / 2, cy - h / 2), (cx + w / 2, cy - h / 2),
                       (cx + 0.42 * w, cy + h / 2), (cx - 0.42 * w, cy + h / 2)],
                 (200, 205, 210))  # fmt: skip
            fill_rect(img, (cx - w * 0.55, cy - h / 2 - h * 0.12, cx + w * 0.55, cy - h / 2),
                      paper)  # fmt: skip
            return
        fill_rect(img, (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), paper)
        band = max(1.0, 0.12 * w)
        fill_rect(img, (cx - band / 2, cy - h / 2, cx + band / 2, cy + h / 2), ribbon)
        fill_rect(img, (cx - w / 2, cy - band / 2, cx + w / 2, cy + band / 2), ribbon)
        oval(img, (cx - 0.12 * w, cy - h / 2), (0.12 * w, 0.07 * w), 20, ribbon)
        oval(img, (cx + 0.12 * w, cy - h / 2), (0.12 * w, 0.07 * w), -20, ribbon)

    def box_on_porch(self, img: np.ndarray, box: Box) -> None:
        self._parcel(img, box, box.centre)

    def person(
        self,
        img: np.ndarray,
        joints: Joints,
        state: PersonState,
        held: tuple[Box, Point] | None,
        seconds: float,
    ) -> None:
        unit = self.scene.layout.unit
        near, far = self.material, shade(self.material, 0.7)
        _segment(img, joints.shoulder, joints.far_elbow, 0.055 * unit, far)
        _segment(img, joints.far_elbow, joints.far_hand, 0.045 * unit, far)
        _segment(img, joints.hip, joints.far_knee, 0.075 * unit, far)
        _segment(img, joints.far_knee, joints.far_foot, 0.06 * unit, far)
        # Chest and pelvis: two ellipses with a narrow waist between them.
        sx, sy = joints.shoulder
        hx, hy = joints.hip
        chest = (sx + (hx - sx) * 0.3, sy + (hy - sy) * 0.3)
        pelvis = (sx + (hx - sx) * 0.88, sy + (hy - sy) * 0.88)
        _segment(img, joints.shoulder, chest, 0.15 * unit, near)
        _segment(img, chest, pelvis, 0.06 * unit, near)
        _segment(img, pelvis, joints.hip, 0.11 * unit, near)
        _segment(img, joints.hip, joints.near_knee, 0.075 * unit, near)
        _segment(img, joints.near_knee, joints.near_foot, 0.06 * unit, near)
        for joint in (joints.near_knee, joints.hip):
            disc(img, joint, 0.03 * unit, shade(near, 0.6))
        line(img, joints.neck, joints.shoulder, shade(near, 0.8), 0.035 * unit)
        r = HEAD_RADIUS * unit * 0.85
        oval(img, joints.head, (0.85 * r, 1.15 * r), 10 * state.facing, near)
        if held is not None:
            self._parcel(img, held[0], held[1])
        _segment(img, joints.shoulder, joints.near_elbow, 0.055 * unit, near)
        _segment(img, joints.near_elbow, joints.near_hand, 0.045 * unit, near)
        disc(img, joints.near_elbow, 0.025 * unit, shade(near, 0.6))
        disc(img, joints.near_hand, 0.028 * unit, shade(near, 0.9))

    def record(self) -> dict[str, object]:
        return {
            "material": list(self.material),
            "wrap": [list(c) for c in self.wrap],
            "prop_shape": "tote" if self.tote else "parcel",
            "hue_turn": self.hue_turn * 2,
        }
