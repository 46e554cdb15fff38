"""The network: a small per-frame CNN, then a dilated temporal CNN over the whole clip.

Each frame becomes three image channels: its luma (minus the frame's mean, so exposure and
time of day matter less), its difference from the previous frame (what moves) and its
difference from the frame two seconds earlier (what changed and stayed: a box put down or
taken away). A four-layer strided CNN turns every second frame's channels into a 64-number
embedding: events last seconds, so five looks a second lose nothing, and halving the CNN's
work (nearly all of the cost) buys twice the training epochs within the time limit, which
is what taught it a delivery from a theft. A stack of residual dilated 1-D convolutions then
reads the embeddings in time: with dilations 1…32 at five steps a second every output sees
±12.6 s of them, long enough to see a box on the porch before a person reaches it and gone
after they leave (theft), or the reverse (a delivery). The head gives logits per step,
held for the frame after it too, so the output has one row per input frame.

With ``ModelConfig.evidence`` (off by default) the encoder also reads behaviour-level
evidence maps (:mod:`~vidonate.detect.evidence`: foreground, a lasting change where a person
was, dwell), one more image channel each, given as a second input computed outside the
network from the same frames.

Everything is convolutional in time, so one exported graph serves clips of any length.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

# Index 0 is the background class; the rest are the event classes, in the order that
# per-frame score arrays use.
MODEL_CLASSES: tuple[str, ...] = ("normal_activity", "package_theft", "car_door_tampering")


@dataclass(frozen=True)
class ModelConfig:
    """Shape of the network; stored in model.json so a model dir rebuilds it exactly."""

    height: int = 54
    width: int = 96
    encoder_channels: tuple[int, ...] = (12, 24, 48, 64)
    change_lag: int = 20  # frames back for the "what changed" channel (2 s at 10 fps)
    frame_stride: int = 2  # the encoder looks at every n-th frame
    embedding: int = 64
    temporal_channels: int = 64
    dilations: tuple[int, ...] = (1, 2, 4, 8, 16, 32)
    dropout: float = 0.1
    classes: tuple[str, ...] = field(default=MODEL_CLASSES)
    # Evidence maps (detect.evidence.EVIDENCE_CHANNELS) read as extra image channels.
    evidence: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelConfig:
        tuples = {"encoder_channels", "dilations", "classes", "evidence"}
        # Models saved before the stride existed encoded every frame (as ModelManifest says).
        data = {"frame_stride": 1, **data}
        fields: dict[str, Any] = {k: tuple(v) if k in tuples else v for k, v in data.items()}
        return cls(**fields)

    @property
    def receptive_field(self) -> int:
        """Frames one output may depend on, centred on it: kernel 3 at every dilation (in
        encoded steps, ``frame_stride`` frames apart), the frames the motion and change
        channels look back to, and the frame whose output is held from the one before."""
        stride = self.frame_stride
        return 1 + 2 * (stride * sum(self.dilations) + self.change_lag + stride - 1)


class FrameEncoder(nn.Module):
    """(N, 3, H, W) frame channels -> (N, embedding)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels_in = 3 + len(config.evidence)
        for channels_out in config.encoder_channels:
            layers += [
                nn.Conv2d(channels_in, channels_out, 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(channels_out),
                nn.ReLU(inplace=True),
            ]
            channels_in = channels_out
        self.convs = nn.Sequential(*layers)
        # Average and max pooling: "how much" and "whether anywhere" (one small box).
        self.project = nn.Linear(2 * channels_in, config.embedding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.convs(x)
        pooled = torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=1)
        return F.relu(self.project(pooled))


class TemporalBlock(nn.Module):
    """Residual dilated convolution in time; the padding keeps the length."""

    def __init__(self, channels: int, dilation: int, dropout: float) -> None:
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation)
        self.mix = nn.Conv1d(channels, channels, 1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.dropout(self.mix(F.relu(self.conv(x))))


class TheftNet(nn.Module):
    """Frames ``(B, T, H, W)`` in 0..255 -> per-frame logits ``(B, T, classes)``."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = FrameEncoder(config)
        self.lift = nn.Conv1d(config.embedding, config.temporal_channels, 1)
        self.temporal = nn.Sequential(
            *[TemporalBlock(config.temporal_channels, d, config.dropout) for d in config.dilations]
        )
        self.head = nn.Conv1d(config.temporal_channels, len(config.classes), 1)

    def frame_channels(
        self, frames: torch.Tensor, evidence: torch.Tensor | None = None
    ) -> torch.Tensor:
        """(B, T, H, W) -> (B*S, 3 + E, H, W) for the S frames the encoder looks at (every
        ``frame_stride``-th): centred luma, recent motion, lasting change, then the E
        evidence maps ``(B, T, E, H, W)`` (0..255) of those frames. Motion is still the
        difference with the frame just before, encoded or not."""
        steps = torch.arange(0, frames.shape[1], self.config.frame_stride, device=frames.device)
        x = frames[:, steps] / 255.0
        previous = frames[:, torch.clamp(steps - 1, min=0)] / 255.0
        earlier = frames[:, torch.clamp(steps - self.config.change_lag, min=0)] / 255.0
        # Differences are small next to luma's range; scale them up to it.
        motion = (x - previous) * 4.0
        change = (x - earlier) * 2.0
        luma = x - x.mean(dim=(2, 3), keepdim=True)
        channels = torch.stack([luma, motion, change], dim=2)
        if self.config.evidence:
            if evidence is None:
                raise ValueError(f"the network reads evidence {self.config.evidence}")
            channels = torch.cat([channels, evidence[:, steps].float() / 255.0], dim=2)
        return channels.flatten(0, 1)

    def forward(self, frames: torch.Tensor, evidence: torch.Tensor | None = None) -> torch.Tensor:
        batch, steps = frames.shape[0], frames.shape[1]
        encoded = self.encoder(self.frame_channels(frames, evidence))
        sequence = encoded.reshape(batch, -1, self.config.embedding).transpose(1, 2)
        logits = self.head(self.temporal(F.relu(self.lift(sequence))))
        # Each step's output is held for the frames up to the next encoded one.
        held = logits.repeat_interleave(self.config.frame_stride, dim=2)[:, :, :steps]
        return held.transpose(1, 2)


class ExportedTheftNet(nn.Module):
    """What model.onnx holds: uint8 frames ``(B, T, H, W)`` -> probabilities ``(B, T, C)``."""

    def __init__(self, net: TheftNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.net(frames.float()), dim=-1)


class ExportedEvidenceTheftNet(nn.Module):
    """model.onnx of a network that reads evidence: uint8 frames ``(B, T, H, W)`` and uint8
    evidence ``(B, T, E, H, W)`` -> probabilities ``(B, T, C)``."""

    def __init__(self, net: TheftNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, frames: torch.Tensor, evidence: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.net(frames.float(), evidence), dim=-1)
