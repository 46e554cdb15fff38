"""The "sketch" style: line drawings on paper. People are stick figures with big round
heads and thin ink limbs; boxes, cars and the house are outlines over a paper fill with a
light wash of colour; the background (real or procedural, as the seed chose) becomes pencil
edges on tinted paper."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from vidonate.synth.draw import disc, fill, line, outline, ring
from vidonate.synth.layout import Box, Car, Porch
from vidonate.synth.pose import HEAD_RADIUS, Joints, PersonState, Point
from vidonate.synth.scene import Scene, streams
from vidonate.synth.styles.classic import background_for
from vidonate.synth.variation import Colour

PAPERS: tuple[Colour, ...] = ((246, 240, 222), (236, 240, 246), (250, 250, 248), (232, 226, 206))
INKS: tuple[Colour, ...] = ((28, 28, 34), (30, 44, 110), (70, 40, 30), (20, 70, 60))


def _mix(a: Colour, b: Colour, t: float) -> Colour:
    return (
        round(a[0] * (1 - t) + b[0] * t),
        round(a[1] * (1 - t) + b[1] * t),
        round(a[2] * (1 - t) + b[2] * t),
    )


class SketchPainter:
    margin = 0.08  # the head is drawn larger than the skeleton's

    def __init__(self, scene: Scene, media_dir: Path | None) -> None:
        self.scene, self.media_dir = scene, media_dir
        rng = streams(scene.seed)["style"]
        self.paper = PAPERS[int(rng.integers(len(PAPERS)))]
        self.ink = INKS[int(rng.integers(len(INKS)))]
        self.wash = float(rng.uniform(0.15, 0.4))  # how much colour shows through
        self.stroke = float(rng.uniform(0.022, 0.036))  # ink width, person heights
        self.head = float(rng.uniform(1.3, 1.7))  # head size against the classic figure
        self.person_ink = _mix(self.ink, scene.look.shirt, float(rng.uniform(0.0, 0.5)))

    def _wash(self, colour: Colour) -> Colour:
        return _mix(self.paper, colour, self.wash)

    def backdrop(self) -> tuple[np.ndarray, dict[str, object]]:
        picture, record = background_for(self.scene, self.media_dir)
        grey = cv2.GaussianBlur(cv2.cvtColor(picture, cv2.COLOR_RGB2GRAY), (0, 0), 1.2)
        edges = cv2.Canny(grey, 30, 90).astype(np.float32) / 255.0
        paper = np.empty_like(picture, dtype=np.float32)
        paper[:] = self.paper
        washed = paper * (1 - self.wash * 0.6) + picture.astype(np.float32) * self.wash * 0.6
        ink = np.array(self.ink, np.float32)
        out = washed * (1 - 0.7 * edges[:, :, None]) + ink * 0.7 * edges[:, :, None]
        return np.clip(out + 0.5, 0, 255).astype(np.uint8), {**record, "drawn_as": "pencil edges"}

    def car(self, img: np.ndarray, car: Car) -> None:
        u, length, ground = car.unit, car.length, car.ground
        w = max(1.0, 0.02 * u)

        def at(along: float, up: float) -> Point:
            a = along if car.facing > 0 else 1 - along
            return (car.x + a * length, ground - up * u)

        body = [at(0.0, 0.16), at(0.0, 0.5), at(0.25, 0.52), at(0.33, 0.82), at(0.68, 0.82)]
        body += [at(0.8, 0.52), at(1.0, 0.46), at(1.0, 0.16)]
        fill(img, body, self._wash(car.colour))
        outline(img, body, self.ink, w)
        outline(img, [at(0.28, 0.53), at(0.35, 0.76), at(0.66, 0.76), at(0.76, 0.53)], self.ink, w)
        line(img, at(0.49, 0.16), at(0.49, 0.76), self.ink, w)
        for along in (0.18, 0.82):
            disc(img, at(along, 0.16), 0.16 * u, self.paper)
            ring(img, at(along, 0.16), 0.16 * u, self.ink, w)
            ring(img, at(along, 0.16), 0.06 * u, self.ink, w)
        hx, hy = car.handle
        line(img, (hx - 0.05 * u, hy), (hx + 0.05 * u, hy), self.ink, w * 1.5)

    def porch(self, img: np.ndarray, porch: Porch, unit: float) -> None:
        w = max(1.0, 0.018 * unit)
        x0, y0, x1, y1 = porch.wall
        wall = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
        fill(img, wall, self._wash(porch.wall_colour))
        outline(img, wall, self.ink, w)
        dx0, dy0, dx1, dy1 = porch.door
        door = [(dx0, dy0), (dx1, dy0), (dx1, dy1), (dx0, dy1)]
        fill(img, door, self._wash(porch.door_colour))
        outline(img, door, self.ink, w)
        knob_x = dx1 - 0.07 * unit if (dx0 + dx1) / 2 < (x0 + x1) / 2 else dx0 + 0.07 * unit
        ring(img, (knob_x, (dy0 + dy1) / 2), 0.02 * unit, self.ink, w)
        if porch.window is not None:
            wx0, wy0, wx1, wy1 = porch.window
            outline(img, [(wx0, wy0), (wx1, wy0), (wx1, wy1), (wx0, wy1)], self.ink, w)
            line(img, ((wx0 + wx1) / 2, wy0), ((wx0 + wx1) / 2, wy1), self.ink, w)
            line(img, (wx0, (wy0 + wy1) / 2), (wx1, (wy0 + wy1) / 2), self.ink, w)
        sx0, sy0, sx1, sy1 = porch.step
        step = [(sx0, sy0), (sx1, sy0), (sx1, sy1), (sx0, sy1)]
        fill(img, step, self.paper)
        outline(img, step, self.ink, w)

    def _box(self, img: np.ndarray, box: Box, centre: Point) -> None:
        cx, cy = centre
        hw, hh = box.width / 2, box.height / 2
        back = (box.depth * 0.45, -box.depth * 0.55)
        front = [(cx - hw, cy - hh), (cx + hw, cy - hh), (cx + hw, cy + hh), (cx - hw, cy + hh)]
        top = [front[0], front[1], (front[1][0] + back[0], front[1][1] + back[1])]
        top.append((front[0][0] + back[0], front[0][1] + back[1]))
        side = [front[1], (front[1][0] + back[0], front[1][1] + back[1])]
        side += [(front[2][0] + back[0], front[2][1] + back[1]), front[2]]
        w = max(1.0, box.width / 40)
        for face in (side, top, front):
            fill(img, face, self._wash(box.colour))
            outline(img, face, self.ink, w)
        line(img, front[0], front[2], self.ink, w)
        line(img, front[1], front[3], self.ink, w)

    def box_on_porch(self, img: np.ndarray, box: Box) -> None:
        self._box(img, box, box.centre)
        line(img, (box.x - box.width * 0.6, box.bottom), (box.x + box.width * 0.7, box.bottom),
             self.ink, max(1.0, box.width / 30))  # fmt: skip

    def person(
        self,
        img: np.ndarray,
        joints: Joints,
        state: PersonState,
        held: tuple[Box, Point] | None,
        seconds: float,
    ) -> None:
        unit = self.scene.layout.unit
        ink, w = self.person_ink, max(1.0, self.stroke * unit)
        far = _mix(ink, self.paper, 0.45)
        for a, b, c in ((joints.hip, joints.far_knee, joints.far_foot),
                        (joints.shoulder, joints.far_elbow, joints.far_hand)):  # fmt: skip
            line(img, a, b, far, w)
            line(img, b, c, far, w)
        line(img, joints.neck, joints.hip, ink, w * 1.2)
        line(img, joints.hip, joints.near_knee, ink, w)
        line(img, joints.near_knee, joints.near_foot, ink, w)
        foot = joints.near_foot
        line(img, foot, (foot[0] + state.facing * 0.06 * unit, foot[1]), ink, w)
        r = HEAD_RADIUS * unit * self.head
        hx, hy = joints.head
        # The bigger head sits on the neck, not around it.
        nx, ny = joints.neck
        dx, dy = hx - nx, hy - ny
        norm = math.hypot(dx, dy) or 1.0
        centre = (nx + dx / norm * r, ny + dy / norm * r)
        disc(img, centre, r, self.paper)
        ring(img, centre, r, ink, w)
        disc(img, (centre[0] + state.facing * 0.45 * r, centre[1] - 0.1 * r), max(1.0, w * 0.6),
             ink)  # fmt: skip
        if held is not None:
            self._box(img, held[0], held[1])
        line(img, joints.shoulder, joints.near_elbow, ink, w)
        line(img, joints.near_elbow, joints.near_hand, ink, w)
        ring(img, joints.near_hand, 0.025 * unit, ink, max(1.0, w * 0.7))

    def record(self) -> dict[str, object]:
        return {
            "paper": list(self.paper),
            "ink": list(self.ink),
            "wash": round(self.wash, 3),
            "stroke": round(self.stroke, 4),
            "head": round(self.head, 3),
        }
