"""The text audit: what PP-OCR can read in a clip's input that it can still read in its output.

PP-OCRv4 as ``rapidocr_onnxruntime`` ships it (its own detector, independent of the
redaction's, and its recognition network; the models are inside the package, nothing is
downloaded) reads each sampled frame. Readings are compared as 3-character pieces: a
clip fails when a string of 3 or more characters read in an input frame shares one with
what is read in the same output frame.

The input side is read by :class:`InputTextSampler` while the redaction stage sees the
original frames (so the original need not stay on disk for the audit); the output side
by :func:`audit_residual_text` on the finished file.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

READ_SIDE = 736
"""Shorter side of the frame the audit reads text on (PP-OCR's own default): small frames
are scaled up, as PP-OCR reads little under 30 px of line height; big ones down, to
:data:`READ_LONGEST` at most, for a bounded cost."""
READ_LONGEST = 1280
MIN_PIECE = 3  # characters: shorter readings (single letters, "10") say nothing about a label
_WORDS = re.compile(r"\w+")

_lock = threading.Lock()
_engine: Any = None


def _engine_once() -> Any:
    """rapidocr's PP-OCRv4 detector and recogniser (no angle classifier), on two threads
    like every model in ingest, loaded on first use: its import alone loads its whole
    pipeline, which redaction does not need."""
    global _engine
    with _lock:
        if _engine is None:
            from rapidocr_onnxruntime import RapidOCR

            _engine = RapidOCR(
                intra_op_num_threads=2, inter_op_num_threads=1, use_cls=False, print_verbose=False
            )
        return _engine


def read_text(rgb: np.ndarray) -> list[str]:
    """What PP-OCR reads on an RGB uint8 frame: upper-cased words of letters and digits."""
    height, width = rgb.shape[:2]
    scale = min(READ_SIDE / min(height, width), READ_LONGEST / max(height, width))
    size = (max(32, round(width * scale)), max(32, round(height * scale)))
    image = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    found, _ = _engine_once()(np.ascontiguousarray(image[:, :, ::-1]), use_cls=False)
    return [word.upper() for _, text, _ in found or [] for word in _WORDS.findall(text)]


def pieces(words: Iterable[str]) -> set[str]:
    """Every run of :data:`MIN_PIECE` characters inside the words."""
    return {word[i : i + MIN_PIECE] for word in words for i in range(len(word) - MIN_PIECE + 1)}


@dataclass
class InputTextSampler:
    """Reads the text on every `every`-th original frame, at most `limit` frames a clip:
    past the limit it keeps every second sample and samples half as often, so the
    samples stay spread over the whole clip however long it is."""

    every: int = 15
    limit: int = 12
    read: Callable[[np.ndarray], list[str]] = read_text
    reads: dict[int, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.every < 1 or self.limit < 1:
            raise ValueError("the text audit needs every >= 1 and limit >= 1")

    def observe(self, index: int, frame: av.VideoFrame) -> None:
        """Read `frame` (the `index`-th, not yet redacted) if it is due."""
        if index % self.every:
            return
        self.reads[index] = self.read(_upright_rgb(frame))
        while len(self.reads) > self.limit:
            self.every *= 2
            self.reads = {i: words for i, words in self.reads.items() if i % self.every == 0}


def _upright_rgb(frame: av.VideoFrame) -> np.ndarray:
    """The frame as RGB, turned as it is displayed (text is read upright)."""
    turns = round((getattr(frame, "rotation", 0) or 0) / 90) % 4
    rgb = frame.to_ndarray(format="rgb24")
    return np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb


def read_input_text(path: Path, every: int = 15, limit: int = 12) -> dict[int, list[str]]:
    """What the sampler reads on a whole file (for checking other tools' output against
    the same original; the processing job reads the original as it redacts it)."""
    sampler = InputTextSampler(every, limit)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for index, frame in enumerate(container.decode(stream)):
            sampler.observe(index, frame)
    return sampler.reads


@dataclass(frozen=True)
class TextAuditResult:
    """Text read in sampled input frames, and how much of it is still read in the output."""

    frames_checked: int = 0
    frames_with_text: int = 0  # input frames with at least one reading of 3+ characters
    strings_read: int = 0  # distinct 3+ character readings in the input, summed over frames
    strings_left: int = 0  # of those, readings sharing 3+ characters with the output's
    frames_with_residual_text: int = 0

    @property
    def failed(self) -> bool:
        """Whether anything read in the input can still be read in the output."""
        return self.strings_left > 0


def audit_residual_text(path: Path, input_reads: dict[int, list[str]]) -> TextAuditResult:
    """Read the frames of `path` at the indices of `input_reads` (what the same reader read
    on the input's frames) and count the input's readings that are still legible."""
    strings_read = strings_left = with_text = with_residual = 0
    wanted = {
        index: {word for word in words if len(word) >= MIN_PIECE}
        for index, words in input_reads.items()
    }
    wanted = {index: words for index, words in wanted.items() if words}
    if wanted:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            last = max(wanted)
            for index, frame in enumerate(container.decode(stream)):
                if index in wanted:
                    left = pieces(read_text(_upright_rgb(frame)))
                    words = wanted[index]
                    legible = [w for w in words if pieces([w]) & left]
                    with_text += 1
                    strings_read += len(words)
                    strings_left += len(legible)
                    with_residual += bool(legible)
                if index >= last:
                    break
    return TextAuditResult(
        frames_checked=len(input_reads),
        frames_with_text=with_text,
        strings_read=strings_read,
        strings_left=strings_left,
        frames_with_residual_text=with_residual,
    )
