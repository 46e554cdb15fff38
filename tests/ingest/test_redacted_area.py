"""Over-redaction: the share of frame area under a mosaic stays near nothing where there
is no face and no text, and a close-up face in a tiny frame is blurred without the rest
of the frame."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from camera_clips import camera, write_clip
from vidonate.ingest.media import transcode
from vidonate.ingest.redact import (
    RedactionReport,
    RedactionSettings,
    audit_residual_faces,
    load_summary,
    redaction_stage,
)
from vidonate.ingest.samples import generate_clip, test_media_dir

NO_AUDIT = RedactionSettings(text_audit_frames=0)


def _media(name: str) -> Path:
    media = test_media_dir()
    if media is None or not (media / name).is_file():
        pytest.skip(f"real footage absent ({name}): set VIDONATE_TEST_MEDIA")
    return media / name


def _head(src: Path, dst: Path, frames: int) -> Path:
    """The first `frames` frames of a real clip, so tests stay short."""
    with av.open(str(src)) as container:
        images = []
        for frame in container.decode(video=0):
            images.append(frame.to_ndarray(format="rgb24"))
            if len(images) == frames:
                break
    return write_clip(dst, images, fps=25)


def _redact(clip: Path, out: Path) -> RedactionReport:
    report = RedactionReport()
    transcode(clip, out, stage=redaction_stage(NO_AUDIT, report))
    return report


def test_a_generated_clip_with_no_face_or_text_is_not_redacted(tmp_path: Path) -> None:
    clip = generate_clip(tmp_path / "plain.mp4", seconds=2, width=320, height=240, fps=15)
    out = tmp_path / "out.mp4"
    report = _redact(clip, out)
    assert report.frames == 30 and report.redacted_share() < 0.01, report
    summary = load_summary(out)
    assert summary is not None and summary.redacted_share == report.redacted_share()


@pytest.mark.parametrize("name", ["bikes.mp4", "home.jpg"])
def test_real_footage_with_no_face_or_text_keeps_nearly_all_its_area(
    tmp_path: Path, name: str
) -> None:
    if name.endswith(".jpg"):  # a pan over an indoor photo
        still = np.asarray(Image.open(_media(name)).convert("RGB"))
        shots = camera(still, (384, 288), (0, 0, 384, 288), (128, 96, 384, 288), 20)
        clip = write_clip(tmp_path / "clip.mp4", (view for view, _ in shots))
    else:
        clip = _head(_media(name), tmp_path / "clip.mp4", 30)
    report = _redact(clip, tmp_path / "out.mp4")
    assert report.redacted_share() < 0.02, report


def test_a_close_up_face_in_a_tiny_frame_is_blurred_but_not_the_whole_frame(
    tmp_path: Path,
) -> None:
    clip = _head(_media("carphone_pristine.mp4"), tmp_path / "car.mp4", 30)  # 176×144
    out = tmp_path / "out.mp4"
    report = _redact(clip, out)
    assert audit_residual_faces(clip, every_n=5).frames_with_faces >= 5
    assert audit_residual_faces(out, every_n=5).frames_with_faces == 0
    assert report.frames_redacted == 30
    assert report.redacted_share() < 0.4, report
