"""Text detection (licence plates, house numbers, labels) with PP-OCRv4's detector.

Only the detection network shipped inside ``rapidocr_onnxruntime`` is used; nothing is
recognised. It is a DB (differentiable binarisation) model: it outputs a per-pixel text
probability, which is thresholded into regions whose mean probability scores them.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np
import onnxruntime as ort

from vidonate.ingest.faces import STRIDE, model_bytes, session_options

# rapidocr's defaults for this model: the probability map is binarised at 0.3, slightly
# dilated, and each region is grown by area * 1.6 / perimeter ("unclip") because the
# network is trained to mark a shrunken core of each text line.
_UNCLIP = 1.6
_MIN_SIDE = 3  # map pixels; smaller specks are noise
_MAX_REGIONS = 1000
# Least luma standard deviation in the middle of a region's core: the network also marks
# flat, sharply edged shapes (a plain box on a wall, a sign's blank panel) as text, but text
# is strokes on a background all the way through, not only at its edges.
_MIN_CONTRAST = 8.0
_INNER = 0.2  # of the region's height, left out at the top and the bottom
_MIN_CROSSINGS = 2  # ink edges along the median middle row
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)

_lock = threading.Lock()
_session: ort.InferenceSession | None = None


def _session_once() -> ort.InferenceSession:
    """The PP-OCR detection session, loaded on first use and shared by all threads."""
    global _session
    with _lock:
        if _session is None:
            model = model_bytes("rapidocr_onnxruntime", "models/ch_PP-OCRv4_det_infer.onnx")
            _session = ort.InferenceSession(
                model, session_options(), providers=["CPUExecutionProvider"]
            )
        return _session


def detect_text(rgb: np.ndarray, threshold: float, *, pixel_threshold: float = 0.3) -> np.ndarray:
    """Text regions in an RGB uint8 image as rows of ``x0, y0, x1, y1, score`` in its pixels.

    `threshold` is the least mean text probability of a region; `pixel_threshold` the
    probability at which a pixel counts as text.
    """
    height, width = rgb.shape[:2]
    padded_h, padded_w = -(-height // STRIDE) * STRIDE, -(-width // STRIDE) * STRIDE
    # Normalised to [-1, 1]; the zero padding is mid grey, which holds no text.
    blob = np.zeros((1, 3, padded_h, padded_w), np.float32)
    blob[0, :, :height, :width] = rgb.transpose(2, 0, 1)
    blob[0, :, :height, :width] *= 1 / 127.5
    blob[0, :, :height, :width] -= 1.0
    session = _session_once()
    prob = session.run(None, {session.get_inputs()[0].name: blob})[0][0, 0, :height, :width]
    return _regions(prob, rgb, threshold, pixel_threshold)


def _regions(
    prob: np.ndarray, rgb: np.ndarray, threshold: float, pixel_threshold: float
) -> np.ndarray:
    """Axis-aligned boxes around the connected text regions of a probability map."""
    mask = cv2.dilate((prob > pixel_threshold).astype(np.uint8), np.ones((2, 2), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 1:
        return np.empty((0, 5), np.float32)
    # Mean probability per region in one pass instead of one mask per region.
    sums = np.bincount(labels.ravel(), weights=prob.ravel(), minlength=count)
    scores = sums / np.maximum(stats[:, cv2.CC_STAT_AREA], 1)
    x, y = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    w, h = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    keep = np.nonzero((scores >= threshold) & (np.minimum(w, h) >= _MIN_SIDE))[0]
    keep = keep[keep > 0]  # label 0 is the background
    keep = keep[np.argsort(-scores[keep])][:_MAX_REGIONS]
    strokes = [_looks_like_strokes(rgb, x[i], y[i], w[i], h[i]) for i in keep]
    keep = keep[np.asarray(strokes, np.bool_)] if len(keep) else keep
    grow = (w[keep] * h[keep]) * _UNCLIP / (2 * (w[keep] + h[keep]))
    map_h, map_w = prob.shape
    boxes = np.stack(
        [
            np.clip(x[keep] - grow, 0, map_w),
            np.clip(y[keep] - grow, 0, map_h),
            np.clip(x[keep] + w[keep] + grow, 0, map_w),
            np.clip(y[keep] + h[keep] + grow, 0, map_h),
            scores[keep],
        ],
        axis=1,
    )
    return boxes.astype(np.float32)


def _looks_like_strokes(rgb: np.ndarray, x: int, y: int, w: int, h: int) -> bool:
    """Whether a region holds strokes: contrast in its middle rows, and a row there crosses
    from background to ink and back (one edge, such as a box's side against a busy
    background, crosses once; a letter at least twice)."""
    dy = int(h * _INNER)
    rows = rgb[y + dy : y + h - dy, x : x + w] @ _LUMA
    if rows.size == 0 or float(rows.std()) < _MIN_CONTRAST:
        return False
    ink = (
        rows > cv2.threshold(rows.astype(np.uint8), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[0]
    )
    crossings = np.count_nonzero(np.diff(ink, axis=1), axis=1)
    return float(np.median(crossings)) >= _MIN_CROSSINGS
