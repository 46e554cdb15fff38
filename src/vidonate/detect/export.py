"""PyTorch network -> model.onnx, with batch and time left dynamic."""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

from vidonate.detect.evidence import evidence_maps
from vidonate.detect.manifest import EVIDENCE_INPUT_NAME, INPUT_NAME
from vidonate.detect.model import ExportedEvidenceTheftNet, ExportedTheftNet, TheftNet

# INPUT_NAME and EVIDENCE_INPUT_NAME live in manifest.py, which inference imports without
# PyTorch.
OUTPUT_NAME = "probabilities"
OPSET = 18


def export_onnx(net: TheftNet, path: Path) -> Path:
    """Write ``net`` as one self-contained ONNX file: uint8 ``frames (B, T, H, W)`` in (and
    uint8 ``evidence (B, T, E, H, W)`` when the network reads evidence maps), softmax
    ``probabilities (B, T, classes)`` out."""
    config = net.config
    # Longer than change_lag so that tracing sees the general case of every index.
    example = torch.zeros(
        (1, 2 * config.change_lag + 8, config.height, config.width), dtype=torch.uint8
    )
    batch, steps = torch.export.Dim("batch", max=4096), torch.export.Dim("time", max=1 << 20)
    wrapper: nn.Module
    dynamic: dict[str, Any] = {"frames": {0: batch, 1: steps}}
    inputs: tuple[torch.Tensor, ...] = (example,)
    if config.evidence:
        wrapper = ExportedEvidenceTheftNet(net).eval()
        evidence = torch.zeros(
            (*example.shape[:2], len(config.evidence), *example.shape[2:]), dtype=torch.uint8
        )
        inputs = (example, evidence)
        dynamic["evidence"] = {0: batch, 1: steps}
    else:
        wrapper = ExportedTheftNet(net).eval()
    path = Path(path)
    # The exporter narrates every pass on stdout and logs that torchvision's operators are
    # missing (they are not used); a training progress bar has no use for either.
    registration = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = registration.level
    registration.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _export(wrapper, inputs, path, dynamic)
    finally:
        registration.setLevel(level)
    return path


def _export(
    wrapper: nn.Module, inputs: tuple[torch.Tensor, ...], path: Path, dynamic: dict[str, Any]
) -> None:
    torch.onnx.export(
        wrapper,
        inputs,
        str(path),
        input_names=[INPUT_NAME, EVIDENCE_INPUT_NAME][: len(inputs)],
        output_names=[OUTPUT_NAME],
        dynamic_shapes=dynamic,
        opset_version=OPSET,
        dynamo=True,
        external_data=False,
    )


def verify_onnx(
    net: TheftNet, path: Path, frames: np.ndarray, *, hog: np.ndarray | None = None
) -> float:
    """Largest difference between the ONNX file's and ``net``'s probabilities on
    ``frames`` (T, H, W) (and their HOG person map, for a network that reads it): the
    exported graph must compute what was trained."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    batch = np.ascontiguousarray(frames[None])
    with torch.no_grad():
        if net.config.evidence:
            evidence = evidence_maps(frames, net.config.evidence, hog=hog)[None]
            exported = session.run(None, {INPUT_NAME: batch, EVIDENCE_INPUT_NAME: evidence})[0]
            reference = (
                ExportedEvidenceTheftNet(net)
                .eval()(torch.from_numpy(batch), torch.from_numpy(evidence))
                .numpy()
            )
        else:
            exported = session.run(None, {INPUT_NAME: batch})[0]
            reference = ExportedTheftNet(net).eval()(torch.from_numpy(batch)).numpy()
    return float(np.abs(exported - reference).max())
