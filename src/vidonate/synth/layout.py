"""Where things stand in a scene: the porch and its box, or parked cars along a kerb.

All positions are pixels of the composed, frontal scene (before the camera warp), and
all sizes follow `unit`, the height of the person. A *porch* layout is a house front with a
door and a step, seen from the path in front of it, maybe with cars parked far behind; a
*street* layout is a pavement with one to four cars parked at the kerb behind it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from vidonate.synth.variation import Colour, pick_colour

CAR_COLOURS: tuple[Colour, ...] = (
    (200, 200, 204),
    (30, 32, 36),
    (236, 236, 232),
    (150, 24, 30),
    (30, 60, 130),
    (96, 100, 106),
    (40, 90, 70),
    (170, 170, 150),
    (210, 180, 40),
)
WALLS: tuple[Colour, ...] = (
    (226, 216, 196),
    (200, 200, 206),
    (168, 58, 48),
    (240, 240, 234),
    (150, 170, 190),
    (186, 196, 170),
)
# No browns or oranges on doors and steps: the box is the only cardboard colour there.
DOORS: tuple[Colour, ...] = (
    (40, 82, 52),
    (140, 28, 34),
    (30, 50, 100),
    (236, 236, 230),
    (60, 62, 66),
    (20, 20, 22),
)
STEPS: tuple[Colour, ...] = ((150, 150, 148), (120, 124, 130), (176, 172, 166), (92, 96, 100))
CARDBOARD: tuple[Colour, ...] = ((196, 146, 92), (180, 130, 80), (206, 164, 108), (166, 120, 72))
Rect = tuple[float, float, float, float]  # x0, y0, x1, y1


@dataclass(frozen=True)
class Box:
    """A cardboard box; `x` is the middle of its front face, `bottom` the face's lower edge
    when it stands on the porch step."""

    x: float
    bottom: float
    width: float
    height: float
    depth: float  # how far its top face recedes, pixels on screen
    colour: Colour

    @property
    def centre(self) -> tuple[float, float]:
        """Centre of the front face on the step."""
        return (self.x, self.bottom - self.height / 2)

    def extent(self, centre: tuple[float, float] | None = None) -> Rect:
        """Bounding box of the drawn box with its front face centred on `centre`."""
        cx, cy = centre or self.centre
        return (
            cx - self.width / 2,
            cy - self.height / 2 - self.depth * 0.55,
            cx + self.width / 2 + self.depth * 0.45,
            cy + self.height / 2,
        )


@dataclass(frozen=True)
class Porch:
    """A house front: wall from the top of the scene down to a step, with a door in it."""

    wall: Rect
    door: Rect
    step: Rect  # the step's front face; its top surface recedes above it
    window: Rect | None
    wall_colour: Colour
    door_colour: Colour
    step_colour: Colour

    @property
    def step_top(self) -> float:
        """Where things stand on the step: the middle of its top surface, which recedes
        from the step's front edge to the foot of the wall."""
        return (self.step[1] + self.wall[3]) / 2


@dataclass(frozen=True)
class Car:
    """A parked car seen from the side; `x` is its rear or front end, whichever is left."""

    x: float
    ground: float  # y of the bottom of its wheels
    length: float
    unit: float  # the person's height at the car's distance: sets its height
    facing: int  # +1: its front points right
    colour: Colour

    @property
    def handle(self) -> tuple[float, float]:
        """The front door's handle, at its rear edge (where a hand tries it)."""
        along = 0.49 if self.facing > 0 else 0.51
        return (self.x + along * self.length, self.ground - 0.53 * self.unit)

    @property
    def extent(self) -> Rect:
        return (self.x, self.ground - 0.84 * self.unit, self.x + self.length, self.ground)


@dataclass(frozen=True)
class Layout:
    """Everything that stands still in a scene, and where the person walks."""

    style: str  # "porch" or "street"
    width: int
    height: int
    unit: float  # height of the person, pixels
    ground: float  # y of the person's feet
    horizon: float  # y of the horizon, for procedural backgrounds
    porch: Porch | None
    box: Box | None  # where a box stands on the porch step (if the scene has one there)
    cars: tuple[Car, ...]  # cars at the kerb, within reach
    far_cars: tuple[Car, ...]  # cars parked far behind, out of reach

    def as_record(self) -> dict[str, object]:
        def rect(r: Rect | None) -> list[float] | None:
            return None if r is None else [round(v, 1) for v in r]

        return {
            "style": self.style,
            "person_height": round(self.unit, 1),
            "ground": round(self.ground, 1),
            "door": rect(self.porch.door) if self.porch else None,
            "box": None
            if self.box is None
            else {"width": round(self.box.width, 1), "height": round(self.box.height, 1)},
            "cars": len(self.cars),
            "far_cars": len(self.far_cars),
        }


def porch_layout(
    rng: np.random.Generator, width: int, height: int, *, with_box: bool, far_cars: bool
) -> Layout:
    """A house front with its door near the middle of the scene, a step before the door and,
    if `with_box`, a parcel on the step."""
    unit = height * rng.uniform(0.34, 0.5)
    ground = height * rng.uniform(0.8, 0.9)
    door_x = width * rng.uniform(0.32, 0.68)
    wall_bottom = ground - 0.16 * unit
    door_w, door_h = 0.5 * unit * rng.uniform(0.9, 1.1), 1.15 * unit * rng.uniform(0.95, 1.05)
    wall = (
        door_x - unit * rng.uniform(0.7, 1.7),
        0.0,
        door_x + unit * rng.uniform(0.7, 1.7),
        wall_bottom,
    )
    door = (door_x - door_w / 2, wall_bottom - door_h, door_x + door_w / 2, wall_bottom)
    step_w = door_w + unit * rng.uniform(0.5, 0.9)
    step = (
        door_x - step_w / 2,
        wall_bottom + 0.04 * unit,
        door_x + step_w / 2,
        ground - 0.05 * unit,
    )
    window = None
    side = 1 if rng.random() < 0.5 else -1
    window_x = door_x + side * (door_w / 2 + 0.55 * unit)
    if wall[0] + 0.3 * unit < window_x < wall[2] - 0.3 * unit:
        window = (
            window_x - 0.22 * unit,
            door[1] + 0.1 * unit,
            window_x + 0.22 * unit,
            door[1] + 0.62 * unit,
        )
    porch = Porch(
        wall=wall,
        door=door,
        step=step,
        window=window,
        wall_colour=pick_colour(rng, WALLS, 10),
        door_colour=pick_colour(rng, DOORS, 8),
        step_colour=pick_colour(rng, STEPS, 6),
    )
    box = None
    if with_box:
        box_w = unit * rng.uniform(0.16, 0.32)
        box_h = min(box_w * rng.uniform(0.55, 1.0), 0.24 * unit)
        box_x = door_x + rng.uniform(-0.3, 0.3) * (step_w - box_w)
        box = Box(
            x=box_x,
            bottom=porch.step_top,
            width=box_w,
            height=box_h,
            depth=box_w * rng.uniform(0.3, 0.5),
            colour=pick_colour(rng, CARDBOARD, 8),
        )
    horizon = max(height * 0.12, ground - unit * rng.uniform(1.3, 2.2))
    parked: tuple[Car, ...] = ()
    if far_cars:
        far_unit = unit * rng.uniform(0.35, 0.5)
        far_ground = max(horizon + far_unit * 0.9, ground - unit * rng.uniform(0.55, 0.8))
        parked = _row_of_cars(rng, width, far_ground, far_unit, int(rng.integers(1, 3)))
    return Layout(
        style="porch",
        width=width,
        height=height,
        unit=unit,
        ground=ground,
        horizon=horizon,
        porch=porch,
        box=box,
        cars=(),
        far_cars=parked,
    )


def street_layout(rng: np.random.Generator, width: int, height: int) -> Layout:
    """A pavement with one to four cars parked at the kerb behind it; at least one car's
    door handle lies well inside the scene, where the camera surely sees it."""
    unit = height * rng.uniform(0.24, 0.34)
    ground = height * rng.uniform(0.78, 0.88)
    kerb = ground - 0.08 * unit
    cars = _row_of_cars(rng, width, kerb, unit, int(rng.integers(1, 5)))
    if not reachable_cars(cars, width):
        # Slide the row so that the handle nearest the middle comes to the middle.
        nearest = min(cars, key=lambda car: abs(car.handle[0] - width / 2))
        offset = width / 2 - nearest.handle[0]
        cars = tuple(replace(car, x=car.x + offset) for car in cars)
    horizon = max(height * 0.12, kerb - unit * rng.uniform(1.4, 2.6))
    return Layout(
        style="street",
        width=width,
        height=height,
        unit=unit,
        ground=ground,
        horizon=horizon,
        porch=None,
        box=None,
        cars=cars,
        far_cars=(),
    )


def _row_of_cars(
    rng: np.random.Generator, width: int, ground: float, unit: float, count: int
) -> tuple[Car, ...]:
    """`count` cars bumper to bumper with gaps, starting near the left edge (the first
    may be cut by it); cars wholly outside the scene are dropped."""
    cars = []
    x = rng.uniform(-0.6, 0.2) * 2.45 * unit
    for _ in range(count):
        length = 2.45 * unit * rng.uniform(0.92, 1.08)
        facing = 1 if rng.random() < 0.5 else -1
        car = Car(
            x,
            ground,
            length,
            unit * rng.uniform(0.95, 1.05),
            facing,
            pick_colour(rng, CAR_COLOURS, 10),
        )
        if car.x < width:
            cars.append(car)
        x += length + unit * rng.uniform(0.25, 1.0)
    return tuple(cars)


def reachable_cars(cars: tuple[Car, ...], width: int) -> tuple[Car, ...]:
    """Cars whose door handle lies in the middle 70 % of the scene: every camera sees it,
    and a person stopping there stays in view."""
    return tuple(car for car in cars if 0.15 * width <= car.handle[0] <= 0.85 * width)
