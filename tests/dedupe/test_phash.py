"""Perceptual hashes: transformed copies are near-duplicates, different clips are not.

Uses the real footage when present (the first 6 s of each clip, at most 320 px wide, is
the "original"); otherwise synthetic clips made here. `generate_clip` is not used for
that: its seeds differ in tint but share layout and motion (seeds 0 and 5 hash 0-10 bits
apart), so they really are near-duplicates of each other.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps

from vidonate.dedupe.phash import (
    HASH_BYTES,
    VideoSignature,
    frame_hash,
    hamming,
    is_near_duplicate,
    match_score,
    mirrored,
    motion_score,
    video_signature,
)
from vidonate.ingest.samples import REAL_CLIPS, test_media_dir

SECONDS = 6.0
WIDTH = 320
TRANSFORMS = ("reencode", "half", "crop5", "watermark", "trim", "mirror")


# --- clips -------------------------------------------------------------------------------


def read_frames(
    path: Path, seconds: float, *, start: float = 0.0, width: int = WIDTH
) -> tuple[list[Image.Image], int]:
    """`seconds` of a clip from `start` as RGB images at most `width` wide; and its fps."""
    images = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        fps = round(float(stream.average_rate or 25))
        for index, frame in enumerate(container.decode(stream)):
            t = frame.time if frame.time is not None else index / fps
            if t >= start + seconds:
                break
            if t < start:
                continue
            scale = min(1.0, width / frame.width)
            w, h = even(frame.width * scale), even(frame.height * scale)
            images.append(frame.to_image().resize((w, h), Image.Resampling.BILINEAR))
    return images, fps


def even(x: float) -> int:
    return max(2, int(x) - int(x) % 2)


def write_clip(
    path: Path, images: list[Image.Image], fps: int, codec: str = "libx264", crf: int = 28
) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = even(images[0].width), even(images[0].height)
        stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            stream.options = {"preset": "ultrafast", "crf": str(crf)}
        else:
            stream.bit_rate = 300_000
        for index, image in enumerate(images):
            image = image.crop((0, 0, stream.width, stream.height)).convert("RGB")
            frame = av.VideoFrame.from_image(image)
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def synthetic_frames(seed: int, seconds: float = SECONDS, fps: int = 15) -> list[Image.Image]:
    """A camera panning at varying speed over a seeded random scene, with a moving disc."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (9, 16, 3), dtype=np.uint8)
    scene = Image.fromarray(coarse).resize((640, 360), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(scene)
    for _ in range(12):
        x, y = rng.integers(0, 600), rng.integers(0, 320)
        w, h = rng.integers(20, 120, size=2)
        draw.rectangle((x, y, x + w, y + h), fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
    colour = tuple(int(c) for c in rng.integers(0, 256, 3))
    phase = rng.uniform(0, 2 * np.pi)
    frames = []
    for i in range(round(seconds * fps)):
        t = i / fps
        x = 160 + 150 * np.sin(0.9 * t + phase)  # speeds up and slows down: motion extrema
        view = scene.crop((int(x), 60, int(x) + 320, 300))
        cx, cy = 40 + (37 * i) % 240, 120 + 80 * np.sin(2.3 * t)
        ImageDraw.Draw(view).ellipse((cx, cy - 25, cx + 50, cy + 25), fill=colour)
        frames.append(view)
    return frames


def watermark(image: Image.Image) -> Image.Image:
    """A semi-opaque white box with text, about 10% of the frame, bottom right."""
    base = image.convert("RGBA")
    w, h = base.size
    overlay = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    bw, bh = int(w * 0.4), int(h * 0.25)
    x0, y0 = w - bw - w // 20, h - bh - h // 20
    draw.rectangle((x0, y0, x0 + bw, y0 + bh), fill=(255, 255, 255, 140))
    draw.text((x0 + 5, y0 + 5), "vidonate.example", fill=(0, 0, 0, 220), font_size=bh // 3)
    return Image.alpha_composite(base, overlay).convert("RGB")


def crop5(image: Image.Image) -> Image.Image:
    w, h = image.size
    dx, dy = round(w * 0.05), round(h * 0.05)
    return image.crop((dx, dy, w - dx, h - dy))


def half(image: Image.Image) -> Image.Image:
    return image.resize((even(image.width / 2), even(image.height / 2)), Image.Resampling.BILINEAR)


PER_FRAME: dict[str, Callable[[Image.Image], Image.Image]] = {
    "half": half,
    "crop5": crop5,
    "watermark": watermark,
    "mirror": ImageOps.mirror,
}


def make_transform(name: str, images: list[Image.Image], fps: int, out: Path) -> Path:
    if name == "reencode":  # another codec, container and quality
        return write_clip(out.with_suffix(".avi"), images, fps, codec="mpeg4")
    if name == "trim":  # drop the first and last quarter
        quarter = len(images) // 4
        return write_clip(out, images[quarter : len(images) - quarter], fps)
    return write_clip(out, [PER_FRAME[name](image) for image in images], fps)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], VideoSignature]:
    """(clip, "original" or a transform) -> signature, for real or synthetic clips."""
    folder = test_media_dir()
    work = tmp_path_factory.mktemp("dedupe")
    sources: dict[str, tuple[list[Image.Image], int]] = {}
    if folder is not None:
        for name in REAL_CLIPS:
            if (folder / name).is_file():
                sources[Path(name).stem] = read_frames(folder / name, SECONDS)
    else:
        for seed in range(4):
            sources[f"synthetic{seed}"] = (synthetic_frames(seed), 15)
    signatures = {}
    for clip, (images, fps) in sources.items():
        original = write_clip(work / f"{clip}.mp4", images, fps, crf=18)
        signatures[clip, "original"] = video_signature(original)
        for name in TRANSFORMS:
            path = make_transform(name, images, fps, work / f"{clip}_{name}.mp4")
            signatures[clip, name] = video_signature(path)
    return signatures


def clips_of(corpus: dict[tuple[str, str], VideoSignature]) -> list[str]:
    return sorted({clip for clip, _ in corpus})


# --- single frames -----------------------------------------------------------------------


def test_frame_hash_shape_and_quality() -> None:
    rng = np.random.default_rng(0)
    textured = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    h, quality = frame_hash(textured)
    assert h.shape == (HASH_BYTES,) and h.dtype == np.uint8
    assert quality == 100
    assert frame_hash(np.full((120, 160), 128, np.uint8))[1] == 0  # uniform: no quality
    gray = (textured @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)
    assert hamming(frame_hash(gray)[0], h) <= 8  # gray and RGB of one frame agree


def test_mirror_is_derived_from_the_hash_alone() -> None:
    rng = np.random.default_rng(1)
    for _ in range(5):
        image = rng.integers(0, 256, (90, 130), dtype=np.uint8)
        h, _ = frame_hash(image)
        flipped, _ = frame_hash(image[:, ::-1])
        assert np.array_equal(mirrored(h), flipped)
        assert hamming(h, flipped) > 60  # so a mirror really needs the mask


def test_hamming_broadcasts() -> None:
    a = np.zeros((3, HASH_BYTES), np.uint8)
    b = np.full((2, HASH_BYTES), 255, np.uint8)
    b[1, :4] = 0
    assert hamming(a[:, None], b[None]).tolist() == [[256, 224]] * 3
    assert hamming(a[0], a[1]) == 0


def test_uniform_clip_has_no_signature(tmp_path: Path) -> None:
    grey = [Image.new("RGB", (160, 120), (90, 90, 90))] * 30
    sig = video_signature(write_clip(tmp_path / "grey.mp4", grey, 15))
    assert len(sig) == 0
    assert match_score(sig, sig) == 0.0 and not is_near_duplicate(sig, sig)


# --- whole clips -------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("transform", TRANSFORMS)
def test_transformed_copy_is_a_near_duplicate(
    corpus: dict[tuple[str, str], VideoSignature], transform: str
) -> None:
    missed = []
    for clip in clips_of(corpus):
        original, copy = corpus[clip, "original"], corpus[clip, transform]
        assert len(original) and len(copy), clip
        # Both directions: the copy may be the one already stored.
        if not (is_near_duplicate(original, copy) and is_near_duplicate(copy, original)):
            missed.append(
                f"{clip}: appearance {match_score(original, copy):.2f}, "
                f"motion {motion_score(original, copy)}"
            )
    assert not missed, missed


@pytest.mark.slow
def test_different_clips_are_not_near_duplicates(
    corpus: dict[tuple[str, str], VideoSignature],
) -> None:
    clips = clips_of(corpus)
    flagged = []
    for a, b in itertools.combinations(clips, 2):
        for version in ("original", *TRANSFORMS):  # a copy of one is no copy of another
            if is_near_duplicate(corpus[a, version], corpus[b, "original"]):
                flagged.append((a, version, b))
    assert not flagged, flagged


@pytest.mark.slow
def test_untouched_real_file_matches_its_small_opening(
    corpus: dict[tuple[str, str], VideoSignature],
) -> None:
    """The real file (full length, native size) against the corpus original: its first
    6 s, scaled to 320 px and re-encoded."""
    folder = test_media_dir()
    if folder is None:
        pytest.skip("needs the real test footage (VIDONATE_TEST_MEDIA or ../shared/media)")
    for name in REAL_CLIPS:
        if (folder / name).is_file():
            full = video_signature(folder / name)
            assert is_near_duplicate(full, corpus[Path(name).stem, "original"]), name


@pytest.mark.slow
def test_same_camera_at_other_times_is_not_a_duplicate(tmp_path: Path) -> None:
    """Two clips of one fixed camera share a background; only the motion differs."""
    folder = test_media_dir()
    if folder is None or not (folder / "vtest.avi").is_file():
        pytest.skip("needs vtest.avi from the real test footage")
    segments = {}
    for start in (0, 40, 70):
        images, fps = read_frames(folder / "vtest.avi", SECONDS, start=start)
        segments[start] = video_signature(write_clip(tmp_path / f"at{start}.mp4", images, fps))
    for a, b in itertools.combinations(segments, 2):
        first, second = segments[a], segments[b]
        assert match_score(first, second) >= 0.5  # they do look alike...
        assert not is_near_duplicate(first, second), (a, b)  # ...but are different clips
