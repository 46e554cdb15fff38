"""model.json: everything besides the weights that inference needs, and how training went.

Inference reads only this file and model.onnx; it never imports PyTorch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidonate.detect.events import DecoderConfig
from vidonate.detect.gate import GateConfig

MANIFEST_FORMAT = 1
ONNX_NAME = "model.onnx"
MANIFEST_NAME = "model.json"


@dataclass(frozen=True)
class ModelManifest:
    """Contents of model.json."""

    classes: tuple[str, ...]  # the network's outputs; index 0 is normal_activity
    event_classes: tuple[str, ...]  # the columns of per-frame scores, in evaluation order
    fps: float
    width: int
    height: int
    receptive_field: int  # frames one output depends on
    decoder: DecoderConfig
    gate: GateConfig
    model: dict[str, Any] = field(default_factory=dict)  # the network's ModelConfig
    training: dict[str, Any] = field(default_factory=dict)  # data, time, metrics

    @property
    def threshold(self) -> float:
        return self.decoder.high

    @property
    def frame_stride(self) -> int:
        """The network encodes every n-th frame (models saved before the stride: every one)."""
        return int(self.model.get("frame_stride", 1))

    def to_json(self) -> dict[str, Any]:
        return {
            "format": MANIFEST_FORMAT,
            "classes": list(self.classes),
            "event_classes": list(self.event_classes),
            "threshold": self.threshold,
            "features": {"fps": self.fps, "width": self.width, "height": self.height},
            "receptive_field": self.receptive_field,
            "decoder": self.decoder.to_json(),
            "gate": self.gate.to_json(),
            "model": self.model,
            "training": self.training,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelManifest:
        if data.get("format") != MANIFEST_FORMAT:
            raise ValueError(f"unknown model.json format {data.get('format')!r}")
        return cls(
            classes=tuple(data["classes"]),
            event_classes=tuple(data["event_classes"]),
            fps=float(data["features"]["fps"]),
            width=int(data["features"]["width"]),
            height=int(data["features"]["height"]),
            receptive_field=int(data["receptive_field"]),
            decoder=DecoderConfig.from_json(data["decoder"]),
            gate=GateConfig.from_json(data["gate"]),
            model=dict(data.get("model", {})),
            training=dict(data.get("training", {})),
        )

    def write(self, model_dir: Path) -> Path:
        path = Path(model_dir) / MANIFEST_NAME
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n")
        return path

    @classmethod
    def read(cls, model_dir: Path) -> ModelManifest:
        return cls.from_json(json.loads((Path(model_dir) / MANIFEST_NAME).read_text()))
