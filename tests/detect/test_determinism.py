"""Same seed, same machine, same model: two trainings in fresh processes agree bit for bit.

Each run is a new Python process (as two bench runs are), so nothing carried over in one
interpreter (an RNG state, a warm cache, thread pools already started) can hide a source of
variation. The tiny run keeps it to seconds: six clips, two epochs.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vidonate.detect.dataset import TrainingClip, save_features
from vidonate.detect.features import extract_many

pytestmark = pytest.mark.training


def _train_in_a_fresh_process(features: Path, validation: Path, out: Path) -> None:
    command = [
        sys.executable, "-m", "vidonate.detect.train", "--features", str(features),
        "--validation", str(validation), "--out", str(out), "--epochs", "2", "--seed", "3",
    ]  # fmt: skip
    environment = {key: value for key, value in os.environ.items() if key not in ("RANK",)}
    finished = subprocess.run(command, env=environment, capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr[-3000:]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_two_trainings_with_one_seed_give_the_same_bytes(
    tmp_path: Path, training_split: list[TrainingClip], held_out: list[TrainingClip]
) -> None:
    save_features(tmp_path / "train.npz", training_split[:6])
    save_features(tmp_path / "val.npz", held_out[:6])
    runs = [tmp_path / "a", tmp_path / "b"]
    for out in runs:
        _train_in_a_fresh_process(tmp_path / "train.npz", tmp_path / "val.npz", out)

    first, second = (json.loads((out / "model.json").read_text()) for out in runs)
    logs = [json.loads((out / "train_log" / "rank0.json").read_text()) for out in runs]
    assert logs[0]["weights_sha256"] == logs[1]["weights_sha256"]
    assert _sha256(runs[0] / "model.onnx") == _sha256(runs[1] / "model.onnx")
    assert first["decoder"] == second["decoder"]  # the calibrated thresholds
    assert first.get("calibration") == second.get("calibration")
    assert first["training"]["validation"] == second["training"]["validation"]
    pinned = first["training"]["determinism"]
    assert pinned["deterministic_algorithms"] is True
    assert pinned["intra_op_threads"] >= 1 and pinned["onnxruntime_threads"] == 1


def test_feature_extraction_in_workers_keeps_input_order(synth_clips: list) -> None:
    videos = [clip.path for clip in synth_clips[:5]][::-1]
    serial = extract_many(videos, workers=1)
    parallel = extract_many(videos, workers=2)
    assert [f.frames.tobytes() for f in serial] == [f.frames.tobytes() for f in parallel]
