"""The plan of one clip, decided from its seed before any pixel is drawn: layout, person,
route and timing, camera, light, background source; and what follows from them frame by
frame: where the person is on screen, the timeline of actions, and the labelled events.

Each kind of decision draws from its own random stream (split from the seed), so fixing
one thing (the clip's length, say) leaves all the others as they were.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np

from vidonate.synth.backgrounds import choose_source
from vidonate.synth.clip import FPS, HEIGHT, LABEL_OF_KIND, WIDTH, SynthEvent, check_kind
from vidonate.synth.layout import Layout, porch_layout, street_layout
from vidonate.synth.pose import person_extent, skeleton
from vidonate.synth.script import (
    PICK_UP,
    TRY_HANDLE,
    Draft,
    Moment,
    Timing,
    draft_route,
    moment,
    time_route,
)
from vidonate.synth.variation import Camera, Lighting, Look

_STREAMS = (
    "duration",
    "background",
    "layout",
    "route",
    "look",
    "camera",
    "lighting",
    "timing",
    "noise",
    "crop",
    # Appended, never inserted: a stream's draws depend on its place in this list.
    "rig",
    "rig_noise",
    "style",
)
Rect = tuple[float, float, float, float]


def streams(seed: int) -> dict[str, np.random.Generator]:
    """One independent generator per kind of decision, all from `seed`."""
    children = np.random.SeedSequence(seed).spawn(len(_STREAMS))
    return {
        name: np.random.default_rng(child) for name, child in zip(_STREAMS, children, strict=True)
    }


@dataclass(frozen=True)
class Scene:
    """Everything decided about one clip."""

    kind: str
    seed: int
    frames: int
    layout: Layout
    look: Look
    camera: Camera
    lighting: Lighting
    background: str  # a media file's name, or "procedural"
    draft: Draft
    timing: Timing
    fps: int = FPS
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def label(self) -> str:
        return LABEL_OF_KIND[self.kind]

    @property
    def duration(self) -> float:
        return self.frames / self.fps

    @cached_property
    def homography(self) -> np.ndarray:
        """Composed-scene pixels to output pixels."""
        return self.camera.homography(self.width, self.height)

    @cached_property
    def moments(self) -> tuple[Moment, ...]:
        """The scene at each frame's time."""
        return tuple(
            moment(self.timing, self.layout, self.kind, i / self.fps) for i in range(self.frames)
        )

    def person_world_extent(self, index: int) -> Rect | None:
        """The person (and a box they hold) in composed-scene pixels, at frame `index`."""
        person = self.moments[index].person
        if person is None:
            return None
        unit = self.layout.unit
        x0, y0, x1, y1 = person_extent(skeleton(person, unit, self.layout.ground), unit)
        box = self.layout.box
        if person.carrying and person.box_at is not None and box is not None:
            bx0, by0, bx1, by1 = box.extent(person.box_at)
            x0, y0, x1, y1 = min(x0, bx0), min(y0, by0), max(x1, bx1), max(y1, by1)
        return (x0, y0, x1, y1)

    def to_screen(self, rect: Rect) -> Rect:
        """The output-pixel bounding box of a composed-scene rectangle (not clipped)."""
        x0, y0, x1, y1 = rect
        corners = np.array([[[x0, y0], [x1, y0], [x1, y1], [x0, y1]]], np.float64)
        mapped = cv2.perspectiveTransform(corners, self.homography)[0]
        return (
            float(mapped[:, 0].min()),
            float(mapped[:, 1].min()),
            float(mapped[:, 0].max()),
            float(mapped[:, 1].max()),
        )

    def on_screen(self, rect: Rect) -> Rect | None:
        """`rect` mapped to the output and clipped to it; None if none of it is visible."""
        x0, y0, x1, y1 = self.to_screen(rect)
        x0, y0 = max(0.0, x0), max(0.0, y0)
        x1, y1 = min(float(self.width), x1), min(float(self.height), y1)
        return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None

    def point_on_screen(self, point: tuple[float, float]) -> tuple[float, float] | None:
        """A composed-scene point in output pixels; None if it is out of view."""
        mapped = cv2.perspectiveTransform(np.array([[point]], np.float64), self.homography)
        x, y = (float(v) for v in mapped[0, 0])
        return (x, y) if 0 <= x < self.width and 0 <= y < self.height else None

    @cached_property
    def person_boxes(self) -> tuple[Rect | None, ...]:
        """Where the person is on screen at each frame, None when not in view."""
        boxes = []
        for index in range(self.frames):
            extent = self.person_world_extent(index)
            boxes.append(None if extent is None else self.on_screen(extent))
        return tuple(boxes)

    @cached_property
    def events(self) -> tuple[SynthEvent, ...]:
        """The labelled action, in frame times (see :class:`~vidonate.synth.clip.SynthEvent`).

        package_theft: one event, from the first frame of the pick-up (the person has
        reached the box and bends for it) to the first frame after it in which no part
        of the person or the box is in view. car_door_tampering: one event per stop, from
        the first frame standing at the car (the hand then goes to the handle, tugs and
        comes back) to the first frame walking on. Other kinds: none.
        """
        actions = [m.action for m in self.moments]
        if self.kind == "package_theft":
            start = actions.index(PICK_UP) if PICK_UP in actions else None
            if start is None:
                return ()
            end = next(
                (i for i in range(start, self.frames) if self.person_boxes[i] is None),
                self.frames,
            )
            return (SynthEvent(start / self.fps, end / self.fps, self.label),)
        if self.kind == "car_door_tampering":
            return tuple(
                SynthEvent(a / self.fps, b / self.fps, self.label)
                for action, a, b in _runs(actions)
                if action == TRY_HANDLE
            )
        return ()

    @cached_property
    def timeline(self) -> tuple[tuple[str, float, float], ...]:
        """(action, start, end) runs that partition the clip: absent, walk, pick_up,
        put_down, try_handle."""
        return tuple(
            (action, a / self.fps, b / self.fps)
            for action, a, b in _runs([m.action for m in self.moments])
        )


def _runs(values: list[str]) -> list[tuple[str, int, int]]:
    """Maximal runs of equal values as (value, first index, index after the last)."""
    runs: list[tuple[str, int, int]] = []
    for index, value in enumerate(values):
        if runs and runs[-1][0] == value:
            runs[-1] = (value, runs[-1][1], index + 1)
        else:
            runs.append((value, index, index + 1))
    return runs


def background_source(seed: int, sources: tuple[str, ...]) -> str:
    """Which of `sources` (or procedural) the clip seeded `seed` takes its background from."""
    return choose_source(streams(seed)["background"], sources)


def plan_scene(
    kind: str,
    seed: int,
    seconds: float | tuple[float, float],
    sources: tuple[str, ...] = (),
) -> Scene:
    """Decide everything about a clip of `kind` from `seed`.

    `seconds` is the exact length, or a range: a length is drawn from it and raised (up to
    the range's top) if the route needs longer at its natural pace. `sources` are the
    media files a background may come from (none: procedural).
    """
    check_kind(kind)
    rng = streams(seed)
    if kind in ("package_theft", "delivery"):
        style = "porch"
    elif kind == "car_door_tampering":
        style = "street"
    else:
        style = "porch" if rng["layout"].random() < 0.5 else "street"
    if style == "porch":
        with_box = kind != "passer_by" or rng["layout"].random() < 0.6
        far_cars = bool(rng["layout"].random() < 0.5)
        layout = porch_layout(rng["layout"], WIDTH, HEIGHT, with_box=with_box, far_cars=far_cars)
    else:
        layout = street_layout(rng["layout"], WIDTH, HEIGHT)
    draft = draft_route(kind, layout, rng["route"])
    if isinstance(seconds, tuple):
        low, high = seconds
        drawn = float(rng["duration"].uniform(low, high))
        length = min(high, max(drawn, draft.natural_seconds()))
    else:
        length = float(seconds)
    frames = max(1, round(length * FPS))
    return Scene(
        kind=kind,
        seed=seed,
        frames=frames,
        layout=layout,
        look=Look.draw(rng["look"]),
        camera=Camera.draw(rng["camera"]),
        lighting=Lighting.draw(rng["lighting"]),
        background=background_source(seed, sources),
        draft=draft,
        timing=time_route(draft, frames / FPS, rng["timing"]),
    )
