"""Ingest throughput with redaction: vidonate's whole processing job against the deface CLI.

Both run in this one process's machine on the same real clips, found through
``vidonate.ingest.samples.test_media_dir()``; without them it exits with a message.

Speed clips (the fps, the ratio and the residual faces cover these two only, so the numbers
stay comparable with earlier runs): ``vtest.avi`` (pedestrians, 768×576, 795 frames) and
``Megamind.avi`` (large faces, 720×528, 270 frames).

Text clips (made here, 480×360, 90 frames at 15 fps, H.264 near-lossless, with
``vidonate.ingest.samples.camera`` and ``write_clip``; they hold no faces and are not in
the speed or face counts): a zoom from the whole table to the box's label in
``box_in_scene.png``, a pan and zoom onto the licence plate in ``licenseplate_motion.jpg``
(motion-blurred: PP-OCR may read nothing on it), and a pan over ``home.jpg`` with a
shipping label DRAWN on it by this script (cv2.putText: "SHIP TO" / "221B BAKER ST" on a
white panel), so at least one clip has text PP-OCR surely reads.

* vidonate: ``media.probe`` → ``media.transcode`` with ``redaction_stage()`` (decode, face
  and text redaction, H.264 encode) → a hash of the output (``vidonate.dedupe.phash.
  video_signature`` when that module exists, else sha256 of the file, with a note on
  stderr) → ``media.thumbnail`` of the output. Timed end to end in this process, the first
  clip including the one-time loading of both ONNX models.
* deface: the ``deface`` CLI next to this Python (``deface INPUT -o OUT.mp4``, all its
  defaults: CenterFace at full resolution, threshold 0.2, Gaussian-blurred ellipses), timed
  by wall clock around the subprocess, so its start-up counts too.

Frames per second are the speed clips' decoded frames over the summed seconds, per tool.
Residual faces: ``audit_residual_faces`` (CenterFace at full resolution, score >= 0.5) on
every 10th frame of each tool's output; A and B are frames with a residual face over
frames checked, summed over both speed clips (vidonate's A, deface's B).

Text: the text audit (``vidonate.ingest.ocr_audit``, PP-OCR) on all five clips. Its input
side is ``read_input_text`` with the processing job's sampling (``RedactionSettings()``'s
every 15th frame, at most 8 a clip: the same ``InputTextSampler`` the job's redaction
stage runs on the original frames; 6 frames of each text clip); its output side is
``audit_residual_text`` on the same frames of each tool's output, as the job runs it after
encoding. T is the distinct strings of 3+ characters read in the input frames, L how many
of them are still read in vidonate's output, D in deface's (deface blurs only faces, so D
should be close to T), summed over the clips. Like the face audit it is not timed.

Clips are processed one after the other, each by vidonate then by deface, so load from
other processes hits both alike. Progress goes to stderr; stdout gets exactly one line::

    ingest: vidonate X fps, deface Y fps, ratio R, residual faces A vs B,
    text read T, left L (deface left D)

(on one line; wrapped here).

Run it as ``.venv/bin/python bench/ingest.py`` (``--keep`` keeps the outputs).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from vidonate.ingest import media
from vidonate.ingest.ocr_audit import TextAuditResult, audit_residual_text, read_input_text
from vidonate.ingest.redact import (
    AuditResult,
    RedactionReport,
    RedactionSettings,
    audit_residual_faces,
    redaction_stage,
)
from vidonate.ingest.samples import Rect, camera, test_media_dir, write_clip

CLIPS = ("vtest.avi", "Megamind.avi")
AUDIT_EVERY = 10
# The processing job's redaction, less the text audit's reading of the original (timed
# apart, below, like the face audit).
SETTINGS = RedactionSettings(text_audit_frames=0)
TEXT_EVERY, TEXT_FRAMES = (
    RedactionSettings().text_audit_every,
    RedactionSettings().text_audit_frames,
)
TEXT_SIZE = (480, 360)
TEXT_CLIP_FRAMES = 90  # 6 s at 15 fps: the job's every-15th sampling reads 6 frames
LABEL = ("SHIP TO", "221B BAKER ST")


@dataclass(frozen=True)
class TextShot:
    """A camera move over a still from the shared media, for the text audit."""

    name: str
    photo: str
    start: Rect
    end: Rect
    label: bool = False  # draw the shipping label on the photo first


TEXT_SHOTS = (
    # From the whole table (the photo is 512×384) to the box's label.
    TextShot("box_zoom", "box_in_scene.png", (0, 0, 512, 384), (150, 120, 256, 192)),
    # The photo is 600×482; the plate's characters span about (240..350, 235..285).
    TextShot("plate_pan", "licenseplate_motion.jpg", (0, 0, 600, 450), (160, 160, 267, 200)),
    TextShot("label_pan", "home.jpg", (0, 0, 512, 384), (40, 120, 320, 240), label=True),
)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _hasher() -> Callable[[Path], object]:
    """The project's video signature when it exists, else sha256 of the file's bytes."""
    try:
        phash = importlib.import_module("vidonate.dedupe.phash")
        return phash.video_signature
    except (ImportError, AttributeError):
        _log("note: vidonate.dedupe.phash.video_signature is missing; hashing with sha256")

        def sha256(path: Path) -> str:
            digest = hashlib.sha256()
            with path.open("rb") as file:
                for block in iter(lambda: file.read(1 << 20), b""):
                    digest.update(block)
            return digest.hexdigest()

        return sha256


def _vidonate(
    src: Path, workdir: Path, hasher: Callable[[Path], object]
) -> tuple[int, float, Path]:
    """The processing job on `src`: (frames, seconds, redacted output)."""
    out, thumb = workdir / f"{src.stem}.vidonate.mp4", workdir / f"{src.stem}.jpg"
    report = RedactionReport()
    started = time.perf_counter()
    media.probe(src)
    result = media.transcode(src, out, stage=redaction_stage(SETTINGS, report))
    hasher(out)
    media.thumbnail(out, thumb)
    seconds = time.perf_counter() - started
    _log(
        f"  vidonate: {result.frames} frames in {seconds:.2f} s ({result.frames / seconds:.1f}"
        f" fps); {report.face_detections} faces and {report.text_detections} text regions"
        f" found, {report.frames_redacted} frames redacted,"
        f" {report.seconds_detecting:.2f} s detecting"
    )
    return result.frames, seconds, out


def _deface(deface: str, src: Path, workdir: Path, frames: int) -> tuple[float, Path]:
    """The deface CLI with its defaults on `src`: (seconds, output)."""
    out = workdir / f"{src.stem}.deface.mp4"
    started = time.perf_counter()
    run = subprocess.run([deface, str(src), "-o", str(out)], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if run.returncode != 0 or not out.is_file():
        _log(run.stdout[-2000:] + run.stderr[-2000:])
        sys.exit(f"deface failed on {src.name} (exit {run.returncode})")
    _log(f"  deface:   {frames} frames in {seconds:.2f} s ({frames / seconds:.1f} fps)")
    return seconds, out


def _audit(label: str, path: Path) -> AuditResult:
    result = audit_residual_faces(path, every_n=AUDIT_EVERY)
    _log(
        f"  audit {label}: {result.frames_with_faces}/{result.frames_checked} frames with a"
        f" face, best score {result.max_score:.2f}"
    )
    return result


def _with_label(still: np.ndarray) -> np.ndarray:
    """The photo with a shipping label drawn on its left half: large dark print on a
    white panel, the kind of text redaction must hide and PP-OCR reads at once."""
    still = still.copy()
    cv2.rectangle(still, (50, 150), (370, 262), (250, 250, 245), -1)
    cv2.rectangle(still, (50, 150), (370, 262), (30, 30, 30), 2)
    for y, words in zip((190, 240), LABEL, strict=True):
        cv2.putText(
            still, words, (64, y), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (15, 15, 15), 2, cv2.LINE_AA
        )
    return still


def _text_clip(folder: Path, shot: TextShot, workdir: Path) -> Path:
    still = np.asarray(Image.open(folder / shot.photo).convert("RGB"))
    if shot.label:
        still = _with_label(still)
    views = camera(still, TEXT_SIZE, shot.start, shot.end, TEXT_CLIP_FRAMES)
    return write_clip(workdir / f"{shot.name}.mp4", (view for view, _ in views))


def _text_audit(src: Path, outputs: dict[str, Path]) -> dict[str, TextAuditResult]:
    """The text audit of each tool's output against the same sampled frames of `src`."""
    started = time.perf_counter()
    reads = read_input_text(src, TEXT_EVERY, TEXT_FRAMES)
    words = sorted({word for found in reads.values() for word in found if len(word) >= 3})
    _log(f"  text in {len(reads)} input frames: {' '.join(words) or '(none)'}")
    results = {}
    for label, out in outputs.items():
        result = results[label] = audit_residual_text(out, reads)
        _log(
            f"  text audit {label}: {result.strings_read} strings read in"
            f" {result.frames_with_text}/{result.frames_checked} input frames,"
            f" {result.strings_left} still read in the output"
        )
    _log(f"  text audit took {time.perf_counter() - started:.1f} s")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the outputs and say where")
    args = parser.parse_args()

    folder = test_media_dir()
    sources = [folder / name for name in CLIPS] if folder else []
    photos = sorted({shot.photo for shot in TEXT_SHOTS})
    if folder is None or not all((folder / name).is_file() for name in (*CLIPS, *photos)):
        sys.exit(
            f"needs {', '.join((*CLIPS, *photos))} in the shared media folder "
            "(../shared/media, or set VIDONATE_TEST_MEDIA)"
        )
    deface = shutil.which("deface", path=str(Path(sys.executable).parent)) or shutil.which("deface")
    if deface is None:
        sys.exit("needs the deface CLI (pip install deface) next to this Python or on PATH")
    load = os.getloadavg()[0]
    _log(f"load average {load:.2f} on {os.cpu_count()} cores" + (" (busy)" if load > 1.5 else ""))

    hasher = _hasher()
    workdir = Path(tempfile.mkdtemp(prefix="vidonate-bench-ingest-"))
    frames = 0
    ours_s = theirs_s = 0.0
    ours = [0, 0]  # frames with faces, frames checked
    theirs = [0, 0]
    text = [0, 0, 0]  # strings read in the input, still read in vidonate's, in deface's output
    try:
        jobs = [(src, True) for src in sources]
        for shot in TEXT_SHOTS:
            jobs.append((_text_clip(folder, shot, workdir), False))
        for src, timed in jobs:
            _log(f"{src.name}{'' if timed else ' (text clip, not in the speed counts)'}:")
            count, seconds, ours_out = _vidonate(src, workdir, hasher)
            deface_s, theirs_out = _deface(deface, src, workdir, count)
            if timed:
                frames += count
                ours_s += seconds
                theirs_s += deface_s
                for tally, label, path in (
                    (ours, "vidonate", ours_out),
                    (theirs, "deface", theirs_out),
                ):
                    result = _audit(label, path)
                    tally[0] += result.frames_with_faces
                    tally[1] += result.frames_checked
            audits = _text_audit(src, {"vidonate": ours_out, "deface": theirs_out})
            text[0] += audits["vidonate"].strings_read
            text[1] += audits["vidonate"].strings_left
            text[2] += audits["deface"].strings_left
    finally:
        if args.keep:
            _log(f"outputs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    ours_fps, theirs_fps = frames / ours_s, frames / theirs_s
    print(
        f"ingest: vidonate {ours_fps:.1f} fps, deface {theirs_fps:.1f} fps, "
        f"ratio {ours_fps / theirs_fps:.1f}, "
        f"residual faces {ours[0]}/{ours[1]} vs {theirs[0]}/{theirs[1]}, "
        f"text read {text[0]}, left {text[1]} (deface left {text[2]})"
    )


if __name__ == "__main__":
    main()
