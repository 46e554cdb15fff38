"""Pixels of the actors and props: a person, a cardboard box, a parked car, a house front.

Everything is drawn with OpenCV primitives straight into an RGB uint8 image, at sub-pixel
precision (coordinates carry 4 fractional bits) so that slow movement does not jitter.
"""

from __future__ import annotations

import cv2
import numpy as np

from vidonate.synth.layout import Box, Car, Porch
from vidonate.synth.pose import HEAD_RADIUS, Joints, Point
from vidonate.synth.variation import Colour, Look

_SHIFT = 4
_ONE = 1 << _SHIFT
_AA = cv2.LINE_AA


def fixed(point: Point) -> tuple[int, int]:
    return (round(point[0] * _ONE), round(point[1] * _ONE))


def fixed_poly(points: list[Point]) -> np.ndarray:
    return np.array([fixed(p) for p in points], np.int32)


def shade(colour: Colour, factor: float) -> Colour:
    """The colour darker (factor < 1) or lighter (> 1)."""
    return (
        min(255, round(colour[0] * factor)),
        min(255, round(colour[1] * factor)),
        min(255, round(colour[2] * factor)),
    )


def line(img: np.ndarray, a: Point, b: Point, colour: Colour, thickness: float) -> None:
    cv2.line(img, fixed(a), fixed(b), colour, max(1, round(thickness)), _AA, _SHIFT)


def disc(img: np.ndarray, centre: Point, radius: float, colour: Colour) -> None:
    cv2.circle(img, fixed(centre), max(1, round(radius * _ONE)), colour, -1, _AA, _SHIFT)


def fill(img: np.ndarray, points: list[Point], colour: Colour) -> None:
    cv2.fillPoly(img, [fixed_poly(points)], colour, _AA, _SHIFT)


def fill_rect(img: np.ndarray, rect: tuple[float, float, float, float], colour: Colour) -> None:
    x0, y0, x1, y1 = rect
    fill(img, [(x0, y0), (x1, y0), (x1, y1), (x0, y1)], colour)


def outline(
    img: np.ndarray, points: list[Point], colour: Colour, thickness: float, closed: bool = True
) -> None:
    """A polygon's (or polyline's) edges only."""
    cv2.polylines(img, [fixed_poly(points)], closed, colour, max(1, round(thickness)), _AA, _SHIFT)


def ring(img: np.ndarray, centre: Point, radius: float, colour: Colour, thickness: float) -> None:
    """A circle's edge only."""
    cv2.circle(
        img, fixed(centre), max(1, round(radius * _ONE)), colour, max(1, round(thickness)), _AA,
        _SHIFT,
    )  # fmt: skip


def oval(
    img: np.ndarray,
    centre: Point,
    axes: Point,
    angle: float,
    colour: Colour,
    thickness: float = -1,
) -> None:
    """A filled (thickness < 0) or outlined ellipse, `angle` in degrees."""
    size = (max(1, round(axes[0] * _ONE)), max(1, round(axes[1] * _ONE)))
    width = -1 if thickness < 0 else max(1, round(thickness))
    cv2.ellipse(img, fixed(centre), size, angle, 0, 360, colour, width, _AA, _SHIFT)


def shadow(img: np.ndarray, centre: Point, radii: Point, strength: float = 0.45) -> None:
    """Darken a soft-edged ellipse on the ground (a cast shadow) in place."""
    h, w = img.shape[:2]
    x0, x1 = max(0, int(centre[0] - radii[0]) - 1), min(w, int(centre[0] + radii[0]) + 2)
    y0, y1 = max(0, int(centre[1] - radii[1]) - 1), min(h, int(centre[1] + radii[1]) + 2)
    if x1 <= x0 or y1 <= y0:
        return
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    local = (centre[0] - x0, centre[1] - y0)
    axes = (max(1, round(radii[0] * _ONE)), max(1, round(radii[1] * _ONE)))
    cv2.ellipse(mask, fixed(local), axes, 0, 0, 360, 255, -1, _AA, _SHIFT)
    region = img[y0:y1, x0:x1]
    keep = (255 - (mask.astype(np.uint16) * round(strength * 255) >> 8)).astype(np.uint16)
    region[...] = (region.astype(np.uint16) * keep[:, :, None] >> 8).astype(np.uint8)


def draw_box(img: np.ndarray, box: Box, centre: Point) -> None:
    """A closed cardboard box with its front face centred on `centre`: front, lit top and
    shaded side faces, packing tape across the top and down the front."""
    cx, cy = centre
    w, h, d = box.width, box.height, box.depth
    left, right, top, bottom = cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2
    back = (d * 0.45, -d * 0.55)  # how the top and side faces recede
    edge = shade(box.colour, 0.62)
    fill(
        img,
        [
            (right, top),
            (right + back[0], top + back[1]),
            (right + back[0], bottom + back[1]),
            (right, bottom),
        ],
        shade(box.colour, 0.78),
    )
    fill(
        img,
        [
            (left, top),
            (right, top),
            (right + back[0], top + back[1]),
            (left + back[0], top + back[1]),
        ],
        shade(box.colour, 1.14),
    )
    fill_rect(img, (left, top, right, bottom), box.colour)
    tape = (212, 192, 148)
    tape_w = max(1.0, 0.11 * w)
    fill(
        img,
        [
            (cx - tape_w / 2, top),
            (cx + tape_w / 2, top),
            (cx + tape_w / 2 + back[0], top + back[1]),
            (cx - tape_w / 2 + back[0], top + back[1]),
        ],
        tape,
    )
    fill_rect(img, (cx - tape_w / 2, top, cx + tape_w / 2, top + 0.35 * h), shade(tape, 0.95))
    edge_w = max(1.0, w / 60)
    for a, b in (
        ((left, top), (right, top)),
        ((right, top), (right, bottom)),
        ((right, top), (right + back[0], top + back[1])),
    ):
        line(img, a, b, edge, edge_w)


def draw_person(
    img: np.ndarray,
    joints: Joints,
    look: Look,
    unit: float,
    facing: int,
    held: tuple[Box, Point] | None = None,
) -> None:
    """A person in side view, limbs on the far side darker and behind the body; a held
    box goes between the body and the near arm, as it is carried against the belly."""
    build = look.build
    arm_w, thigh_w, shin_w = 0.062 * unit * build, 0.088 * unit * build, 0.07 * unit * build
    far_shirt, far_trousers = shade(look.shirt, 0.72), shade(look.trousers, 0.72)

    def leg(hip: Point, knee: Point, foot: Point, trousers: Colour, shoes: Colour) -> None:
        line(img, hip, knee, trousers, thigh_w)
        line(img, knee, foot, trousers, shin_w)
        toe = (foot[0] + facing * 0.07 * unit, foot[1])
        heel = (foot[0] - facing * 0.02 * unit, foot[1])
        line(img, heel, toe, shoes, 0.045 * unit)

    def arm(shoulder: Point, elbow: Point, hand: Point, shirt: Colour, skin: Colour) -> None:
        line(img, shoulder, elbow, shirt, arm_w)
        line(img, elbow, hand, shirt, arm_w * 0.85)
        disc(img, hand, 0.03 * unit * build, skin)

    far_skin = shade(look.skin, 0.8)
    arm(joints.shoulder, joints.far_elbow, joints.far_hand, far_shirt, far_skin)
    leg(joints.hip, joints.far_knee, joints.far_foot, far_trousers, shade(look.shoes, 0.8))
    # Torso: a tapered slab from shoulders to hips, the neck above it.
    sx, sy = joints.shoulder
    hx, hy = joints.hip
    length = max(1e-6, ((sx - hx) ** 2 + (sy - hy) ** 2) ** 0.5)
    nx, ny = -(sy - hy) / length, (sx - hx) / length  # across the torso
    chest, waist = 0.085 * unit * build, 0.07 * unit * build
    line(img, joints.neck, joints.shoulder, look.skin, 0.05 * unit)
    fill(
        img,
        [
            (sx + nx * chest, sy + ny * chest),
            (sx - nx * chest, sy - ny * chest),
            (hx - nx * waist, hy - ny * waist),
            (hx + nx * waist, hy + ny * waist),
        ],
        look.shirt,
    )
    disc(img, joints.shoulder, chest * 0.95, look.shirt)
    disc(img, joints.hip, waist * 1.05, look.trousers)
    leg(joints.hip, joints.near_knee, joints.near_foot, look.trousers, look.shoes)
    _head(img, joints.head, unit, look, facing)
    if held is not None:
        draw_box(img, held[0], held[1])
    arm(joints.shoulder, joints.near_elbow, joints.near_hand, look.shirt, look.skin)


def _head(img: np.ndarray, centre: Point, unit: float, look: Look, facing: int) -> None:
    r = HEAD_RADIUS * unit
    x, y = centre
    if look.headwear == "hood":
        disc(img, (x - facing * 0.12 * r, y - 0.06 * r), 1.18 * r, shade(look.shirt, 0.85))
        disc(img, (x + facing * 0.3 * r, y + 0.12 * r), 0.68 * r, look.skin)
        return
    disc(img, (x - facing * 0.14 * r, y - 0.12 * r), r, look.hair)
    disc(img, (x + facing * 0.16 * r, y + 0.1 * r), 0.86 * r, look.skin)
    if look.headwear == "cap":
        cap = shade(look.trousers, 1.1)
        cv2.ellipse(
            img,
            fixed((x, y - 0.2 * r)),
            (round(r * _ONE), round(0.75 * r * _ONE)),
            0,
            180,
            360,
            cap,
            -1,
            _AA,
            _SHIFT,
        )
        line(img, (x, y - 0.25 * r), (x + facing * 1.5 * r, y - 0.15 * r), cap, 0.22 * r)


def draw_car(img: np.ndarray, car: Car) -> None:
    """A parked car in side view: body, cabin with side windows, doors, wheels, lights and
    the door handles (the front one is `car.handle`)."""
    u, length, ground = car.unit, car.length, car.ground

    def at(along: float, up: float) -> Point:
        # `along` runs from the rear (0) to the front (1) of the car.
        a = along if car.facing > 0 else 1 - along
        return (car.x + a * length, ground - up * u)

    body, dark = car.colour, shade(car.colour, 0.6)
    shadow(img, at(0.5, 0.0), (0.55 * length, 0.06 * u), 0.55)
    fill(img, [at(0.13, 0.5), at(0.29, 0.83), at(0.66, 0.83), at(0.81, 0.5)], body)
    glass = (62, 76, 92)
    fill(img, [at(0.165, 0.53), at(0.3, 0.79), at(0.455, 0.79), at(0.455, 0.53)], glass)
    fill(img, [at(0.485, 0.53), at(0.485, 0.79), at(0.645, 0.79), at(0.77, 0.53)], glass)
    fill(
        img,
        [
            at(0.02, 0.13),
            at(0.0, 0.2),
            at(0.0, 0.46),
            at(0.03, 0.53),
            at(0.96, 0.52),
            at(1.0, 0.42),
            at(1.0, 0.19),
            at(0.97, 0.13),
        ],
        body,
    )
    line(img, at(0.01, 0.3), at(0.99, 0.3), shade(body, 0.85), 0.02 * u)
    for along in (0.17, 0.8):
        disc(img, at(along, 0.17), 0.2 * u, shade(body, 0.35))
        disc(img, at(along, 0.17), 0.17 * u, (24, 24, 26))
        disc(img, at(along, 0.17), 0.095 * u, (150, 152, 156))
        disc(img, at(along, 0.17), 0.03 * u, (90, 90, 94))
    seam = max(1.0, 0.012 * u)
    line(img, at(0.47, 0.12), at(0.47, 0.8), dark, seam)
    line(img, at(0.76, 0.17), at(0.76, 0.53), dark, seam)
    line(img, at(0.22, 0.2), at(0.22, 0.53), dark, seam)
    for along in (0.25, 0.49):
        cx, cy = at(along, 0.53)
        fill_rect(img, (cx - 0.045 * u, cy - 0.012 * u, cx + 0.045 * u, cy + 0.012 * u), dark)
    fill(img, [at(0.97, 0.36), at(1.0, 0.37), at(1.0, 0.45), at(0.95, 0.46)], (236, 232, 196))
    fill(img, [at(0.0, 0.36), at(0.03, 0.36), at(0.03, 0.46), at(0.0, 0.46)], (190, 30, 30))
    fill(img, [at(0.76, 0.52), at(0.8, 0.6), at(0.82, 0.52)], body)


def draw_porch(img: np.ndarray, porch: Porch, unit: float) -> None:
    """A house front: sided wall, framed door with panels and knob, a window, the step."""
    x0, y0, x1, y1 = porch.wall
    fill_rect(img, porch.wall, porch.wall_colour)
    siding = shade(porch.wall_colour, 0.9)
    spacing = max(4.0, 0.07 * unit)
    y = y1 - spacing
    while y > y0:
        line(img, (x0, y), (x1, y), siding, 1)
        y -= spacing
    fill_rect(img, (x0, y1 - 0.05 * unit, x1, y1), shade(porch.wall_colour, 0.7))
    dx0, dy0, dx1, dy1 = porch.door
    trim = 0.04 * unit
    fill_rect(img, (dx0 - trim, dy0 - trim, dx1 + trim, dy1), (232, 232, 226))
    fill_rect(img, porch.door, porch.door_colour)
    panel = shade(porch.door_colour, 0.8)
    inset = 0.06 * unit
    mid = dy0 + (dy1 - dy0) * 0.45
    for top, bottom in ((dy0 + inset, mid - inset / 2), (mid + inset / 2, dy1 - inset)):
        fill_rect(img, (dx0 + inset, top, dx1 - inset, top + 1.5), panel)
        fill_rect(
            img, (dx0 + inset, bottom - 1.5, dx1 - inset, bottom), shade(porch.door_colour, 1.2)
        )
    knob_x = dx1 - 0.07 * unit if (dx0 + dx1) / 2 < (x0 + x1) / 2 else dx0 + 0.07 * unit
    disc(img, (knob_x, dy0 + (dy1 - dy0) * 0.52), 0.022 * unit, (204, 172, 64))
    if porch.window is not None:
        wx0, wy0, wx1, wy1 = porch.window
        fill_rect(img, (wx0 - trim, wy0 - trim, wx1 + trim, wy1 + trim), (232, 232, 226))
        fill_rect(img, porch.window, (70, 88, 108))
        line(img, ((wx0 + wx1) / 2, wy0), ((wx0 + wx1) / 2, wy1), (232, 232, 226), trim * 0.6)
        line(img, (wx0, (wy0 + wy1) / 2), (wx1, (wy0 + wy1) / 2), (232, 232, 226), trim * 0.6)
    sx0, sy0, sx1, _ = porch.step
    # The step's top surface recedes from its front edge back to the foot of the wall.
    fill(
        img,
        [(sx0, sy0), (sx1, sy0), (sx1 - 0.02 * unit, y1), (sx0 + 0.02 * unit, y1)],
        shade(porch.step_colour, 1.12),
    )
    fill_rect(img, porch.step, porch.step_colour)
    line(img, (sx0, sy0), (sx1, sy0), shade(porch.step_colour, 0.8), 1)
