"""The "classic" style: the synthesizer's original look, drawn exactly as before styles
existed (the same bytes for the same seed): side-view figures of filled limbs in
coloured clothes, shaded cardboard boxes, detailed cars, a sided house front, real or
procedural backgrounds."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vidonate.synth import backgrounds
from vidonate.synth.draw import draw_box, draw_car, draw_person, draw_porch, shadow
from vidonate.synth.layout import Box, Car, Porch
from vidonate.synth.pose import Joints, PersonState, Point
from vidonate.synth.scene import Scene, streams


def background_for(scene: Scene, media_dir: Path | None) -> tuple[np.ndarray, dict[str, object]]:
    """The clip's backdrop as the seed chose it (a real still or procedural), and what the
    sidecar says about it."""
    rng = streams(scene.seed)["crop"]
    if scene.background == backgrounds.PROCEDURAL or media_dir is None:
        return backgrounds.procedural(rng, scene.layout), {"source": backgrounds.PROCEDURAL}
    still = backgrounds.media_still(media_dir, scene.background)
    image, crop = backgrounds.crop(still.image, rng, scene.width, scene.height)
    return backgrounds.grounded(image, rng, scene.layout), backgrounds.describe(still, crop)


def box_shadow(img: np.ndarray, box: Box) -> None:
    shadow(img, (box.x + box.depth * 0.2, box.bottom), (box.width * 0.6, box.depth * 0.25), 0.35)


def person_shadow(img: np.ndarray, state: PersonState, ground: float, unit: float) -> None:
    shadow(img, (state.x, ground), (0.24 * unit, 0.035 * unit))


class ClassicPainter:
    margin = 0.0

    def __init__(self, scene: Scene, media_dir: Path | None) -> None:
        self.scene, self.media_dir = scene, media_dir

    def backdrop(self) -> tuple[np.ndarray, dict[str, object]]:
        return background_for(self.scene, self.media_dir)

    def car(self, img: np.ndarray, car: Car) -> None:
        draw_car(img, car)

    def porch(self, img: np.ndarray, porch: Porch, unit: float) -> None:
        draw_porch(img, porch, unit)

    def box_on_porch(self, img: np.ndarray, box: Box) -> None:
        box_shadow(img, box)
        draw_box(img, box, box.centre)

    def person(
        self,
        img: np.ndarray,
        joints: Joints,
        state: PersonState,
        held: tuple[Box, Point] | None,
        seconds: float,
    ) -> None:
        layout = self.scene.layout
        person_shadow(img, state, layout.ground, layout.unit)
        draw_person(img, joints, self.scene.look, layout.unit, state.facing, held)

    def record(self) -> dict[str, object]:
        return {}
