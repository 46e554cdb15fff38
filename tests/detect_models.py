"""Real, cheap model directories for tests of the registry, serving and promotion.

An untrained network exported to ONNX is a real model (Detector.load runs it) that costs
seconds, not a training run. Its decoder threshold decides what it reports, whatever its
weights: above 1 it never reports an event (no probability exceeds it); below 0 every
clip is one long event. Those two make a gate comparison whose outcome is known.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from vidonate.detect.events import DecoderConfig
from vidonate.detect.manifest import ModelManifest

NEVER_FIRES = 2.0
ALWAYS_FIRES = -1.0


def export_untrained_model(out: Path, *, seed: int = 0) -> Path:
    """model.onnx and model.json of an untrained network, as training writes them."""
    import torch

    from vidonate.detect.evaluation import CLASSES
    from vidonate.detect.export import export_onnx
    from vidonate.detect.features import FEATURE_FPS
    from vidonate.detect.gate import GateConfig
    from vidonate.detect.manifest import ModelFeatures
    from vidonate.detect.model import ModelConfig, TheftNet
    from vidonate.detect.train import MODEL_CLASSES

    torch.manual_seed(seed)
    net = TheftNet(ModelConfig()).eval()
    out.mkdir(parents=True, exist_ok=True)
    export_onnx(net, out / "model.onnx")
    config = net.config
    ModelManifest(
        classes=MODEL_CLASSES,
        event_classes=CLASSES,
        features=ModelFeatures(fps=FEATURE_FPS, width=config.width, height=config.height),
        receptive_field=config.receptive_field,
        decoder=DecoderConfig(),
        gate=GateConfig(),
        model=config.to_json(),
    ).write(out)
    return out


def with_threshold(source: Path, dest: Path, high: float) -> Path:
    """A copy of the model in ``source`` whose events open above ``high`` (and close
    below it): the same weights, another decision rule."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source / "model.onnx", dest / "model.onnx")
    manifest = ModelManifest.read(source)
    manifest.model_copy(update={"decoder": DecoderConfig(high=high, low=high)}).write(dest)
    return dest
