"""Camera motion between consecutive frames, to carry redaction boxes across pans and zooms.

Each frame's luma is shrunk to :data:`ANALYSIS_WIDTH`; corners found in the previous one
are followed by pyramidal Lucas-Kanade optical flow, and a similarity transform (shift,
zoom, roll) is fitted to them with RANSAC, so people walking through the shot do not
count. When too few corners survive (flat or blurred frames), phase correlation gives the
shift alone; when that is unsure too, the camera is taken to be still.
"""

from __future__ import annotations

import cv2
import numpy as np
from av.video.frame import VideoFrame
from av.video.plane import VideoPlane

ANALYSIS_WIDTH = 320
_MAX_CORNERS = 200
_MIN_POINTS = 8  # corners followed, and RANSAC inliers, for a fitted transform
_RANSAC_PX = 1.5  # analysis pixels
_MIN_PHASE_RESPONSE = 0.2  # phase correlation's peak sharpness below which it is a guess
_IDENTITY = np.eye(3)


class GlobalMotion:
    """Frame-to-frame transforms of one clip, in full-frame pixels.

    ``between(a, b)`` maps a point of frame `a` to where the scene under it is in frame
    `b` (either order). Transforms are kept as each frame's accumulated transform from the
    first one; :meth:`forget` drops frames no box needs any more.
    """

    def __init__(self) -> None:
        self._previous: np.ndarray | None = None
        self._scale = (1.0, 1.0)  # analysis pixels per frame pixel, x and y
        self._from_first: dict[int, np.ndarray] = {}
        self._last: int | None = None

    def add(self, index: int, frame: VideoFrame) -> None:
        """Measure frame `index` (frames come in order) against the one before."""
        luma = _luma(frame)
        height, width = luma.shape
        shrink = ANALYSIS_WIDTH / width if width > ANALYSIS_WIDTH else 1.0
        small = cv2.resize(luma, (max(16, round(width * shrink)), max(16, round(height * shrink))))
        self._scale = (small.shape[1] / width, small.shape[0] / height)
        if self._previous is None or self._last is None:
            self._from_first[index] = _IDENTITY.copy()
        else:
            step = self._to_frame_pixels(_estimate(self._previous, small))
            self._from_first[index] = step @ self._from_first[self._last]
        self._previous, self._last = small, index

    def between(self, start: int, end: int) -> np.ndarray:
        """The 3×3 transform from frame `start`'s pixels to frame `end`'s."""
        if start == end:
            return _IDENTITY
        return self._from_first[end] @ np.linalg.inv(self._from_first[start])

    def forget(self, before: int) -> None:
        """Drop the transforms of frames before `before`."""
        for index in [i for i in self._from_first if i < before]:
            del self._from_first[index]

    def _to_frame_pixels(self, transform: np.ndarray) -> np.ndarray:
        sx, sy = self._scale
        scale = np.diag([sx, sy, 1.0])
        return np.linalg.inv(scale) @ transform @ scale


def plane_view(plane: VideoPlane) -> np.ndarray:
    """A view of one plane of a frame without its row padding (writable if the frame is)."""
    flat = np.frombuffer(memoryview(plane), np.uint8, count=plane.line_size * plane.height)
    return flat.reshape(plane.height, plane.line_size)[:, : plane.width]


def _luma(frame: VideoFrame) -> np.ndarray:
    """The Y plane of a yuv420p frame (no conversion)."""
    return plane_view(frame.planes[0])


def _estimate(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """The similarity transform from `before` to `after` (3×3, analysis pixels)."""
    corners = cv2.goodFeaturesToTrack(before, _MAX_CORNERS, qualityLevel=0.01, minDistance=6)
    if corners is not None and len(corners) >= _MIN_POINTS:
        moved, status, _ = cv2.calcOpticalFlowPyrLK(
            before, after, corners, np.empty_like(corners), winSize=(21, 21), maxLevel=3
        )
        found = status.ravel() == 1
        if found.sum() >= _MIN_POINTS:
            fitted, inliers = cv2.estimateAffinePartial2D(
                corners[found], moved[found], method=cv2.RANSAC, ransacReprojThreshold=_RANSAC_PX
            )
            if fitted is not None and inliers is not None and inliers.sum() >= _MIN_POINTS:
                return np.vstack([fitted, [0.0, 0.0, 1.0]])
    (dx, dy), response = cv2.phaseCorrelate(before.astype(np.float32), after.astype(np.float32))
    if response < _MIN_PHASE_RESPONSE:
        return _IDENTITY.copy()
    shift = _IDENTITY.copy()
    shift[:2, 2] = (dx, dy)
    return shift


def warp_boxes(boxes: np.ndarray, transform: np.ndarray) -> np.ndarray:
    """Axis-aligned boxes (rows of x0, y0, x1, y1) around the transformed corners of each."""
    if not len(boxes) or transform is _IDENTITY:
        return boxes.astype(np.float32, copy=True)
    x0, y0, x1, y1 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    xs = np.stack([x0, x1, x1, x0], axis=1)
    ys = np.stack([y0, y0, y1, y1], axis=1)
    a, b, c = transform[0]
    d, e, f = transform[1]
    tx, ty = a * xs + b * ys + c, d * xs + e * ys + f
    return np.stack([tx.min(1), ty.min(1), tx.max(1), ty.max(1)], axis=1).astype(np.float32)
