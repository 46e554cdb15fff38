"""Camera moves over still images, written as short near-lossless H.264 clips: the test
footage for redaction in pans and zooms. The pan and the clip writer live in
``vidonate.ingest.samples`` (the ingest bench uses them too); the test helpers are here."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np

from vidonate.ingest.samples import Rect, camera, write_clip

__all__ = ["Rect", "camera", "in_view", "rgb_frames", "text_still", "write_clip"]


def in_view(
    box: tuple[float, float, float, float], window: Rect, size: tuple[int, int]
) -> tuple[slice, slice]:
    """Where the still's box (x0, y0, x1, y1) appears in a frame showing `window`, cut
    to the frame."""
    x, y, w, h = window
    sx, sy = size[0] / w, size[1] / h
    x0, y0, x1, y1 = box

    def span(low: float, high: float, origin: float, scale: float, side: int) -> slice:
        return slice(
            min(side, max(0, round((low - origin) * scale))),
            min(side, max(0, round((high - origin) * scale))),
        )

    return span(y0, y1, y, sy, size[1]), span(x0, x1, x, sx, size[0])


def rgb_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def text_still(seed: int = 7) -> np.ndarray:
    """A 960×720 scene of coloured clutter with two large printed lines on white panels."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (9, 12, 3), dtype=np.uint8)
    still = cv2.resize(coarse, (960, 720), interpolation=cv2.INTER_CUBIC)
    for (x, y), words in (((120, 180), "KX 4271"), ((420, 470), "PARCEL 88")):
        cv2.rectangle(still, (x - 20, y - 70), (x + 390, y + 30), (250, 250, 245), -1)
        cv2.putText(
            still, words, (x, y), cv2.FONT_HERSHEY_SIMPLEX, 2.2, (15, 15, 15), 6, cv2.LINE_AA
        )
    return still
