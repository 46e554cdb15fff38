"""model.json: everything besides the weights that inference needs, and how training went.

Inference reads only this file and model.onnx; it never imports PyTorch. The file is the
pydantic model below, dumped and validated as it stands (``threshold`` and ``thresholds``
are written for people reading the file and ignored when read: the decoder holds them).
Files written before per-class thresholds and score calibration read as one threshold for
every class and uncalibrated scores.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from vidonate.detect.calibrate import ScoreCalibration
from vidonate.detect.events import DecoderConfig
from vidonate.detect.gate import GateConfig

MANIFEST_FORMAT: Literal[1] = 1
ONNX_NAME = "model.onnx"
MANIFEST_NAME = "model.json"
# model.onnx's inputs: uint8 frames, and uint8 evidence maps in models that read them.
INPUT_NAME = "frames"
EVIDENCE_INPUT_NAME = "evidence"


class ModelFeatures(BaseModel):
    """The frames the network reads: this clock, this size (grey)."""

    model_config = ConfigDict(frozen=True)

    fps: float
    width: int
    height: int


class ModelManifest(BaseModel):
    """Contents of model.json."""

    # Keys this version does not know (``threshold``, or ones a later version adds) are
    # ignored; a file of another format is refused.
    model_config = ConfigDict(frozen=True, extra="ignore")

    format: Literal[1] = MANIFEST_FORMAT
    classes: tuple[str, ...]  # the network's outputs; index 0 is normal_activity
    event_classes: tuple[str, ...]  # the columns of per-frame scores, in evaluation order
    features: ModelFeatures
    receptive_field: int  # frames one output depends on
    decoder: DecoderConfig
    gate: GateConfig
    calibration: ScoreCalibration | None = None  # applied to the probabilities, per class
    model: dict[str, Any] = Field(default_factory=dict)  # the network's ModelConfig
    training: dict[str, Any] = Field(default_factory=dict)  # data, time, metrics

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented idiom
    @property
    def threshold(self) -> float:
        return self.decoder.high

    @computed_field  # type: ignore[prop-decorator]
    @property
    def thresholds(self) -> dict[str, float]:
        """Each event class's opening threshold."""
        return {label: self.decoder.high_for(label) for label in self.event_classes}

    @property
    def fps(self) -> float:
        return self.features.fps

    @property
    def width(self) -> int:
        return self.features.width

    @property
    def height(self) -> int:
        return self.features.height

    @property
    def frame_stride(self) -> int:
        """The network encodes every n-th frame (models saved before the stride: every one)."""
        return int(self.model.get("frame_stride", 1))

    @property
    def evidence(self) -> tuple[str, ...]:
        """The evidence maps the network reads as a second input (none before they existed)."""
        return tuple(self.model.get("evidence", ()))

    def write(self, model_dir: Path) -> Path:
        path = Path(model_dir) / MANIFEST_NAME
        path.write_text(self.model_dump_json(indent=2) + "\n")
        return path

    @classmethod
    def read(cls, model_dir: Path) -> ModelManifest:
        return cls.model_validate_json((Path(model_dir) / MANIFEST_NAME).read_text())
