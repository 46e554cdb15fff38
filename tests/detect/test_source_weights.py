"""Synthetic and donated clips are weighted apart in the training loss: each source gets
an equal share, a rare donated clip counting at most a few synthetic ones, and a clip of
weight 2 teaches exactly what the same clip twice would."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vidonate.detect.dataset import (
    MAX_SOURCE_WEIGHT,
    TrainingClip,
    load_features,
    save_features,
    source_weights,
)
from vidonate.detect.features import ClipFeatures, uniform_times

torch = pytest.importorskip("torch")


def test_one_source_counts_alike() -> None:
    assert source_weights(["synthetic"] * 5) == {"synthetic": 1.0}
    assert source_weights([]) == {}


def test_equal_sources_count_alike_and_a_rare_source_counts_more_within_the_cap() -> None:
    assert source_weights(["synthetic", "donated"] * 3) == {"synthetic": 1.0, "donated": 1.0}
    assert source_weights(["synthetic"] * 30 + ["donated"] * 10) == {
        "synthetic": 1.0,
        "donated": 3.0,
    }
    rare = source_weights(["synthetic"] * 600 + ["donated"] * 2)
    assert rare == {"synthetic": 1.0, "donated": MAX_SOURCE_WEIGHT}


def test_a_clip_of_weight_two_weighs_as_the_same_clip_twice() -> None:
    from vidonate.detect.train import TrainConfig, _loss

    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 6, 3, generator=generator)
    labels = torch.tensor([[0, 0, 1, 1, 0, 0], [0, 2, 2, 0, 0, 0]])
    mask = torch.tensor([[True] * 6, [True] * 4 + [False] * 2])
    class_weight = torch.tensor([0.5, 2.0, 3.0])
    config = TrainConfig()
    weighted = _loss(logits, labels, mask, class_weight, torch.tensor([2.0, 1.0]), config)
    twice = _loss(
        logits[[0, 0, 1]], labels[[0, 0, 1]], mask[[0, 0, 1]], class_weight,
        torch.ones(3), config,
    )  # fmt: skip
    assert float(weighted) == pytest.approx(float(twice), rel=1e-6)
    alike = _loss(logits, labels, mask, class_weight, torch.tensor([2.0, 2.0]), config)
    plain = _loss(logits, labels, mask, class_weight, torch.ones(2), config)
    assert float(alike) == float(plain), "equal weights change nothing"
    pytorch = torch.nn.functional.cross_entropy(
        logits[mask], labels[mask], weight=class_weight, label_smoothing=config.label_smoothing
    )
    assert float(plain) == pytest.approx(float(pytorch), rel=1e-6), "PyTorch's weighted mean"


def test_the_feature_cache_keeps_each_clips_weight(tmp_path: Path) -> None:
    frames = np.zeros((4, 54, 96), dtype=np.uint8)
    features = ClipFeatures(frames, uniform_times(4, 10.0), 10.0, 640, 360)
    clips = [
        TrainingClip(features, "normal_activity", (), "a"),
        TrainingClip(features, "normal_activity", (), "b", weight=3.0),
    ]
    save_features(tmp_path / "f.npz", clips)
    assert [c.weight for c in load_features(tmp_path / "f.npz")] == [1.0, 3.0]
