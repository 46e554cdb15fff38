"""One clip from start to finish: plan the scene, make its background, encode its frames
to MP4, write its sidecar.

x264 runs on one thread: workers give the parallelism, and the bitstream is then the same
whatever machine load or worker count made it.
"""

from __future__ import annotations

import math
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from vidonate.ingest.samples import test_media_dir
from vidonate.synth import backgrounds
from vidonate.synth.clip import (
    CONTAINER_COMMENT,
    DEFAULT_SECONDS,
    FILE_PREFIX,
    MARKER_TEXT,
    MAX_SECONDS,
    MIN_SECONDS,
    SynthClip,
    check_kind,
    sidecar_path,
    write_json,
)
from vidonate.synth.frames import Compositor, marker_box
from vidonate.synth.rig import Rig, RigOptics, aimed
from vidonate.synth.scene import Scene, plan_scene, streams
from vidonate.synth.script import PICK_UP, PUT_DOWN, TRY_HANDLE
from vidonate.synth.styles import get_style

ENCODER_OPTIONS = {"preset": "veryfast", "crf": "23", "g": "50"}


def resolve_media_dir(media_dir: Path | None) -> Path | None:
    """The footage folder backgrounds come from: `media_dir`, or the shared test media."""
    if media_dir is None:
        return test_media_dir()
    media_dir = Path(media_dir)
    if not media_dir.is_dir():
        raise FileNotFoundError(f"media folder {media_dir} does not exist")
    return media_dir


def check_seconds(seconds: float | tuple[float, float]) -> None:
    low, high = seconds if isinstance(seconds, tuple) else (seconds, seconds)
    if not MIN_SECONDS <= low <= high <= MAX_SECONDS:
        raise ValueError(
            f"clip lengths must lie within {MIN_SECONDS}-{MAX_SECONDS} s (low <= high), "
            f"not {seconds}"
        )


def render_clip(
    path: Path,
    kind: str,
    seed: int,
    *,
    style: str = "classic",
    camera_rig: bool | None = None,
    media_dir: Path | None = None,
    seconds: float | None = None,
) -> SynthClip:
    """Render one clip of `kind` from `seed` to `path` (an .mp4 whose name starts with
    "synthetic-"), with its sidecar beside it, drawn in `style` (see
    :mod:`vidonate.synth.styles`).

    `camera_rig` adds the per-clip camera variation (viewpoint, fisheye, night, 5-15 fps,
    compression, noise; :mod:`vidonate.synth.rig`); None leaves it to the style (on for
    all but "classic", whose default is the original clips). `seconds` is the exact
    length; None draws it from 6-14 s (raised if the scene needs longer). `media_dir`
    None uses the shared test media when present."""
    length = DEFAULT_SECONDS if seconds is None else float(seconds)
    return render_scene(
        path, kind, seed, resolve_media_dir(media_dir), length, style=style, camera_rig=camera_rig
    )


def render_scene(
    path: Path,
    kind: str,
    seed: int,
    media_dir: Path | None,
    seconds: float | tuple[float, float],
    *,
    style: str = "classic",
    camera_rig: bool | None = None,
    extra: dict[str, object] | None = None,
) -> SynthClip:
    """:func:`render_clip` with the media folder already resolved and `seconds` exact or a
    range; `extra` goes into the sidecar (what run the clip belongs to)."""
    path = Path(path)
    check_kind(kind)
    chosen = get_style(style)
    check_seconds(seconds)
    if not path.name.startswith(FILE_PREFIX) or path.suffix != ".mp4":
        raise ValueError(f"a synthetic clip's name must be {FILE_PREFIX}….mp4, not {path.name!r}")
    sources = backgrounds.available_sources(media_dir)
    scene = plan_scene(kind, seed, seconds, sources)
    painter = chosen.painter(scene, media_dir)
    background, background_record = painter.backdrop()
    rig = None
    if _wants_rig(chosen.camera_rig, camera_rig):
        rig = aimed(Rig.draw(streams(seed)["rig"]), action_points(scene), scene.width, scene.height)
    shown = scene if rig is None else filmed_at(scene, rig.fps)
    optics = None if rig is None else RigOptics(rig, scene.width, scene.height)
    compositor = Compositor(shown, background, painter, optics)
    crf = ENCODER_OPTIONS["crf"] if rig is None else str(rig.crf)
    _encode(path, shown, compositor, crf)
    sidecar = sidecar_path(path)
    look = {"name": style, **painter.record()}
    record = sidecar_record(scene, path, background_record, extra or {}, look, shown, optics)
    write_json(sidecar, record)
    return SynthClip(
        path=path,
        sidecar=sidecar,
        kind=kind,
        label=scene.label,
        events=scene.events,
        duration=shown.duration,
        style=style,
    )


def action_points(scene: Scene) -> list[tuple[float, float]]:
    """Where the scene's actions happen on its picture: the box on the porch, the
    person during pick-ups, put-downs and handle tries, the handle tried. A rig keeps
    them in view (:func:`~vidonate.synth.rig.aimed`)."""
    points: list[tuple[float, float]] = []
    layout = scene.layout
    if layout.box is not None:
        box = scene.on_screen(layout.box.extent())
        if box is not None:
            points.append(((box[0] + box[2]) / 2, (box[1] + box[3]) / 2))
    for index in range(0, scene.frames, 3):
        moment = scene.moments[index]
        person, seen = moment.person, scene.person_boxes[index]
        if moment.action not in (PICK_UP, PUT_DOWN, TRY_HANDLE) or seen is None:
            continue
        points.append(((seen[0] + seen[2]) / 2, (seen[1] + seen[3]) / 2))
        if person is not None and person.reach_to is not None:
            handle = scene.point_on_screen(person.reach_to)
            if handle is not None:
                points.append(handle)
    return points


def _wants_rig(style_default: bool, asked: bool | None) -> bool:
    return style_default if asked is None else asked


def filmed_at(scene: Scene, fps: int) -> Scene:
    """The scene as a camera running at `fps` records it: the same plan and events, its
    frames at that rate, at least as long as the plan (so every event lies inside)."""
    frames = max(1, math.ceil(scene.frames * fps / scene.fps - 1e-9))
    return replace(scene, fps=fps, frames=frames)


def _encode(path: Path, scene: Scene, compositor: Compositor, crf: str) -> None:
    with av.open(str(path), "w", format="mp4") as container:
        container.metadata["comment"] = CONTAINER_COMMENT
        container.metadata["title"] = f"{MARKER_TEXT}: {CONTAINER_COMMENT} ({scene.kind})"
        stream = container.add_stream(
            "libx264", rate=scene.fps, options={**ENCODER_OPTIONS, "crf": crf}
        )
        stream.width, stream.height, stream.pix_fmt = scene.width, scene.height, "yuv420p"
        stream.codec_context.thread_count = 1
        stream.codec_context.time_base = Fraction(1, scene.fps)
        for index in range(scene.frames):
            yuv: np.ndarray = cv2.cvtColor(compositor.frame(index), cv2.COLOR_RGB2YUV_I420)
            frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
            frame.pts = index
            frame.time_base = Fraction(1, scene.fps)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


def _rect(rect: tuple[float, float, float, float] | None) -> list[float] | None:
    return None if rect is None else [round(v, 1) for v in rect]


def _point(point: tuple[float, float] | None) -> list[float] | None:
    return None if point is None else [round(v, 1) for v in point]


def sidecar_record(
    scene: Scene,
    path: Path,
    background: dict[str, object],
    extra: dict[str, object],
    style: dict[str, object],
    shown: Scene,
    optics: RigOptics | None,
) -> dict[str, object]:
    """Everything a consumer needs about the clip, and everything that made it.

    `scene` is the plan (its events and timeline, in seconds); `shown` the same scene at
    the output's frame rate, and `optics` the camera rig's mapping, if any: frame counts,
    boxes and points are of the output."""
    layout = scene.layout

    def rect(r: tuple[float, float, float, float] | None) -> list[float] | None:
        return _rect(r if optics is None else optics.rect(r))

    def point(p: tuple[float, float] | None) -> list[float] | None:
        return _point(p if optics is None else optics.point(p))

    objects: dict[str, object] = {
        "box_on_porch": rect(scene.on_screen(layout.box.extent())) if layout.box else None,
        "door": rect(scene.on_screen(layout.porch.door)) if layout.porch else None,
        "cars": [rect(scene.on_screen(car.extent)) for car in layout.cars],
        "door_handles": [point(scene.point_on_screen(car.handle)) for car in layout.cars],
    }
    person_boxes = [rect(box) for box in shown.person_boxes]
    visible = [i for i, box in enumerate(person_boxes) if box is not None]
    exit_facing = scene.draft.legs[-1].facing
    entry_facing = scene.draft.legs[0].facing

    def side(facing: int, entering: bool) -> str:
        # Walking right enters on the left and leaves on the right; the flip mirrors it.
        right = (facing < 0) == entering
        return "right" if right != scene.camera.flip else "left"

    timing = scene.timing
    return {
        "synthetic": True,
        "file": path.name,
        "kind": scene.kind,
        "label": scene.label,
        "events": [{"start": e.start, "end": e.end, "label": e.label} for e in scene.events],
        "duration": shown.duration,
        "fps": shown.fps,
        "width": scene.width,
        "height": scene.height,
        "frames": shown.frames,
        "seed": scene.seed,
        "style": style["name"],
        **extra,
        "marker": {"text": MARKER_TEXT, "box": list(marker_box()), "comment": CONTAINER_COMMENT},
        "background": background,
        "variation": {
            "layout": layout.as_record(),
            "person": scene.look.as_record(),
            "walking_pace": round(scene.draft.pace * timing.walk_speedup, 4),
            "exit_pace": round(scene.draft.exit_pace * timing.walk_speedup, 4),
            "pace_unit": "person heights per second",
            "action_speedup": timing.action_speedup,
            "entry_side": side(entry_facing, True),
            "exit_side": side(exit_facing, False),
            "entry_delay": round(timing.entry_delay, 3),
            "camera": {
                **scene.camera.as_record(),
                "homography": [[round(float(v), 6) for v in row] for row in scene.homography],
                "rig": None if optics is None else optics.rig.as_record(),
            },
            "lighting": scene.lighting.as_record(),
            "style": style,
        },
        "timeline": [{"action": a, "start": s, "end": e} for a, s, e in scene.timeline],
        "in_view": [visible[0] / shown.fps, (visible[-1] + 1) / shown.fps] if visible else None,
        "objects": objects,
        "person_boxes": person_boxes,
    }
