"""What the person does and when: a route of walks and actions, timed to fit the clip.

A :class:`Draft` is the route without times (where the person enters, where they stop, what
they do there, how fast they walk); it does not depend on the clip's length. :func:`time_route`
fits it into a clip: walks slower than the natural pace never happen, but a clip too short
for it makes actions quicker (down to 60 %) and then the walking faster. Whatever time is
left over is split at random before the person enters and after they leave, which moves
the event around within the clip.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from vidonate.synth.layout import Car, Layout, reachable_cars
from vidonate.synth.pose import CYCLE_LENGTH, PersonState, carry_position, skeleton

WALK = "walk"
PICK_UP = "pick_up"
PUT_DOWN = "put_down"
TRY_HANDLE = "try_handle"
# Standing still without touching anything: waiting, glancing back, on the phone. Only
# passers-by wait; they are the normal activity a detector must not mistake for tampering.
WAIT = "wait"
# What a waiting person does with their time.
GESTURES = ("", "look_back", "phone")
# Least time the scene stays empty after the person has left.
TAIL_SECONDS = 0.4
# Actions may be sped up to this fraction of their drawn length to fit a short clip.
_FASTEST_ACTION = 0.6
# The most of a too-short clip that actions may take, sped up beyond `_FASTEST_ACTION`.
_ACTING_SHARE = 0.6
# Walking slows to a stop (and starts again) over this many seconds around an action.
_STOPPING = 0.35
# When the hands close on (or let go of) the box, as a fraction of a pick-up (put-down).
GRASP = 0.45


@dataclass(frozen=True)
class Leg:
    """One part of the route: a walk from `x_from` to `x_to`, or an action at `x_from`."""

    action: str
    x_from: float
    x_to: float
    facing: int
    carrying: bool  # holds the box (for actions: at their start)
    seconds: float = 0.0  # for actions: how long it takes at its natural pace
    leaving: bool = False  # for walks: after the event (walked at the exit pace)
    target: tuple[float, float] | None = None  # for try_handle: the handle
    gesture: str = ""  # for wait: one of GESTURES


@dataclass(frozen=True)
class Draft:
    """A route and the paces it is walked at, in person heights per second."""

    legs: tuple[Leg, ...]
    pace: float
    exit_pace: float
    unit: float

    def natural_seconds(self) -> float:
        """How long the route takes at its natural pace, plus the empty tail."""
        walking = sum(self._walk_seconds(leg) for leg in self.legs if leg.action == WALK)
        return walking + sum(leg.seconds for leg in self.legs) + TAIL_SECONDS

    def _walk_seconds(self, leg: Leg, speedup: float = 1.0) -> float:
        pace = self.exit_pace if leg.leaving else self.pace
        return abs(leg.x_to - leg.x_from) / (pace * self.unit * speedup)


@dataclass(frozen=True)
class Segment:
    """A leg of the route with its time span, in seconds from the clip's start."""

    leg: Leg
    start: float
    end: float
    distance_before: float  # pixels walked before this segment (drives the walking cycle)


@dataclass(frozen=True)
class Timing:
    """How a draft was fitted into a clip."""

    segments: tuple[Segment, ...]
    entry_delay: float  # seconds before the person starts walking in (from off-scene)
    action_speedup: float  # 1.0: actions at their natural pace
    walk_speedup: float  # 1.0: walks at their natural pace


def draft_route(kind: str, layout: Layout, rng: np.random.Generator) -> Draft:
    """The route of a scene of `kind`: who enters from which side, where they stop, what
    they do. Kinds and layouts must match (package scenes need a porch, tampering cars)."""
    unit, width = layout.unit, layout.width
    facing = 1 if rng.random() < 0.5 else -1
    off = 0.85 * unit  # beyond this the person, with a box, is wholly off the scene
    enter_x = -off if facing > 0 else width + off

    def exit_x(direction: int) -> float:
        return width + off if direction > 0 else -off

    pace = float(rng.uniform(0.55, 1.0))
    exit_pace = pace * float(rng.uniform(0.95, 1.45))
    legs: list[Leg] = []
    if kind in ("package_theft", "delivery"):
        box = layout.box
        if box is None:
            raise ValueError(f"a {kind} scene needs a box on the porch")
        stand = box.x + facing * (0.3 * box.width - 0.365 * unit)
        theft = kind == "package_theft"
        action = PICK_UP if theft else PUT_DOWN
        seconds = float(rng.uniform(1.3, 2.2) if theft else rng.uniform(1.2, 2.0))
        away = facing if rng.random() < 0.6 else -facing
        legs = [
            Leg(WALK, enter_x, stand, facing, carrying=not theft),
            Leg(action, stand, stand, facing, carrying=not theft, seconds=seconds),
            Leg(WALK, stand, exit_x(away), away, carrying=theft, leaving=True),
        ]
    elif kind == "car_door_tampering":
        cars = _cars_in_walking_order(layout, facing)
        if not cars:
            raise ValueError("a tampering scene needs a car whose handle is in view")
        wanted = int(rng.choice([1, 2, 3], p=[0.4, 0.35, 0.25]))
        chosen = sorted(rng.choice(len(cars), size=min(wanted, len(cars)), replace=False).tolist())
        x = enter_x
        for index in chosen:
            handle = cars[index].handle
            stand = handle[0] - facing * 0.2 * unit
            legs.append(Leg(WALK, x, stand, facing, carrying=False))
            legs.append(
                Leg(
                    TRY_HANDLE,
                    stand,
                    stand,
                    facing,
                    carrying=False,
                    seconds=float(rng.uniform(1.3, 2.8)),
                    target=handle,
                )
            )
            x = stand
        legs.append(Leg(WALK, x, exit_x(facing), facing, carrying=False, leaving=True))
    elif kind == "passer_by":
        legs = _stroll(layout, rng, facing, enter_x, exit_x)
        exit_pace = pace
    else:
        raise ValueError(f"unknown kind of scene {kind!r}")
    return Draft(legs=tuple(legs), pace=pace, exit_pace=exit_pace, unit=unit)


def _stroll(
    layout: Layout,
    rng: np.random.Generator,
    facing: int,
    enter_x: float,
    exit_x: Callable[[int], float],
) -> list[Leg]:
    """A passer-by's route. Real passers-by do not all walk straight through: some stop
    for a while (looking back, on the phone), some turn back, some linger beside parked
    cars without touching them. Without these the detector learns that anyone who stops
    near a car is trying its doors."""
    width, unit = layout.width, layout.unit
    cars = _cars_in_walking_order(layout, facing)
    style = str(rng.choice(["through", "pause", "turn_back", "by_cars"], p=[0.3, 0.25, 0.2, 0.25]))
    if style == "by_cars" and not cars:
        style = "pause"

    def wait(x: float, low: float, high: float) -> Leg:
        gesture = str(rng.choice(GESTURES))
        seconds = float(rng.uniform(low, high))
        return Leg(WAIT, x, x, facing, carrying=False, seconds=seconds, gesture=gesture)

    if style == "through":
        return [Leg(WALK, enter_x, exit_x(facing), facing, carrying=False)]
    if style == "by_cars":
        count = int(rng.choice([1, 2], p=[0.6, 0.4]))
        chosen = sorted(rng.choice(len(cars), size=min(count, len(cars)), replace=False).tolist())
        legs, x = [], enter_x
        for index in chosen:
            # Beside the car, at about the distance a hand on the handle would need, or a
            # step further away: the hands stay by the body (or go to the phone).
            stand = cars[index].handle[0] - facing * float(rng.uniform(0.15, 0.6)) * unit
            legs += [Leg(WALK, x, stand, facing, carrying=False), wait(stand, 1.0, 3.5)]
            x = stand
        return [*legs, Leg(WALK, x, exit_x(facing), facing, carrying=False)]
    # "pause" walks on after a wait; "turn_back" waits less and leaves the way it came.
    stop = float(rng.uniform(0.25, 0.75)) * width
    away = -facing if style == "turn_back" else facing
    low, high = (0.3, 2.0) if style == "turn_back" else (0.8, 4.0)
    return [
        Leg(WALK, enter_x, stop, facing, carrying=False),
        wait(stop, low, high),
        Leg(WALK, stop, exit_x(away), away, carrying=False),
    ]


def _cars_in_walking_order(layout: Layout, facing: int) -> list[Car]:
    """The cars whose handle is in view, in the order a person walking ``facing`` meets them."""
    return sorted(reachable_cars(layout.cars, layout.width), key=lambda car: facing * car.handle[0])


def time_route(draft: Draft, seconds: float, rng: np.random.Generator) -> Timing:
    """Fit the route into a clip `seconds` long, quickening it only if it must."""
    walking = sum(draft._walk_seconds(leg) for leg in draft.legs if leg.action == WALK)
    acting = sum(leg.seconds for leg in draft.legs)
    room = seconds - TAIL_SECONDS
    action_speedup = walk_speedup = 1.0
    if walking + acting > room:
        # Quicker actions first (down to 60 %), then faster walking for the rest; in a
        # clip too short even for that, actions get at most 60 % of it, walks the rest.
        action_speedup = min(1 / _FASTEST_ACTION, max(1.0, acting / max(room - walking, 1e-6)))
        action_speedup = max(action_speedup, acting / (_ACTING_SHARE * room))
        acting /= action_speedup
        if walking + acting > room:
            walk_speedup = walking / (room - acting)
            walking /= walk_speedup
    slack = max(0.0, room - walking - acting)
    delay = slack * float(rng.uniform(0.0, 1.0))
    segments = []
    clock, walked = delay, 0.0
    for leg in draft.legs:
        if leg.action == WALK:
            span = draft._walk_seconds(leg, walk_speedup)
        else:
            span = leg.seconds / action_speedup
        segments.append(Segment(leg, clock, clock + span, walked))
        clock += span
        walked += abs(leg.x_to - leg.x_from)
    return Timing(tuple(segments), delay, round(action_speedup, 4), round(walk_speedup, 4))


def _smooth(t: float) -> float:
    """0 → 1 with zero slope at both ends (t clipped to 0..1)."""
    t = min(1.0, max(0.0, t))
    return t * t * (3 - 2 * t)


def _ramp(p: float, up: tuple[float, float], down: tuple[float, float] | None = None) -> float:
    """Rises over `up`, stays at 1, falls over `down` (all fractions of an action)."""
    value = _smooth((p - up[0]) / (up[1] - up[0]))
    if down is not None:
        value *= 1 - _smooth((p - down[0]) / (down[1] - down[0]))
    return value


@dataclass(frozen=True)
class Moment:
    """The scene at one instant: the person (None when not on the scene yet or any more),
    whether the box stands on the porch, and what the person is doing."""

    person: PersonState | None
    box_on_porch: bool
    action: str  # a leg's action, or "absent"


def moment(timing: Timing, layout: Layout, kind: str, t: float) -> Moment:
    """The scene of a `kind` clip at time `t`."""
    box = layout.box
    segments = timing.segments
    # The box stands on the porch before a theft's grasp, after a delivery's release, and
    # all along when it is a passer-by's distractor.
    if kind == "package_theft":
        grasp = segments[1].start + GRASP * (segments[1].end - segments[1].start)
        on_porch = t < grasp
    elif kind == "delivery":
        release = segments[1].start + GRASP * (segments[1].end - segments[1].start)
        on_porch = t >= release
    else:
        on_porch = box is not None
    if t < segments[0].start or t >= segments[-1].end:
        return Moment(None, on_porch, "absent")
    segment = next(s for s in segments if s.start <= t < s.end)
    leg = segment.leg
    unit, ground = layout.unit, layout.ground
    span = max(segment.end - segment.start, 1e-9)
    p = (t - segment.start) / span
    if leg.action == WALK:
        x = leg.x_from + (leg.x_to - leg.x_from) * p
        walked = segment.distance_before + abs(x - leg.x_from)
        index = segments.index(segment)
        # Slow the swing to standing before an action, and pick it up after one.
        stride = 1.0
        if index + 1 < len(segments):
            stride = min(stride, _smooth((segment.end - t) / _STOPPING))
        if index > 0:
            stride = min(stride, _smooth((t - segment.start) / _STOPPING))
        person = PersonState(
            x=x,
            facing=leg.facing,
            phase=2 * math.pi * walked / (CYCLE_LENGTH * unit),
            stride=max(stride, 0.0),
        )
        if leg.carrying and box is not None:
            size = (box.width, box.height)
            person = _holding(person, carry_position(person, unit, ground, size), size, True)
        return Moment(person, on_porch, WALK)
    phase = 2 * math.pi * segment.distance_before / (CYCLE_LENGTH * unit)
    standing = PersonState(x=leg.x_from, facing=leg.facing, phase=phase)
    if leg.action == TRY_HANDLE and leg.target is not None:
        reach = _ramp(p, (0.05, 0.3), (0.8, 0.97))
        # Tugging at the handle: small pulls while the hand is on it.
        tug = 0.012 * unit * math.sin(2 * math.pi * 2.5 * (t - segment.start)) * reach
        target = (leg.target[0] - leg.facing * abs(tug), leg.target[1] + tug * 0.5)
        person = PersonState(
            x=standing.x,
            facing=leg.facing,
            phase=phase,
            bend=0.06 * reach,
            reach_to=target,
            reach=reach,
        )
        return Moment(person, on_porch, TRY_HANDLE)
    if leg.action == WAIT:
        return Moment(_waiting(standing, leg.gesture, p, unit, ground), on_porch, WAIT)
    if box is None:
        raise ValueError(f"{leg.action} needs a box")
    size = (box.width, box.height)
    bend = _ramp(p, (0.0, 0.4), (0.55, 1.0))
    bent = PersonState(x=standing.x, facing=leg.facing, phase=phase, bend=bend)
    carried = carry_position(bent, unit, ground, size)
    if leg.action == PICK_UP:
        grip = _ramp(p, (0.1, 0.4))
        lift = _smooth((p - 0.55) / 0.45)
        at = _lerp(box.centre, carried, lift)
        return Moment(_holding(bent, at, size, p >= GRASP, grip), on_porch, PICK_UP)
    # Put-down: the same motion backwards, letting go instead of grasping.
    grip = 1 - _ramp(p, (0.6, 0.9))
    lower = _smooth(p / 0.45)
    at = _lerp(carried, box.centre, lower)
    return Moment(_holding(bent, at, size, p < GRASP, grip), on_porch, PUT_DOWN)


def _waiting(
    standing: PersonState, gesture: str, p: float, unit: float, ground: float
) -> PersonState:
    """A person standing still, `p` of the way through the wait: glancing back over the
    shoulder in its middle, or holding a phone to the ear."""
    if gesture == "look_back":
        return replace(standing, facing=-standing.facing) if 0.35 <= p < 0.65 else standing
    if gesture == "phone":
        head = skeleton(standing, unit, ground).head
        ear = (head[0] - standing.facing * 0.01 * unit, head[1] + 0.03 * unit)
        return replace(standing, reach_to=ear, reach=_ramp(p, (0.05, 0.25), (0.8, 0.97)))
    return standing


def _holding(
    person: PersonState,
    at: tuple[float, float],
    size: tuple[float, float],
    carrying: bool,
    grip: float = 1.0,
) -> PersonState:
    """The person with their hands on the box at `at` (`grip` of the way there)."""
    return replace(person, box_at=at, box_size=size, grip=grip, carrying=carrying)


def _lerp(a: tuple[float, float], b: tuple[float, float], t: float) -> tuple[float, float]:
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t)
