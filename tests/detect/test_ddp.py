"""Distributed training: torchrun, two processes, DDP on gloo, over a feature cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vidonate.detect.dataset import TrainingClip, save_features
from vidonate.detect.infer import Detector
from vidonate.detect.manifest import ModelManifest


@pytest.fixture(scope="module")
def ddp_run(
    tmp_path_factory: pytest.TempPathFactory,
    training_split: list[TrainingClip],
    held_out: list[TrainingClip],
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    folder = tmp_path_factory.mktemp("ddp")
    cache, validation = folder / "features.npz", folder / "validation.npz"
    # Eight clips, two of each kind: every rank gets a mix. The threshold is picked on
    # separate validation clips, as `vidonate train` does with a release's val split.
    save_features(cache, training_split[:8])
    save_features(validation, held_out)
    out = folder / "model"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            "-m",
            "vidonate.detect.train",
            "--features",
            str(cache),
            "--out",
            str(out),
            "--epochs",
            "2",
            "--seed",
            "3",
            "--validation",
            str(validation),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        cwd=folder,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return out, done


def test_both_ranks_trained_with_gloo(
    ddp_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    out, _ = ddp_run
    logs = [json.loads((out / "train_log" / f"rank{r}.json").read_text()) for r in (0, 1)]

    assert [log["rank"] for log in logs] == [0, 1]
    assert all(log["world_size"] == 2 and log["backend"] == "gloo" for log in logs)
    # Each rank ran the same number of steps over its own half of the clips.
    assert logs[0]["steps"] == logs[1]["steps"] > 0
    assert logs[0]["clips_seen"] == logs[1]["clips_seen"] > 0


def test_ranks_end_with_identical_weights(
    ddp_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    out, _ = ddp_run
    digests = {
        json.loads((out / "train_log" / f"rank{r}.json").read_text())["weights_sha256"]
        for r in (0, 1)
    }
    assert len(digests) == 1


def test_distributed_model_loads_and_runs(
    ddp_run: tuple[Path, subprocess.CompletedProcess[str]], held_out: list[TrainingClip]
) -> None:
    out, done = ddp_run
    manifest = ModelManifest.read(out)
    assert manifest.training["world_size"] == 2
    assert manifest.training["clips"] == 8
    assert manifest.training["validation_clips"] == len(held_out)
    assert json.loads(done.stdout.strip().splitlines()[-1])["model_dir"] == str(out)

    times, scores = Detector.load(out).frame_scores(held_out[0].features)
    assert scores.shape == (len(times), 2)
    assert ((scores >= 0) & (scores <= 1)).all()
