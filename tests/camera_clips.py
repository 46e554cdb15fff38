"""Camera moves over still images, written as short near-lossless H.264 clips: the test
footage for redaction in pans and zooms."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import av
import cv2
import numpy as np

Rect = tuple[float, float, float, float]  # x, y, width, height in the still's pixels


def camera(
    still: np.ndarray, size: tuple[int, int], start: Rect, end: Rect, frames: int
) -> Iterator[tuple[np.ndarray, Rect]]:
    """Frames of `size` (w, h) showing a window that moves and zooms in a straight line
    from `start` to `end` over the still, with the window each frame shows."""
    for i in range(frames):
        t = i / max(1, frames - 1)
        x, y, w, h = (a + (b - a) * t for a, b in zip(start, end, strict=True))
        # Sub-pixel windows: an affine warp, so motion is smooth however slow.
        sx, sy = size[0] / w, size[1] / h
        matrix = np.array([[sx, 0, -x * sx], [0, sy, -y * sy]], np.float32)
        view = cv2.warpAffine(
            still, matrix, size, flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT
        )
        yield view, (x, y, w, h)


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


def write_clip(path: Path, images: Iterable[np.ndarray], fps: int = 15) -> Path:
    """An H.264 clip of RGB arrays, near-lossless so the input is what the test drew."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "crf": "12"})
        for index, rgb in enumerate(images):
            if index == 0:
                stream.height, stream.width = rgb.shape[:2]
                stream.pix_fmt = "yuv420p"
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame.pts = index
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


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
