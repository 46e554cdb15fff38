"""A small synthetic set, rendered, decoded and trained on once per test session.

40 short clips from the staged-scene synthesizer, the four kinds in turn: the first 28 to
train on, the last 12 (three of each kind) held out. The model trained on them is shared
by the training and inference tests, so the expensive part runs once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from vidonate.detect.dataset import LabelledVideo, TrainingClip, extract_training_clips
from vidonate.detect.train import TrainConfig, TrainedModel, train
from vidonate.synth import SynthClip, generate

SMALL_SET = 40
HELD_OUT = 12
SMALL_SET_SECONDS = (5.0, 7.0)
# Enough passes over 28 short clips to learn them; about a minute on two cores.
SMALL_SET_EPOCHS = 30


@pytest.fixture(scope="session")
def synth_clips(tmp_path_factory: pytest.TempPathFactory) -> list[SynthClip]:
    folder = tmp_path_factory.mktemp("synth")
    return generate(folder, SMALL_SET, seed=11, seconds=SMALL_SET_SECONDS, workers=2)


@pytest.fixture(scope="session")
def labelled_clips(synth_clips: list[SynthClip]) -> list[TrainingClip]:
    return extract_training_clips([LabelledVideo.from_synth(c) for c in synth_clips], workers=2)


@pytest.fixture(scope="session")
def training_split(labelled_clips: list[TrainingClip]) -> list[TrainingClip]:
    return labelled_clips[: SMALL_SET - HELD_OUT]


@pytest.fixture(scope="session")
def held_out(labelled_clips: list[TrainingClip]) -> list[TrainingClip]:
    return labelled_clips[SMALL_SET - HELD_OUT :]


@pytest.fixture(scope="session")
def trained_model(
    tmp_path_factory: pytest.TempPathFactory, training_split: list[TrainingClip]
) -> TrainedModel:
    out = tmp_path_factory.mktemp("model")
    # A fifth held out inside train() picks the threshold, as in production.
    return train(
        training_split,
        out_dir=out,
        epochs=SMALL_SET_EPOCHS,
        seed=0,
        config=TrainConfig(validation_fraction=0.2),
    )


@pytest.fixture(scope="session")
def held_out_videos(synth_clips: list[SynthClip]) -> list[Path]:
    return [c.path for c in synth_clips[SMALL_SET - HELD_OUT :]]
