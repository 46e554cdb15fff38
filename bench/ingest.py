"""Ingest throughput with redaction: vidonate's whole processing job against the deface CLI.

Both run in this one process's machine on the same real clips, ``vtest.avi`` (pedestrians,
768×576, 795 frames) and ``Megamind.avi`` (large faces, 720×528, 270 frames), found through
``vidonate.ingest.samples.test_media_dir()``; without them it exits with a message.

* vidonate: ``media.probe`` → ``media.transcode`` with ``redaction_stage()`` (decode, face
  and text redaction, H.264 encode) → a hash of the output (``vidonate.dedupe.phash.
  video_signature`` when that module exists, else sha256 of the file, with a note on
  stderr) → ``media.thumbnail`` of the output. Timed end to end in this process, the first
  clip including the one-time loading of both ONNX models.
* deface: the ``deface`` CLI next to this Python (``deface INPUT -o OUT.mp4``, all its
  defaults: CenterFace at full resolution, threshold 0.2, Gaussian-blurred ellipses), timed
  by wall clock around the subprocess, so its start-up counts too.

Frames per second are the clips' decoded frames over the summed seconds, per tool. Residual
faces: ``audit_residual_faces`` (CenterFace at full resolution, score >= 0.5) on every 10th
frame of each tool's output; A and B are frames with a residual face over frames checked,
summed over both clips (vidonate's A, deface's B). Text: the text audit
(``vidonate.ingest.ocr_audit``, PP-OCR) reads the sampled frames of the input (every 15th,
at most 8 a clip, as the processing job samples them) and the same frames of vidonate's
output; T is the distinct strings of 3+ characters read in the input frames, L how many of
them are still read in the output, summed over both clips. Like the face audit, the text
audit runs after the timed part (the processing job runs it after encoding too).

Clips are processed one after the other, each by vidonate then by deface, so load from
other processes hits both alike. Progress goes to stderr; stdout gets exactly one line::

    ingest: vidonate X fps, deface Y fps, ratio R, residual faces A vs B, text read T, left L

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
from pathlib import Path

from vidonate.ingest import media
from vidonate.ingest.ocr_audit import TextAuditResult, audit_residual_text, read_input_text
from vidonate.ingest.redact import (
    AuditResult,
    RedactionReport,
    RedactionSettings,
    audit_residual_faces,
    redaction_stage,
)
from vidonate.ingest.samples import test_media_dir

CLIPS = ("vtest.avi", "Megamind.avi")
AUDIT_EVERY = 10
# The processing job's redaction, less the text audit's reading of the original (timed
# apart, below, like the face audit).
SETTINGS = RedactionSettings(text_audit_frames=0)
TEXT_EVERY, TEXT_FRAMES = (
    RedactionSettings().text_audit_every,
    RedactionSettings().text_audit_frames,
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


def _text_audit(src: Path, out: Path) -> TextAuditResult:
    started = time.perf_counter()
    result = audit_residual_text(out, read_input_text(src, TEXT_EVERY, TEXT_FRAMES))
    _log(
        f"  text audit vidonate: {result.strings_read} strings read in"
        f" {result.frames_with_text}/{result.frames_checked} input frames,"
        f" {result.strings_left} still read in the output"
        f" ({time.perf_counter() - started:.1f} s)"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the outputs and say where")
    args = parser.parse_args()

    folder = test_media_dir()
    sources = [folder / name for name in CLIPS] if folder else []
    if not sources or not all(path.is_file() for path in sources):
        sys.exit(
            f"needs {' and '.join(CLIPS)} in the shared media folder "
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
    text = [0, 0]  # strings read in the input, still read in vidonate's output
    try:
        for src in sources:
            _log(f"{src.name}:")
            count, seconds, ours_out = _vidonate(src, workdir, hasher)
            deface_s, theirs_out = _deface(deface, src, workdir, count)
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
            text_result = _text_audit(src, ours_out)
            text[0] += text_result.strings_read
            text[1] += text_result.strings_left
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
        f"text read {text[0]}, left {text[1]}"
    )


if __name__ == "__main__":
    main()
