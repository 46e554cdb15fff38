"""Where a walking, bending, reaching person's joints are: geometry only, no pixels.

A person is seen from the side, `unit` pixels tall, feet on the line `ground`. Angles of
limbs are measured from the vertical, positive towards where the person faces. Arms
with a target (a door handle, a box) are placed by two-link inverse kinematics; free arms
and the legs follow a walking cycle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

Point = tuple[float, float]

# Segment lengths as fractions of the person's height.
THIGH = 0.245
SHIN = 0.245
UPPER_ARM = 0.18
FOREARM = 0.19  # forearm and hand together
TORSO = 0.29  # hip to shoulder
NECK = 0.035
HEAD_RADIUS = 0.065
# One walking cycle (two steps) covers this many heights of ground.
CYCLE_LENGTH = 0.95
_SWING = 0.46  # thigh swing amplitude at full stride, radians
_MAX_LEAN = 1.15  # torso lean when bent fully down to the porch, radians


@dataclass(frozen=True)
class PersonState:
    """What a person is doing at one instant; `skeleton` turns it into joints."""

    x: float  # hip position, world pixels
    facing: int  # +1: faces (and walks) to the right of the world canvas, -1: to the left
    phase: float = 0.0  # walking cycle, radians
    stride: float = 0.0  # 0 standing still .. 1 full walking swing
    bend: float = 0.0  # 0 upright .. 1 bent down to something on the porch step
    reach_to: Point | None = None  # a door handle the near hand goes to
    reach: float = 0.0  # 0 arm swinging freely .. 1 hand on `reach_to`
    box_at: Point | None = None  # centre of the front face of a box the hands hold
    box_size: Point = (0.0, 0.0)  # that face's width and height, pixels
    grip: float = 0.0  # 0 arms free .. 1 both hands on the box at `box_at`
    carrying: bool = False  # the box moves with the person (drawn at `box_at`)


class Joints(NamedTuple):
    """Joint positions in world pixels; `near_*` limbs face the camera, `far_*` are behind."""

    head: Point
    neck: Point
    shoulder: Point
    hip: Point
    near_knee: Point
    near_foot: Point
    far_knee: Point
    far_foot: Point
    near_elbow: Point
    near_hand: Point
    far_elbow: Point
    far_hand: Point


def _limb(origin: Point, length: float, angle: float, facing: int) -> Point:
    """The end of a limb `length` long at `angle` from straight down, towards `facing`."""
    return (
        origin[0] + facing * length * math.sin(angle),
        origin[1] + length * math.cos(angle),
    )


def _lerp(a: Point, b: Point, t: float) -> Point:
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t)


def two_link(root: Point, target: Point, first: float, second: float, facing: int) -> Point:
    """The middle joint of a two-segment limb from `root` reaching for `target`; out of
    reach, the limb points straight at it. The joint bends down and backwards, as an elbow
    does when the hand reaches forward."""
    dx, dy = target[0] - root[0], target[1] - root[1]
    distance = math.hypot(dx, dy)
    reach = min(max(distance, abs(first - second) + 1e-6), first + second - 1e-6)
    base = math.atan2(dy, dx)
    cos_inner = (first**2 + reach**2 - second**2) / (2 * first * reach)
    inner = math.acos(max(-1.0, min(1.0, cos_inner)))
    candidates = [
        (root[0] + first * math.cos(base + s * inner), root[1] + first * math.sin(base + s * inner))
        for s in (1, -1)
    ]
    return max(candidates, key=lambda p: p[1] - facing * p[0])


def skeleton(state: PersonState, unit: float, ground: float) -> Joints:
    """Joint positions of a person `unit` pixels tall standing or walking on `ground`."""
    f = state.facing
    swing = _SWING * state.stride
    squat = state.bend

    def leg(phase: float) -> tuple[Point, Point]:
        # Knees flex most mid-swing (thigh moving forward, cos > 0), little in stance.
        thigh = swing * math.sin(phase) + 0.85 * squat
        flex = state.stride * (0.12 + 0.95 * max(0.0, math.cos(phase)) ** 1.5) + 1.45 * squat
        knee = _limb((0.0, 0.0), THIGH * unit, thigh, f)
        foot = _limb(knee, SHIN * unit, thigh - flex, f)
        return knee, foot

    near_knee, near_foot = leg(state.phase)
    far_knee, far_foot = leg(state.phase + math.pi)
    # The lower foot stands on the ground: the hip sits as high as that leg reaches.
    hip_height = max(near_foot[1], far_foot[1])
    hip = (state.x, ground - hip_height)

    def at_hip(p: Point) -> Point:
        return (hip[0] + p[0], hip[1] + p[1])

    lean = _MAX_LEAN * state.bend + 0.06 * state.stride
    axis = (f * math.sin(lean), -math.cos(lean))
    shoulder = (hip[0] + axis[0] * TORSO * unit, hip[1] + axis[1] * TORSO * unit)
    neck = (hip[0] + axis[0] * (TORSO + NECK) * unit, hip[1] + axis[1] * (TORSO + NECK) * unit)
    head_up = TORSO + NECK + HEAD_RADIUS
    head = (hip[0] + axis[0] * head_up * unit + f * 0.012 * unit, hip[1] + axis[1] * head_up * unit)

    def free_arm(phase: float) -> tuple[Point, Point]:
        # Arms swing against the leg on their side; they hang forward as the torso leans.
        upper = -0.75 * swing * math.sin(phase) + 0.8 * lean
        elbow = _limb(shoulder, UPPER_ARM * unit, upper, f)
        hand = _limb(elbow, FOREARM * unit, upper + 0.25 + 0.3 * state.stride, f)
        return elbow, hand

    def arm(phase: float, target: Point | None, weight: float) -> tuple[Point, Point]:
        elbow, hand = free_arm(phase)
        if target is None or weight <= 0:
            return elbow, hand
        goal = _lerp(hand, target, min(1.0, weight))
        elbow = two_link(shoulder, goal, UPPER_ARM * unit, FOREARM * unit, f)
        return elbow, _toward(elbow, goal, FOREARM * unit)

    near_target, near_weight = state.reach_to, state.reach
    far_target, far_weight = None, 0.0
    if state.box_at is not None and state.grip > 0:
        grip = box_grip(state.box_at, state.box_size, f)
        near_target, near_weight = grip, state.grip
        far_target, far_weight = (grip[0] - f * 0.02 * unit, grip[1] - 0.02 * unit), state.grip
    near_elbow, near_hand = arm(state.phase + math.pi, near_target, near_weight)
    far_elbow, far_hand = arm(state.phase, far_target, far_weight)
    return Joints(
        head=head,
        neck=neck,
        shoulder=shoulder,
        hip=hip,
        near_knee=at_hip(near_knee),
        near_foot=at_hip(near_foot),
        far_knee=at_hip(far_knee),
        far_foot=at_hip(far_foot),
        near_elbow=near_elbow,
        near_hand=near_hand,
        far_elbow=far_elbow,
        far_hand=far_hand,
    )


def _toward(origin: Point, target: Point, length: float) -> Point:
    """The point `length` from `origin` in the direction of `target` (the hand stops there
    when the target is out of reach)."""
    dx, dy = target[0] - origin[0], target[1] - origin[1]
    distance = math.hypot(dx, dy) or 1.0
    scale = min(1.0, length / distance)
    return (origin[0] + dx * scale, origin[1] + dy * scale)


def box_grip(box_at: Point, box_size: Point, facing: int) -> Point:
    """Where the hands hold a box whose front face is centred on `box_at`: low on its side
    away from the body, as one carries a parcel against the belly."""
    return (box_at[0] + facing * 0.3 * box_size[0], box_at[1] + 0.25 * box_size[1])


def carry_position(state: PersonState, unit: float, ground: float, box_size: Point) -> Point:
    """Centre of a carried box's front face: in front of the belly, below the chest."""
    joints = skeleton(
        PersonState(x=state.x, facing=state.facing, phase=state.phase, stride=state.stride),
        unit,
        ground,
    )
    width, height = box_size
    return (
        joints.shoulder[0] + state.facing * (0.07 * unit + width / 2),
        joints.shoulder[1] + 0.2 * unit + height * 0.1,
    )


def person_extent(joints: Joints, unit: float) -> tuple[float, float, float, float]:
    """Bounding box (x0, y0, x1, y1) of the drawn person, limbs' thickness included."""
    xs = [p[0] for p in joints]
    ys = [p[1] for p in joints]
    pad = 0.08 * unit
    return (
        min(xs) - pad,
        min(joints.head[1] - HEAD_RADIUS * unit * 1.3, *ys) - pad * 0.3,
        max(xs) + pad,
        max(ys) + pad * 0.5,
    )
