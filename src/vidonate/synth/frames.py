"""Output frames of a planned scene.

The still parts (background, house, cars, the box while it stands on the porch) are
drawn by the style's painter, composed, warped to the camera's view and lit once per
clip. Each frame then only redraws the person: onto a copy of the composed scene, warped
and lit for just the window of the screen the person covers. Sensor noise goes on every
frame; then, if the clip has a camera rig, its warp, lens, night look and noise; the
SYNTHETIC marker last, so nothing hides it.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from vidonate.synth.clip import MARKER_TEXT
from vidonate.synth.pose import skeleton
from vidonate.synth.rig import RigOptics, infrared, night_table
from vidonate.synth.scene import Scene, streams
from vidonate.synth.styles.base import Painter

_NOISE_FIELDS = 8  # distinct noise images; each frame takes one at random
_MARKER_ORIGIN = (6, 6)


def marker_patch() -> np.ndarray:
    """The label burnt into the top-left corner of every frame: white SYNTHETIC on black."""
    font, scale, thickness = cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1
    (text_w, text_h), baseline = cv2.getTextSize(MARKER_TEXT, font, scale, thickness)
    patch = np.zeros((text_h + baseline + 8, text_w + 10, 3), np.uint8)
    cv2.putText(
        patch, MARKER_TEXT, (5, text_h + 4), font, scale, (255, 255, 255), thickness, cv2.LINE_AA
    )
    return patch


def marker_box() -> tuple[int, int, int, int]:
    """Where the marker is on screen: x0, y0, x1, y1."""
    h, w = marker_patch().shape[:2]
    return (_MARKER_ORIGIN[0], _MARKER_ORIGIN[1], _MARKER_ORIGIN[0] + w, _MARKER_ORIGIN[1] + h)


def noise_fields(
    rng: np.random.Generator,
    sigma: float,
    height: int,
    width: int,
    *,
    single: bool = False,
    grey: bool = False,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """A few images of sensor noise, each as what to add and what to subtract. `single`
    draws in single precision (faster; the rig's), `grey` the same noise on all three
    channels (a night picture's)."""
    fields = []
    for _ in range(_NOISE_FIELDS):
        if single:
            planes = 1 if grey else 3
            drawn = rng.standard_normal((height, width, planes), dtype=np.float32) * sigma
            field = np.repeat(drawn, 3, axis=2) if grey else drawn
        else:
            field = rng.normal(0, sigma, (height, width, 3))
        field = np.clip(np.round(field), -255, 255)
        fields.append(
            (
                np.clip(field, 0, 255).astype(np.uint8),
                np.clip(-field, 0, 255).astype(np.uint8),
            )
        )
    return fields


def compose_still_parts(
    scene: Scene, background: np.ndarray, box_on_porch: bool, painter: Painter
) -> np.ndarray:
    """The composed (frontal) scene without the person."""
    img = background.copy()
    layout = scene.layout
    for car in layout.far_cars:
        painter.car(img, car)
    if layout.porch is not None:
        painter.porch(img, layout.porch, layout.unit)
    for car in layout.cars:
        painter.car(img, car)
    if box_on_porch and layout.box is not None:
        painter.box_on_porch(img, layout.box)
    return img


class Compositor:
    """Turns the scene's moments into finished output frames (RGB)."""

    def __init__(
        self,
        scene: Scene,
        background: np.ndarray,
        painter: Painter,
        optics: RigOptics | None = None,
    ) -> None:
        self.scene = scene
        self.painter = painter
        self.optics = optics
        self.table = scene.lighting.table()
        sigma = scene.lighting.blur
        self.blur_pad = math.ceil(3 * sigma) + 1 if sigma > 0 else 1
        self.world = {
            on: compose_still_parts(scene, background, on, painter)
            for on in ((False, True) if scene.layout.box is not None else (False,))
        }
        self.still_frames = {on: self._finish(self._warp(img)) for on, img in self.world.items()}
        rng = streams(scene.seed)["noise"]
        self.noise: list[tuple[np.ndarray, np.ndarray]] = []
        if scene.lighting.noise >= 0.5:
            self.noise = noise_fields(rng, scene.lighting.noise, scene.height, scene.width)
        self.noise_order = rng.integers(0, max(1, len(self.noise)), scene.frames)
        self.marker = marker_patch()
        self.rig_noise: list[tuple[np.ndarray, np.ndarray]] = []
        self.night = night_table()
        if optics is not None:
            rig_rng = streams(scene.seed)["rig_noise"]
            if optics.rig.noise >= 0.5:
                self.rig_noise = noise_fields(
                    rig_rng,
                    optics.rig.noise,
                    scene.height,
                    scene.width,
                    single=True,
                    grey=optics.rig.night,
                )
            self.rig_noise_order = rig_rng.integers(0, max(1, len(self.rig_noise)), scene.frames)

    def _warp(
        self, img: np.ndarray, origin: tuple[int, int] = (0, 0), size: tuple[int, int] | None = None
    ) -> np.ndarray:
        """Warp composed-scene pixels to the output, or to the output window at `origin`."""
        shift = np.array([[1, 0, -origin[0]], [0, 1, -origin[1]], [0, 0, 1]], np.float64)
        return cv2.warpPerspective(
            img,
            shift @ self.scene.homography,
            size or (self.scene.width, self.scene.height),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REFLECT,
        )

    def _finish(self, img: np.ndarray) -> np.ndarray:
        """Lens blur, then exposure, gamma and white balance."""
        if self.scene.lighting.blur > 0:
            img = cv2.GaussianBlur(img, (0, 0), self.scene.lighting.blur)
        return cv2.LUT(img, self.table)

    def frame(self, index: int) -> np.ndarray:
        """Output frame `index`, RGB."""
        scene = self.scene
        moment = scene.moments[index]
        box_on_porch = moment.box_on_porch and scene.layout.box is not None
        out = self.still_frames[box_on_porch].copy()
        person = moment.person
        extent = scene.person_world_extent(index)
        if person is not None and extent is not None:
            world = self.world[box_on_porch].copy()
            layout = scene.layout
            unit = layout.unit
            joints = skeleton(person, unit, layout.ground)
            held = None
            if person.carrying and person.box_at is not None and layout.box is not None:
                held = (layout.box, person.box_at)
            self.painter.person(world, joints, person, held, index / scene.fps)
            x0, y0, x1, y1 = extent
            x0, x1 = min(x0, person.x - 0.25 * unit), max(x1, person.x + 0.25 * unit)
            y1 = max(y1, layout.ground + 0.04 * unit)
            margin = self.painter.margin * unit
            if margin > 0:
                x0, y0, x1, y1 = x0 - margin, y0 - margin, x1 + margin, y1 + margin * 0.3
            screen = scene.on_screen((x0 - 2, y0 - 2, x1 + 2, y1 + 2))
            if screen is not None:
                self._paste(out, world, screen)
        if self.noise:
            high, low = self.noise[int(self.noise_order[index])]
            cv2.add(out, high, out)
            cv2.subtract(out, low, out)
        if self.optics is not None:
            out = self._through_rig(out, index)
        mx, my = _MARKER_ORIGIN
        out[my : my + self.marker.shape[0], mx : mx + self.marker.shape[1]] = self.marker
        return out

    def _through_rig(self, picture: np.ndarray, index: int) -> np.ndarray:
        """The finished picture as the rig's camera sees it: warp and lens, night look,
        its own sensor noise."""
        assert self.optics is not None
        out = self.optics.picture(picture)
        if self.optics.rig.night:
            out = infrared(out, self.night)
        if self.rig_noise:
            high, low = self.rig_noise[int(self.rig_noise_order[index])]
            cv2.add(out, high, out)
            cv2.subtract(out, low, out)
        return out

    def _paste(
        self, out: np.ndarray, world: np.ndarray, screen: tuple[float, float, float, float]
    ) -> None:
        """Warp and light only the screen window `screen` of `world` into `out`; the window
        is widened by the blur's reach so its edges blur as the whole frame would."""
        pad = self.blur_pad
        x0, y0 = max(0, math.floor(screen[0])), max(0, math.floor(screen[1]))
        x1 = min(self.scene.width, math.ceil(screen[2]))
        y1 = min(self.scene.height, math.ceil(screen[3]))
        px0, py0 = max(0, x0 - pad), max(0, y0 - pad)
        px1, py1 = min(self.scene.width, x1 + pad), min(self.scene.height, y1 + pad)
        patch = self._finish(self._warp(world, (px0, py0), (px1 - px0, py1 - py0)))
        out[y0:y1, x0:x1] = patch[y0 - py0 : y1 - py0, x0 - px0 : x1 - px0]
