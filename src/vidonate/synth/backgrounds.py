"""Backgrounds: stills made from the real footage (faces and text redacted first), or
procedural ones drawn from the seed when there is none.

A video becomes a still by the per-pixel median of frames spread over it (people walking
through disappear), or by one chosen frame where the camera moves; a photo is its own
still. Each still goes through vidonate's own redaction once, the same CenterFace face and
PP-OCR text detection and mosaic that donated clips get, before any clip sees it. A clip
then uses a random 16:9 crop of it, scaled to the output size.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np
from PIL import Image

from vidonate.ingest.faces import detect_faces
from vidonate.ingest.redact import RedactionReport, RedactionSettings, pixelate, redaction_stage
from vidonate.ingest.text import detect_text
from vidonate.synth.layout import Layout

PROCEDURAL = "procedural"


@dataclass(frozen=True)
class Recipe:
    """How one media file becomes a still, and how often clips use it."""

    name: str
    method: str  # "median" (of `frames` frames spread over the video), "frame", "photo"
    frames: int  # median: how many frames; frame: which one
    weight: float  # relative chance a clip uses it


# Files of the shared test media that make plausible backdrops. Left out: Megamind.avi and
# carphone_pristine.mp4 (a face fills the picture), messi5.jpg (players fill it),
# licenseplate_motion.jpg (one car's rear fills it).
RECIPES: tuple[Recipe, ...] = (
    Recipe("vtest.avi", "median", 25, 3.0),  # fixed camera over a campus: pedestrians vanish
    Recipe("bikes.mp4", "frame", 140, 1.0),  # a street with parked cars; the camera pans
    Recipe("bigbuckbunny.mp4", "frame", 0, 1.0),
    Recipe("home.jpg", "photo", 0, 1.0),
    Recipe("box_in_scene.png", "photo", 0, 1.0),
)
PROCEDURAL_WEIGHT = 3.0
# Stills are also searched enlarged to this longest side (at most 3×): a crop enlarges
# them on screen, and text a few pixels tall (a sign in vtest.avi) that the detectors
# miss at the ingest's 640 px becomes legible there. It costs seconds, once per still.
_SWEEP_SIDE = 2400
_PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})


@dataclass(frozen=True)
class Still:
    """A redacted still made from one media file."""

    source: str  # the file's name
    method: str  # how it was made, e.g. "median of 25 frames"
    image: np.ndarray  # RGB uint8, even width and height
    faces: int  # faces the redaction pixelated
    text: int  # text regions the redaction pixelated


_cache: dict[tuple[str, str], Still] = {}
_cache_lock = threading.Lock()


def available_sources(media_dir: Path | None) -> tuple[str, ...]:
    """The recipes' files present in `media_dir`, in recipe order."""
    if media_dir is None:
        return ()
    return tuple(r.name for r in RECIPES if (media_dir / r.name).is_file())


def choose_source(rng: np.random.Generator, sources: tuple[str, ...]) -> str:
    """A background source for one clip: one of `sources` or procedural, by weight."""
    weights = {r.name: r.weight for r in RECIPES}
    names = [*sources, PROCEDURAL]
    chances = np.array([weights.get(n, 1.0) for n in sources] + [PROCEDURAL_WEIGHT])
    return names[int(rng.choice(len(names), p=chances / chances.sum()))]


def media_still(media_dir: Path, name: str) -> Still:
    """The redacted still of `media_dir/name`, made once per process and then cached.

    Works for any photo or video, not only the recipes' (others: median of 25 frames)."""
    key = (str(media_dir.resolve()), name)
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    recipe = next((r for r in RECIPES if r.name == name), None)
    path = media_dir / name
    if path.suffix.lower() in _PHOTO_SUFFIXES:
        recipe = Recipe(name, "photo", 0, 1.0)
    elif recipe is None:
        recipe = Recipe(name, "median", 25, 1.0)
    rgb, method = _raw_still(path, recipe)
    rgb = np.ascontiguousarray(rgb[: rgb.shape[0] // 2 * 2, : rgb.shape[1] // 2 * 2])
    redacted, report = redact_still(rgb)
    still = Still(name, method, redacted, report.face_detections, report.text_detections)
    with _cache_lock:
        _cache[key] = still
    return still


def preload(media_dir: Path, stills: list[Still]) -> None:
    """Put stills made elsewhere (by the parent of worker processes) into this process's
    cache, so that each is made only once per run."""
    with _cache_lock:
        for still in stills:
            _cache[(str(media_dir.resolve()), still.source)] = still


def redact_still(rgb: np.ndarray) -> tuple[np.ndarray, RedactionReport]:
    """`rgb` with faces and text pixelated: first by vidonate's ingest redaction, run on it
    as a one-frame clip (both detectors run on a clip's first frame), then by the same
    detectors and mosaic on the still enlarged, for what is too small at ingest size."""
    settings = RedactionSettings()
    report = RedactionReport()
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
    (redacted,) = list(redaction_stage(settings, report)(iter([frame])))
    height, width = rgb.shape[:2]
    scale = min(3.0, _SWEEP_SIDE / max(height, width))
    if scale > 1.2:
        big = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        faces = detect_faces(big, settings.face_threshold)
        text = detect_text(big, settings.text_threshold)
        report.face_detections += len(faces)
        report.text_detections += len(text)
        boxes = np.concatenate(
            [
                _mosaic_boxes(faces, scale, settings.mosaic_blocks, settings.min_block),
                _mosaic_boxes(text, scale, settings.text_blocks, settings.min_block),
            ]
        )
        if len(boxes):
            pixelate(redacted, boxes, settings.dilation)
            report.frames_redacted = 1
    return redacted.to_ndarray(format="rgb24"), report


def _mosaic_boxes(found: np.ndarray, scale: float, blocks: int, min_block: int) -> np.ndarray:
    """Detections on the enlarged still as :func:`pixelate` boxes on the still: corners
    scaled back, and a block side that puts `blocks` blocks across the shorter side (as
    the ingest stage sizes them)."""
    boxes = np.empty((len(found), 5), np.float32)
    boxes[:, :4] = found[:, :4] / scale
    short = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    boxes[:, 4] = np.maximum(min_block, 2 * np.ceil(short / blocks / 2))
    return boxes


def _raw_still(path: Path, recipe: Recipe) -> tuple[np.ndarray, str]:
    if recipe.method == "photo":
        return np.asarray(Image.open(path).convert("RGB")), "photo"
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        total = stream.frames or sum(1 for _ in container.decode(stream))
    if recipe.method == "frame":
        wanted = {min(recipe.frames, total - 1)}
    else:
        wanted = {round(i) for i in np.linspace(0, total - 1, min(recipe.frames, total))}
    frames: list[np.ndarray] = []
    with av.open(str(path)) as container:
        for index, frame in enumerate(container.decode(container.streams.video[0])):
            if index in wanted:
                frames.append(frame.to_ndarray(format="rgb24"))
            if index >= max(wanted):
                break
    if recipe.method == "frame":
        return frames[0], f"frame {min(wanted)}"
    stack = np.stack(frames)
    # The median of an odd count is a real pixel value; of an even count, a rounded mean.
    return np.median(stack, axis=0).round().astype(np.uint8), f"median of {len(frames)} frames"


def crop(
    still: np.ndarray, rng: np.random.Generator, width: int, height: int
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A random crop of the still with the output's aspect ratio (60-100 % of the largest
    such crop), scaled to `width` × `height`; and the crop as x, y, w, h in the still."""
    rows, cols = still.shape[:2]
    aspect = width / height
    full_w = min(cols, rows * aspect)
    scale = float(rng.uniform(0.6, 1.0))
    crop_w = max(2, int(full_w * scale))
    crop_h = max(2, min(rows, round(crop_w / aspect)))
    x = int(rng.integers(0, cols - crop_w + 1))
    y = int(rng.integers(0, rows - crop_h + 1))
    region = still[y : y + crop_h, x : x + crop_w]
    interpolation = cv2.INTER_AREA if crop_w > width else cv2.INTER_CUBIC
    return cv2.resize(region, (width, height), interpolation=interpolation), (x, y, crop_w, crop_h)


def _texture(
    rng: np.random.Generator, shape: tuple[int, int], cells: tuple[int, int]
) -> np.ndarray:
    """Smooth random variation around 0 (roughly -1..1), from a coarse grid enlarged."""
    coarse = rng.uniform(-1, 1, (cells[1], cells[0])).astype(np.float32)
    return cv2.resize(coarse, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)


def procedural(rng: np.random.Generator, layout: Layout) -> np.ndarray:
    """A plausible outdoor backdrop lined up with the layout: sky, a far row of trees and
    houses on the horizon, lawn, a road whose kerb is behind the cars (or the path), and
    the pavement the person walks on."""
    canvas = _sky_and_skyline(rng, layout)
    _ground_band(canvas, rng, layout, road=True)
    return _light_and_grain(canvas, rng, 0)


def grounded(photo: np.ndarray, rng: np.random.Generator, layout: Layout) -> np.ndarray:
    """A real backdrop with the near ground laid over its lower part: the pavement the
    person walks on and, where cars park, the road behind it. The photo stays the far
    scenery, so cars stand on a road and people on a pavement whatever it shows."""
    canvas = photo.copy()
    top = _ground_band(canvas, rng, layout, road=bool(layout.cars or layout.far_cars))
    return _light_and_grain(canvas, rng, top)


def _sky_and_skyline(rng: np.random.Generator, layout: Layout) -> np.ndarray:
    """Sky fading to the horizon, lawn below it, far houses and trees on it."""
    w, h = layout.width, layout.height
    horizon = layout.horizon
    rows = np.arange(h, dtype=np.float32)[:, None]
    sky_top = np.array([rng.uniform(90, 140), rng.uniform(140, 180), rng.uniform(200, 240)])
    sky_low = np.array([rng.uniform(200, 230), rng.uniform(215, 235), rng.uniform(225, 245)])
    t = np.clip(rows / max(horizon, 1.0), 0, 1)[:, :, None]
    img = np.broadcast_to(sky_top * (1 - t) + sky_low * t, (h, w, 3)).copy()
    img[int(horizon) :] = [rng.uniform(60, 100), rng.uniform(110, 150), rng.uniform(50, 80)]
    canvas = np.clip(img, 0, 255).astype(np.uint8)
    x = float(rng.uniform(-0.1, 0.0)) * w
    while x < w:
        if rng.random() < 0.45:
            house_w, house_h = rng.uniform(0.08, 0.18) * w, rng.uniform(0.06, 0.14) * h
            colour = tuple(int(c) for c in rng.uniform(110, 210, 3))
            top_left = (int(x), int(horizon - house_h))
            cv2.rectangle(canvas, top_left, (int(x + house_w), int(horizon)), colour, -1)
            peak = horizon - house_h - rng.uniform(0.3, 0.6) * house_w
            roof = [[x - 4, horizon - house_h], [x + house_w + 4, horizon - house_h]]
            roof.append([x + house_w / 2, peak])
            grey = int(rng.uniform(70, 120))
            cv2.fillPoly(canvas, [np.array(roof, np.int32)], (grey, grey, grey))
            x += house_w + rng.uniform(0.01, 0.06) * w
        else:
            radius = rng.uniform(0.03, 0.08) * h
            green = (int(rng.uniform(30, 70)), int(rng.uniform(70, 110)), int(rng.uniform(30, 60)))
            centre = (int(x + radius), int(horizon - radius * 0.8))
            cv2.circle(canvas, centre, int(radius), green, -1)
            trunk = max(1, int(radius * 0.2))
            cv2.line(
                canvas,
                (centre[0], int(horizon - radius * 0.2)),
                (centre[0], int(horizon)),
                (70, 52, 36),
                trunk,
            )
            x += radius * rng.uniform(1.2, 2.2)
    return canvas


def _ground_band(canvas: np.ndarray, rng: np.random.Generator, layout: Layout, road: bool) -> int:
    """Draw the pavement the person walks on (and the road behind its kerb) over the lower
    part of `canvas`; returns the band's top row."""
    h, w = canvas.shape[:2]
    ground, unit = layout.ground, layout.unit
    kerb = layout.cars[0].ground if layout.cars else ground - 0.2 * unit
    if layout.far_cars:
        kerb = max(kerb, layout.far_cars[0].ground + 0.05 * unit)
    top = kerb
    if road:
        top = max(layout.horizon + 2, kerb - rng.uniform(0.6, 1.1) * unit)
        asphalt = int(rng.uniform(70, 100))
        cv2.rectangle(canvas, (0, int(top)), (w, int(kerb)), (asphalt,) * 3, -1)
        dash = rng.uniform(0.4, 0.8) * unit
        lane_y = int((top + kerb) / 2)
        paint = max(1, int(0.02 * unit))
        for start in np.arange(float(rng.uniform(0, dash)), w, dash * 2):
            cv2.line(
                canvas, (int(start), lane_y), (int(start + dash), lane_y), (210, 210, 200), paint
            )
    stone = int(rng.uniform(150, 185))
    pavement_bottom = min(h, ground + rng.uniform(0.08, 0.25) * unit)
    cv2.rectangle(canvas, (0, int(kerb)), (w, int(pavement_bottom)), (stone,) * 3, -1)
    edge = int(kerb + max(2, 0.03 * unit))
    cv2.rectangle(canvas, (0, int(kerb)), (w, edge), (stone + 25,) * 3, -1)
    slab = rng.uniform(0.5, 0.9) * unit
    for seam in np.arange(float(rng.uniform(0, slab)), w, slab):
        bottom = (int(seam - 0.1 * unit), int(pavement_bottom))
        cv2.line(canvas, (int(seam), int(kerb)), bottom, (stone - 25,) * 3, 1)
    if pavement_bottom < h:
        verge = (int(rng.uniform(60, 100)), int(rng.uniform(110, 150)), int(rng.uniform(50, 80)))
        cv2.rectangle(canvas, (0, int(pavement_bottom)), (w, h), verge, -1)
    return int(top)


def _light_and_grain(canvas: np.ndarray, rng: np.random.Generator, top: int) -> np.ndarray:
    """Broad patches of light and shade and a fine grain, on the rows from `top` down
    (a real photo has its own texture above the band)."""
    h, w = canvas.shape[:2]
    light = 1 + 0.07 * _texture(rng, (h - top, w), (12, 7))
    grain = rng.normal(0, 3.0, (h - top, w, 1)).astype(np.float32)
    out = canvas.copy()
    band = canvas[top:].astype(np.float32) * light[:, :, None] + grain
    out[top:] = np.clip(band + 0.5, 0, 255).astype(np.uint8)
    return out


def describe(still: Still, crop_box: tuple[int, int, int, int]) -> dict[str, object]:
    """The background part of a clip's sidecar."""
    return {
        "source": still.source,
        "method": still.method,
        "crop": list(crop_box),
        "faces_redacted": still.faces,
        "text_regions_redacted": still.text,
    }
