"""The "silhouette" style: flat shapes against the light, as a camera sees them at dusk
or against a bright window. People are solid dark figures in long coats (broad shoulders,
thick limbs, no face); the box is a brightly coloured bag or crate, not cardboard; cars
are boxy vans and hatchbacks in one dark tone with pale windows; the house a flat wall
with a lit window; the background a posterised blur of the real still, or a two-tone
sky and ground."""

from __future__ import annotations

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

# Bags and crates: saturated colours far from cardboard and from the figures' darkness.
PROPS: tuple[Colour, ...] = (
    (40, 110, 220),
    (30, 170, 90),
    (235, 235, 240),
    (220, 40, 60),
    (250, 200, 30),
    (150, 60, 200),
)
SKIES: tuple[tuple[Colour, Colour], ...] = (
    ((250, 170, 90), (120, 60, 110)),  # sunset
    ((200, 210, 220), (150, 160, 170)),  # overcast
    ((120, 170, 230), (220, 230, 240)),  # clear
    ((60, 70, 120), (200, 120, 80)),  # dusk
)


class SilhouettePainter:
    margin = 0.1  # the coat and the broad shoulders

    def __init__(self, scene: Scene, media_dir: Path | None) -> None:
        self.scene, self.media_dir = scene, media_dir
        rng = streams(scene.seed)["style"]
        darkness = float(rng.uniform(0.08, 0.3))
        tint = rng.uniform(0.8, 1.2, 3)
        level = np.minimum(255, 255 * darkness * tint).astype(int)
        self.figure: Colour = (int(level[0]), int(level[1]), int(level[2]))
        self.prop = PROPS[int(rng.integers(len(PROPS)))]
        self.bag = bool(rng.random() < 0.5)  # a shopping bag, else a plastic crate
        self.sky = SKIES[int(rng.integers(len(SKIES)))]
        self.levels = int(rng.integers(3, 6))  # posterisation of a real background
        self.coat = float(rng.uniform(0.6, 1.0))  # coat length: 0 hips .. 1 knees

    def backdrop(self) -> tuple[np.ndarray, dict[str, object]]:
        scene = self.scene
        if scene.background != backgrounds.PROCEDURAL and self.media_dir is not None:
            picture, record = background_for(scene, self.media_dir)
            blurred = cv2.GaussianBlur(picture, (0, 0), 4.0).astype(np.float32)
            step = 255.0 / (self.levels - 1)
            posterised = np.round(blurred / step) * step
            return posterised.clip(0, 255).astype(np.uint8), {**record, "drawn_as": "posterised"}
        h, w = scene.height, scene.width
        horizon = scene.layout.horizon
        rows = np.clip(np.arange(h, dtype=np.float32) / max(horizon, 1.0), 0, 1)[:, None, None]
        top, low = (np.array(c, np.float32) for c in self.sky)
        img = np.broadcast_to(top * (1 - rows) + low * rows, (h, w, 3)).copy()
        ground = np.array(shade(self.sky[1], 0.55), np.float32)
        img[int(horizon) :] = ground
        layout = scene.layout
        kerb = layout.cars[0].ground if layout.cars else layout.ground - 0.2 * layout.unit
        img[int(kerb) :] = np.array(shade(self.sky[1], 0.75), np.float32)
        return img.astype(np.uint8), {"source": backgrounds.PROCEDURAL, "drawn_as": "two-tone"}

    def car(self, img: np.ndarray, car: Car) -> None:
        u, length, ground = car.unit, car.length, car.ground

        def at(along: float, up: float) -> Point:
            a = along if car.facing > 0 else 1 - along
            return (car.x + a * length, ground - up * u)

        dark = shade(car.colour, 0.3)
        fill(img, [at(0.0, 0.1), at(0.0, 0.84), at(0.7, 0.84), at(0.78, 0.5), at(1.0, 0.44),
                   at(1.0, 0.1)], dark)  # fmt: skip
        pale = shade(self.sky[0], 0.9)
        fill(img, [at(0.06, 0.55), at(0.06, 0.78), at(0.45, 0.78), at(0.45, 0.55)], pale)
        fill(img, [at(0.5, 0.55), at(0.5, 0.78), at(0.67, 0.78), at(0.74, 0.55)], pale)
        for along in (0.2, 0.82):
            disc(img, at(along, 0.14), 0.17 * u, (10, 10, 12))
        hx, hy = car.handle
        fill_rect(img, (hx - 0.05 * u, hy - 0.015 * u, hx + 0.05 * u, hy + 0.015 * u),
                  shade(dark, 2.2))  # fmt: skip

    def porch(self, img: np.ndarray, porch: Porch, unit: float) -> None:
        fill_rect(img, porch.wall, shade(porch.wall_colour, 0.45))
        fill_rect(img, porch.door, shade(porch.door_colour, 0.25))
        if porch.window is not None:
            fill_rect(img, porch.window, (250, 214, 120))
        fill_rect(img, porch.step, shade(porch.step_colour, 0.5))

    def _prop(self, img: np.ndarray, box: Box, centre: Point) -> None:
        cx, cy = centre
        w, h = box.width, box.height + box.depth * 0.4
        bottom, top = cy + box.height / 2, cy + box.height / 2 - h
        if self.bag:
            fill(img, [(cx - 0.4 * w, top), (cx + 0.4 * w, top), (cx + 0.5 * w, bottom),
                       (cx - 0.5 * w, bottom)], self.prop)  # fmt: skip
            handle = shade(self.prop, 0.6)
            oval(img, (cx, top), (0.22 * w, 0.25 * h), 0, handle, max(1.0, w / 14))
        else:
            fill_rect(img, (cx - w / 2, top, cx + w / 2, bottom), self.prop)
            rib = shade(self.prop, 0.7)
            for k in (0.25, 0.5, 0.75):
                line(img, (cx - w / 2, top + k * h), (cx + w / 2, top + k * h), rib, w / 20)

    def box_on_porch(self, img: np.ndarray, box: Box) -> None:
        self._prop(img, box, box.centre)

    def person(
        self,
        img: np.ndarray,
        joints: Joints,
        state: PersonState,
        held: tuple[Box, Point] | None,
        seconds: float,
    ) -> None:
        unit = self.scene.layout.unit
        ink = self.figure
        limb = 0.085 * unit
        for a, b, c in ((joints.hip, joints.far_knee, joints.far_foot),
                        (joints.hip, joints.near_knee, joints.near_foot)):  # fmt: skip
            line(img, a, b, ink, limb * 1.1)
            line(img, b, c, ink, limb)
            line(img, c, (c[0] + state.facing * 0.07 * unit, c[1]), ink, limb * 0.6)
        line(img, joints.shoulder, joints.far_elbow, ink, limb)
        line(img, joints.far_elbow, joints.far_hand, ink, limb * 0.9)
        # The coat: broad at the shoulders, flaring down past the hips towards the knees.
        sx, sy = joints.shoulder
        hx, hy = joints.hip
        kx = (joints.near_knee[0] + joints.far_knee[0]) / 2
        ky = (joints.near_knee[1] + joints.far_knee[1]) / 2
        hem = (hx + (kx - hx) * self.coat, hy + (ky - hy) * self.coat)
        dx, dy = sx - hx, sy - hy
        norm = max(1e-6, (dx * dx + dy * dy) ** 0.5)
        nx, ny = -dy / norm, dx / norm
        chest, flare = 0.12 * unit, 0.13 * unit
        fill(img, [(sx + nx * chest, sy + ny * chest), (sx - nx * chest, sy - ny * chest),
                   (hem[0] - nx * flare, hem[1]), (hem[0] + nx * flare, hem[1])], ink)  # fmt: skip
        disc(img, joints.shoulder, chest, ink)
        r = HEAD_RADIUS * unit
        line(img, joints.neck, joints.shoulder, ink, 0.07 * unit)
        oval(img, joints.head, (0.95 * r, 1.2 * r), 0, ink)
        if held is not None:
            self._prop(img, held[0], held[1])
        line(img, joints.shoulder, joints.near_elbow, ink, limb)
        line(img, joints.near_elbow, joints.near_hand, ink, limb * 0.9)
        disc(img, joints.near_hand, 0.04 * unit, ink)

    def record(self) -> dict[str, object]:
        return {
            "figure": list(self.figure),
            "prop": list(self.prop),
            "prop_shape": "bag" if self.bag else "crate",
            "sky": [list(c) for c in self.sky],
            "levels": self.levels,
            "coat": round(self.coat, 3),
        }
