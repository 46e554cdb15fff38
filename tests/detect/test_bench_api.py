"""What the bench composes: clips extracted once, several seeds, thresholds on held-out
clips, and the numbers on a test set."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from vidonate.detect.calibrate import calibrate_model
from vidonate.detect.dataset import TrainingClip
from vidonate.detect.evaluation_runs import evaluate_clips, summary
from vidonate.detect.infer import Detector
from vidonate.detect.train import TrainConfig, train_seeds

pytestmark = pytest.mark.training


def test_seeds_from_one_extraction_then_calibration_and_scores_on_other_clips(
    tmp_path: Path, training_split: list[TrainingClip], held_out: list[TrainingClip]
) -> None:
    models = train_seeds(
        training_split[:6],
        out_root=tmp_path,
        seeds=(0, 1),
        config=TrainConfig(epochs=1, batch_clips=3),
        validation=held_out[:4],
    )

    assert [m.model_dir.name for m in models] == ["seed-0", "seed-1"]
    assert [m.manifest.training["seed"] for m in models] == [0, 1]
    digests = {hashlib.sha256(m.onnx_path.read_bytes()).hexdigest() for m in models}
    assert len(digests) == 2  # independent models
    # Thresholds picked again on other held-out clips (another style), then scored on a test set.
    calibrate_model(models[0].model_dir, held_out[4:8])
    detector = Detector.load(models[0].model_dir)
    assert detector.manifest.training["recalibration"]["clips"] == 4
    test = held_out[8:]
    normal = [("still.mp4", held_out[-1].features)]
    numbers = summary(evaluate_clips(detector, test, normal_footage=normal))
    assert numbers["clips"] == len(test)
    for key in ("macro_f1", "event_recall", "ece", "ece_uncalibrated"):
        assert 0.0 <= numbers[key] <= 1.0, key
    assert numbers["false_alarm_hours"] > 0


def test_the_evidence_bench_reads_cumulative_configurations_with_the_baseline_first() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    try:
        from detector_evidence import DEFAULT_CONFIGS, name_of, parse_configs, ratio
    finally:
        sys.path.pop(0)
    configs = parse_configs(DEFAULT_CONFIGS)
    assert configs == [(), ("bg", "removed", "dwell"), ("bg", "removed", "dwell", "hog")]
    assert [name_of(c) for c in configs] == ["none", "bg,removed,dwell", "bg,removed,dwell,hog"]
    assert parse_configs("none; hog ,dwell") == [(), ("hog", "dwell")]
    assert ratio(0.9, 0.75) == "1.20" and ratio(0.5, 0.0) == "n/a"
