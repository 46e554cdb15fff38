"""Face and text redaction: real faces and text disappear, nothing between two detections
escapes, clips without either pass through untouched, and the audit tells them apart."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from vidonate.ingest import redact
from vidonate.ingest.media import transcode
from vidonate.ingest.redact import (
    AuditResult,
    RedactionReport,
    RedactionSettings,
    audit_residual_faces,
    redaction_stage,
)
from vidonate.ingest.samples import generate_clip, test_media_dir, write_clip
from vidonate.ingest.text import detect_text

MEDIA = test_media_dir()
# The text audit's input side (PP-OCR on sampled frames) is tested in test_text_audit.py.
NO_AUDIT = RedactionSettings(text_audit_frames=0)
Detector = Callable[[np.ndarray, float], np.ndarray]


def _media(name: str) -> Path:
    if MEDIA is None or not (MEDIA / name).is_file():
        pytest.skip(f"real footage absent ({name}): set VIDONATE_TEST_MEDIA or add ../shared/media")
    return MEDIA / name


def _pan(
    image: np.ndarray,
    size: tuple[int, int],
    start: tuple[int, int],
    end: tuple[int, int],
    frames: int,
) -> Iterator[np.ndarray]:
    """A window of `size` (w, h) sliding in a straight line over a still image."""
    w, h = size
    for i in range(frames):
        t = i / max(1, frames - 1)
        x = round(start[0] + (end[0] - start[0]) * t)
        y = round(start[1] + (end[1] - start[1]) * t)
        yield image[y : y + h, x : x + w]


def _luma(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="gray").astype(np.float32) for f in container.decode(video=0)]


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("redact")


@pytest.fixture(scope="module")
def messi_clip(work: Path) -> Path:
    """1.6 s panning over a photo of footballers; the main face moves ~7 px a frame."""
    photo = np.asarray(Image.open(_media("messi5.jpg")).convert("RGB"))
    return write_clip(work / "messi.mp4", _pan(photo, (384, 256), (0, 40), (160, 60), 24))


def test_real_faces_are_pixelated_and_the_audit_sees_the_difference(
    messi_clip: Path, work: Path
) -> None:
    plain, redacted = work / "messi_plain.mp4", work / "messi_redacted.mp4"
    transcode(messi_clip, plain)
    report = RedactionReport()
    result = transcode(messi_clip, redacted, stage=redaction_stage(NO_AUDIT, report))

    before = audit_residual_faces(plain, every_n=1)
    after = audit_residual_faces(redacted, every_n=1)
    assert before.frames_checked == after.frames_checked == result.frames == 24
    assert before.frames_with_faces >= 20, before
    assert after.frames_with_faces == 0, after
    assert after.max_score < 0.45, after  # clear of the 0.5 that counts as a face
    assert report.frames == 24 and report.frames_redacted == 24
    assert report.face_detections >= 5, "faces detected on every 5th frame and the last"


def test_faces_in_a_sideways_stored_phone_clip_are_found(work: Path) -> None:
    """Portrait phone video is stored landscape plus a rotation; faces are sideways in it."""
    photo = np.asarray(Image.open(_media("messi5.jpg")).convert("RGB"))
    # Stored turned clockwise, displayed turned back counter-clockwise by 90 degrees.
    sideways = (np.rot90(image, -1) for image in _pan(photo, (384, 256), (0, 40), (160, 60), 12))
    clip = write_clip(work / "portrait.mp4", sideways, rotation=90)
    plain, redacted = work / "portrait_plain.mp4", work / "portrait_redacted.mp4"
    transcode(clip, plain)
    # Sideways, CenterFace scores this face about 0.33, upright about 0.8: at a threshold of
    # 0.5 only a detector that turns the frame upright first finds it.
    settings = RedactionSettings(face_threshold=0.5, text_audit_frames=0)
    transcode(clip, redacted, stage=redaction_stage(settings))
    assert audit_residual_faces(plain, every_n=1).frames_with_faces >= 10
    assert audit_residual_faces(redacted, every_n=1).frames_with_faces == 0


@pytest.mark.parametrize("turns", [1, 2, 3])
def test_boxes_found_upright_map_back_onto_the_stored_frame(turns: int) -> None:
    stored = np.zeros((48, 64, 3), np.uint8)
    stored[10:20, 30:50] = 255  # x 30..50, y 10..20
    upright = redact._upright(stored, turns)
    ys, xs = np.nonzero(upright[..., 0])
    found = np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1, 0.9]], np.float32)
    back = redact._unrotate(found, turns, 64, 48)
    assert back.tolist() == [[30, 10, 50, 20, pytest.approx(0.9)]]


def test_a_face_threshold_nothing_reaches_leaves_faces(messi_clip: Path, work: Path) -> None:
    out = work / "messi_untouched.mp4"
    report = RedactionReport()
    settings = RedactionSettings(face_threshold=0.99, text=False, text_audit_frames=0)
    transcode(messi_clip, out, stage=redaction_stage(settings, report))
    assert report.face_detections == 0 and report.frames_redacted == 0
    assert audit_residual_faces(out, every_n=4).frames_with_faces >= 5


def _checkerboard_clip(path: Path, frames: int) -> list[tuple[int, int]]:
    """A 40 px checkerboard moving 6 px right and 3 px down a frame over flat grey."""
    cells = (np.indices((40, 40)).sum(axis=0) // 2 % 2 * 255).astype(np.uint8)
    corners = [(20 + 6 * i, 30 + 3 * i) for i in range(frames)]
    images = []
    for x, y in corners:
        rgb = np.full((240, 320, 3), 128, np.uint8)
        rgb[y : y + 40, x : x + 40] = cells[..., None]
        images.append(rgb)
    write_clip(path, images)
    return corners


def _checkerboard_detector(calls: list[int], miss: set[int]) -> Detector:
    """Stands in for CenterFace: finds the black and white cells; misses on calls in `miss`."""

    def detect(rgb: np.ndarray, threshold: float) -> np.ndarray:
        calls.append(len(calls))
        ys, xs = np.nonzero((rgb[..., 0] < 40) | (rgb[..., 0] > 215))
        if len(calls) - 1 in miss or len(xs) == 0:
            return np.empty((0, 5), np.float32)
        return np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1, 0.9]], np.float32)

    return detect


@pytest.mark.parametrize("miss", [set(), {2}], ids=["every-detection", "one-missed"])
def test_no_frame_between_detections_escapes(
    work: Path, monkeypatch: pytest.MonkeyPatch, miss: set[int]
) -> None:
    clip = work / "checker.mp4"
    corners = _checkerboard_clip(clip, 23)
    calls: list[int] = []
    monkeypatch.setattr(redact, "detect_faces", _checkerboard_detector(calls, miss))
    out = work / "checker_out.mp4"
    settings = RedactionSettings(detect_interval=5, text=False, text_audit_frames=0)
    transcode(clip, out, stage=redaction_stage(settings))

    # Frames 0, 5, 10, 15, 20 and the last one, 22, which closes the final interval.
    assert len(calls) == 6
    frames = _luma(out)
    assert len(frames) == len(corners)
    for index, ((x, y), luma) in enumerate(zip(corners, frames, strict=True)):
        square = luma[y : y + 40, x : x + 40]
        # The cells alternate 0/255 every 2 px; a mosaic of 8 px blocks averages them out.
        assert square.std() < 12, f"frame {index} is not pixelated (std {square.std():.0f})"


def test_without_hold_a_missed_detection_leaves_frames_bare(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control for the test above: the check does catch unredacted frames. Two
    detections in a row miss (frames 10 and 15); the one at 20 finds the square again
    and covers back to frame 15, which leaves 10 to 14 bare."""
    clip = work / "checker_hold.mp4"
    corners = _checkerboard_clip(clip, 23)
    monkeypatch.setattr(redact, "detect_faces", _checkerboard_detector([], {2, 3}))
    out = work / "checker_hold_out.mp4"
    transcode(
        clip,
        out,
        stage=redaction_stage(
            RedactionSettings(detect_interval=5, hold=0, text=False, text_audit_frames=0)
        ),
    )
    bare = [
        i
        for i, ((x, y), luma) in enumerate(zip(corners, _luma(out), strict=True))
        if luma[y : y + 40, x : x + 40].std() > 60
    ]
    assert bare == [10, 11, 12, 13, 14], "only the frames no detection covers are left bare"


def _label() -> np.ndarray:
    """A parcel label with a printed address on a cardboard-brown background, 480×360."""
    card = Image.new("RGB", (480, 360), (150, 110, 70))
    draw = ImageDraw.Draw(card)
    draw.rectangle((60, 80, 420, 280), fill=(250, 250, 245))
    font = ImageFont.load_default(size=34)
    for line, text in enumerate(("J. SMITH", "1428 ELM STREET", "SPRINGFIELD 90210")):
        draw.text((80, 100 + 56 * line), text, fill=(10, 10, 10), font=font)
    return np.asarray(card)


def _rgb_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def _detail(rgb: np.ndarray) -> float:
    """Mean difference between neighbouring pixels: strokes score high, a mosaic of big
    blocks near zero (it only changes at block edges)."""
    luma = rgb.astype(np.float32).mean(axis=2)
    return float(np.abs(np.diff(luma, axis=0)).mean() + np.abs(np.diff(luma, axis=1)).mean())


def test_printed_text_is_pixelated(work: Path) -> None:
    label = np.pad(_label(), ((0, 40), (0, 60), (0, 0)), mode="edge")
    clip = write_clip(work / "label.mp4", _pan(label, (480, 360), (0, 0), (60, 40), 15))
    out = work / "label_out.mp4"
    report = RedactionReport()
    transcode(clip, out, stage=redaction_stage(NO_AUDIT, report))
    assert report.text_detections >= 3
    assert report.face_detections == 0

    before, after = _rgb_frames(clip), _rgb_frames(out)
    assert len(after) == len(before) == 15
    for index in range(15):
        lines = detect_text(before[index], 0.6)
        assert len(lines) == 3, f"the detector should see the 3 address lines in frame {index}"
        for x0, y0, x1, y1, _ in lines.astype(int):
            original = _detail(before[index][y0:y1, x0:x1])
            left = _detail(after[index][y0:y1, x0:x1])
            assert left < 0.2 * original, f"frame {index}: text at {x0},{y0} is legible"


def test_licence_plate_is_pixelated(work: Path) -> None:
    photo = np.asarray(Image.open(_media("licenseplate_motion.jpg")).convert("RGB"))
    clip = write_clip(work / "plate.mp4", _pan(photo, (480, 400), (0, 0), (100, 60), 12))
    out = work / "plate_out.mp4"
    transcode(clip, out, stage=redaction_stage(NO_AUDIT))
    before, after = _rgb_frames(clip), _rgb_frames(out)
    for index in range(12):
        # The plate's characters span about (240..350, 235..285) of the photo.
        x, y = round(100 * index / 11), round(60 * index / 11)
        plate = (slice(235 - y, 285 - y), slice(240 - x, 350 - x))
        assert _detail(after[index][plate]) < 0.25 * _detail(before[index][plate]), index


def test_stage_keeps_count_size_and_order_and_leaves_plain_clips_alone(work: Path) -> None:
    clip = generate_clip(work / "plain.mp4", seconds=2.2, width=320, height=240, fps=15)
    plain, staged = work / "plain_out.mp4", work / "plain_staged.mp4"
    expected = transcode(clip, plain)
    report = RedactionReport()
    result = transcode(clip, staged, stage=redaction_stage(NO_AUDIT, report))
    assert (result.frames, result.width, result.height) == (
        expected.frames,
        expected.width,
        expected.height,
    )
    assert report.frames == expected.frames == 33
    assert report.frames_redacted == 0, report
    for a, b in zip(_luma(plain), _luma(staged), strict=True):
        assert _psnr(a, b) > 45


def test_stage_yields_every_frame_in_order() -> None:
    """Directly, without transcode: 7 frames, intervals that do not divide the count."""
    frames = []
    for index in range(7):
        frame = av.VideoFrame(64, 48, "yuv420p")
        for plane in frame.planes:
            plane.update(bytes([index * 30]) * plane.buffer_size)
        frame.pts = index
        frames.append(frame)
    stage = redaction_stage(
        RedactionSettings(detect_interval=4, text_interval=5, text_audit_frames=0)
    )
    out = list(stage(iter(frames)))
    assert [f.pts for f in out] == list(range(7))
    assert all((f.width, f.height, f.format.name) == (64, 48, "yuv420p") for f in out)


def test_look_ahead_is_bounded_and_shrinks_for_huge_frames(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At most two intervals of frames wait; a memory cap shortens intervals for big frames."""
    calls = {"faces": 0, "text": 0}

    def counting(kind: str) -> Detector:
        def detect(rgb: np.ndarray, threshold: float) -> np.ndarray:
            calls[kind] += 1
            return np.empty((0, 5), np.float32)

        return detect

    monkeypatch.setattr(redact, "detect_faces", counting("faces"))
    monkeypatch.setattr(redact, "detect_text", counting("text"))
    frames = [av.VideoFrame(64, 48, "yuv420p") for _ in range(41)]
    pulled = 0

    def source() -> Iterator[av.VideoFrame]:
        nonlocal pulled
        for frame in frames:
            pulled += 1
            yield frame

    settings = RedactionSettings(detect_interval=5, text_interval=20, text_audit_frames=0)
    held_back = []
    for yielded, _ in enumerate(redaction_stage(settings)(source()), start=1):
        held_back.append(pulled - yielded)
    assert max(held_back) <= 2 * 20
    assert calls == {"faces": 9, "text": 3}  # 0, 5, ..., 40 and 0, 20, 40

    # A cap of 8 frames of this size allows intervals of 4 at most.
    monkeypatch.setattr(redact, "_BUFFER_BYTES", 8 * 64 * 48 * 3 // 2)
    calls.update(faces=0, text=0)
    pulled = 0
    held_back.clear()
    for yielded, _ in enumerate(redaction_stage(settings)(source()), start=1):
        held_back.append(pulled - yielded)
    assert max(held_back) <= 8
    assert calls == {"faces": 11, "text": 11}  # 0, 4, ..., 40 for both


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="detect_interval"):
        RedactionSettings(detect_interval=0)
    with pytest.raises(ValueError, match="detection sizes"):
        RedactionSettings(detect_size=16)


def test_audit_counts_checked_frames(work: Path) -> None:
    clip = generate_clip(work / "audit.mp4", seconds=2, fps=15)
    result = audit_residual_faces(clip, every_n=7)
    assert result == AuditResult(frames_checked=5, frames_with_faces=0, max_score=result.max_score)
    assert result.residual_rate() == 0.0
    assert AuditResult(frames_checked=4, frames_with_faces=1, max_score=0.7).residual_rate() == 0.25
