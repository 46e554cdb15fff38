"""Behaviour-level evidence maps on small generated scenes, and a network that reads them."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import torch

from vidonate.detect.augment import AugmentConfig, Augmenter
from vidonate.detect.dataset import (
    LabelledVideo,
    TrainingClip,
    extract_training_clips,
    load_features,
    save_features,
)
from vidonate.detect.evidence import EVIDENCE_CHANNELS, MissingHogMap, clip_evidence, evidence_maps
from vidonate.detect.export import EVIDENCE_INPUT_NAME, INPUT_NAME
from vidonate.detect.features import (
    ClipFeatures,
    HogConfig,
    HogPersonMapper,
    extract_features,
    uniform_times,
)
from vidonate.detect.manifest import ModelManifest
from vidonate.detect.model import ExportedEvidenceTheftNet, ModelConfig, TheftNet
from vidonate.detect.train import TrainConfig, _collate, batch_evidence, train
from vidonate.synth import SynthClip

H, W = 54, 96


def _scene(count: int) -> np.ndarray:
    """A grey field with a little texture, the same in every frame."""
    rng = np.random.default_rng(0)
    field = np.clip(80 + rng.normal(0, 3, (H, W)), 0, 255).astype(np.uint8)
    return np.repeat(field[None], count, axis=0)


def _walker(frames: np.ndarray, column_of: list[int | None]) -> np.ndarray:
    """A bright 8×4 person at column ``column_of[t]`` (rows 30-38) in frame t, or nobody."""
    out = frames.copy()
    for index, column in enumerate(column_of):
        if column is not None:
            out[index, 30:38, column : column + 4] = 220
    return out


def test_a_moving_blob_is_foreground_where_it_is_and_nowhere_else() -> None:
    frames = _walker(_scene(60), [None] * 20 + [10 + 2 * i for i in range(40)])
    bg = evidence_maps(frames, ["bg"])[:, 0]

    at = 45  # the walker is at column 10 + 2 * 25 = 60
    assert bg[at, 30:38, 60:64].mean() > 200
    outside = bg[at].copy()
    outside[28:40, 56:68] = 0
    assert outside.max() == 0
    assert bg[:20].max() == 0  # before anyone comes: nothing


def test_a_box_taken_where_a_person_was_leaves_a_removed_response() -> None:
    frames = _scene(100)
    frames[:, 10:18, 70:80] = 200  # a box, the far one never touched
    frames[:50, 40:46, 20:30] = 170  # the box that will be taken
    # A person walks in, stands at the near box while it goes, and walks away.
    path = [None] * 20 + [2 + i for i in range(18)] + [20] * 12 + [20 + 3 * i for i in range(20)]
    frames = _walker(frames, path + [None] * (100 - len(path)))
    frames[:50, 40:46, 20:30] = np.where(frames[:50, 40:46, 20:30] == 220, 220, 170)
    removed = evidence_maps(frames, ["removed"])[:, 0]

    after = removed[52:70]
    assert after[:, 40:46, 20:30].mean() > 100  # where the box was, just after it went
    assert removed[:, 10:18, 70:80].max() == 0  # the untouched box
    assert removed[:20].max() == 0  # before anyone came
    assert removed[95:, 40:46, 20:30].mean() < after[:, 40:46, 20:30].mean()  # it fades


def test_dwell_is_high_where_someone_lingers_and_low_where_they_pass() -> None:
    # Someone walks in, shuffles on the spot at column 20 for 4 s, then walks right, fast.
    path: list[int | None] = [None] * 20 + [2 * i for i in range(10)]
    path += [20 + (i % 2) for i in range(40)] + [24 + 4 * i for i in range(17)]
    dwell = evidence_maps(_walker(_scene(len(path)), path), ["dwell"])[:, 0]
    assert dwell[69, 30:38, 21:24].mean() > 150
    assert dwell[-1, 30:38, 80:84].mean() < 60


def test_channels_are_chosen_one_by_one_and_unknown_ones_refused() -> None:
    frames = _walker(_scene(30), [5 + i for i in range(30)])
    both = evidence_maps(frames, ["dwell", "bg"])
    assert both.shape == (30, 2, H, W) and both.dtype == np.uint8
    np.testing.assert_array_equal(both[:, 1], evidence_maps(frames, ["bg"])[:, 0])
    assert set(EVIDENCE_CHANNELS) == {"bg", "removed", "dwell", "hog"}
    with pytest.raises(ValueError, match="unknown evidence"):
        evidence_maps(frames, ["tracks"])


def test_batch_evidence_is_what_inference_computes_on_the_rounded_frames() -> None:
    frames = _walker(_scene(30), [5 + i for i in range(30)])
    batch = torch.from_numpy(frames[None]).float() + 0.2  # as varied training frames are
    np.testing.assert_array_equal(
        batch_evidence(batch, ["bg", "removed"])[0].numpy(),
        evidence_maps(frames, ["bg", "removed"]),
    )


def test_a_network_with_evidence_exports_what_it_computes(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = TheftNet(ModelConfig(evidence=("bg", "removed", "dwell"))).eval()
    frames = _walker(_scene(70), [None] * 10 + [5 + i for i in range(60)])[None]
    evidence = evidence_maps(frames[0], net.config.evidence)[None]
    with torch.no_grad():
        out = ExportedEvidenceTheftNet(net)(torch.from_numpy(frames), torch.from_numpy(evidence))
    assert out.shape == (1, 70, 3)
    with pytest.raises(ValueError, match="reads evidence"):
        net(torch.from_numpy(frames).float())


@pytest.mark.training
def test_a_model_with_evidence_trains_exports_and_detects(
    tmp_path: Path, training_split: list[TrainingClip], held_out: list[TrainingClip]
) -> None:
    config = TrainConfig(evidence=("bg", "removed", "dwell"), batch_clips=3)
    trained = train(training_split[:6], out_dir=tmp_path, epochs=1, config=config,
                    validation=held_out[:3])  # fmt: skip

    assert trained.manifest.evidence == ("bg", "removed", "dwell")
    assert ModelManifest.read(tmp_path).evidence == ("bg", "removed", "dwell")
    assert trained.manifest.training["onnx_max_abs_diff"] < 1e-4
    detector = trained.detector()
    assert [i.name for i in detector.session.get_inputs()] == [INPUT_NAME, EVIDENCE_INPUT_NAME]
    detection = detector.analyse(held_out[0].features)
    assert detection.scores.shape == (len(held_out[0].features.frames), 2)
    assert np.isfinite(detection.scores).all()


def test_evidence_is_off_and_thresholds_per_class_by_default() -> None:
    assert TrainConfig().evidence == () and ModelConfig().evidence == ()
    assert TrainConfig().per_class_thresholds is True


# --- The HOG person map (OpenCV 4's people detector, run at decode time) ---------------

MEDIA = Path(os.environ.get("VIDONATE_TEST_MEDIA", "/nonexistent"))


def test_opencv_ships_the_hog_people_detector() -> None:
    # OpenCV 5 dropped it; pyproject.toml holds OpenCV below 5 so the "hog" evidence runs.
    assert hasattr(cv2, "HOGDescriptor")
    assert cv2.HOGDescriptor.getDefaultPeopleDetector().size > 0


def _write(path: Path, frames: list[np.ndarray], fps: int = 10) -> Path:
    """Grey frames as an H.264 file."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.height, stream.width = frames[0].shape
        stream.pix_fmt = "yuv420p"
        for grey in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(grey, format="gray")))
        out.mux(stream.encode())
    return path


def _vtest_frames(count: int) -> list[np.ndarray]:
    """The first ``count`` frames of vtest.avi (a street with several pedestrians), grey."""
    with av.open(str(MEDIA / "vtest.avi")) as container:
        frames = []
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="gray"))
            if len(frames) == count:
                return frames
    return frames


@pytest.mark.skipif(not (MEDIA / "vtest.avi").exists(), reason="shared media absent")
def test_the_hog_map_finds_the_pedestrians_of_vtest(tmp_path: Path) -> None:
    mapper = HogPersonMapper(HogConfig(), W, H)
    frames = _vtest_frames(20)
    for grey in frames[::10]:
        boxes, _ = mapper.detect(grey)
        assert len(boxes) >= 2  # several people walk through every frame
        person = mapper.person_map(grey)
        assert person.shape == (H, W) and 0 < (person > 0).mean() < 0.5
        assert person.max() >= 128
    # Through the decoder: every tick carries the map of the latest HOG tick.
    clip = extract_features(_write(tmp_path / "street.mp4", frames), hog=True)
    assert clip.hog is not None and clip.hog.shape == clip.frames.shape
    assert all(clip.hog[t].max() >= 128 for t in range(len(clip.hog)))
    np.testing.assert_array_equal(clip.hog[1:5], np.repeat(clip.hog[:1], 4, axis=0))
    assert extract_features(tmp_path / "street.mp4").hog is None  # off by default


def test_the_hog_map_is_empty_on_an_empty_scene(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    field = cv2.GaussianBlur(rng.integers(40, 200, (360, 640)).astype(np.uint8), (0, 0), 3)
    clip = extract_features(_write(tmp_path / "empty.mp4", [field] * 15), hog=True)
    assert clip.hog is not None and clip.hog.shape == (15, H, W)
    assert clip.hog.max() == 0
    assert clip_evidence(clip, ["hog", "bg"])[:, 0].max() == 0


def test_without_the_hog_map_the_hog_channel_says_to_re_extract(
    held_out: list[TrainingClip],
) -> None:
    clip = held_out[0]
    assert clip.features.hog is None
    with pytest.raises(MissingHogMap, match=r"re-extract the clip with .*hog=True"):
        clip_evidence(clip.features, ["bg", "hog"])
    with pytest.raises(MissingHogMap):
        Augmenter([clip], [np.zeros(len(clip.features.frames), int)], AugmentConfig(), hog=True)


def test_training_moves_the_hog_map_with_its_frames_and_leaves_its_light() -> None:
    # A map equal to the frames must stay equal to them through every change of place and
    # time (cuts, mirror, camera motion), here with no change of light (pasted people are
    # laid over the map by maximum, not copied, so they are left out here).
    clips = []
    for shift in range(3):
        frames = _walker(_scene(40), [4 + 2 * i + shift for i in range(40)])
        features = ClipFeatures(frames, uniform_times(40, 10.0), 10.0, 640, 360, hog=frames)
        clips.append(TrainingClip(features, "normal_activity", (), f"c{shift}"))
    config = AugmentConfig(
        flip=0.5, gain=(1.0, 1.0), offset=(0.0, 0.0), marker=0.0, cut=1.0, camera_motion=1.0,
        clutter=0.0, extra_person=0.0,
    )  # fmt: skip
    augmenter = Augmenter(clips, [np.zeros(40, int)] * 3, config, hog=True)
    rng = np.random.default_rng(3)
    for _ in range(4):
        frames, _, _, hog = _collate(augmenter, np.arange(3), rng)
        assert hog is not None
        np.testing.assert_allclose(hog.numpy(), frames.numpy(), atol=1e-3)
    # Light changes the frames, not the map (the detector saw the real picture).
    lit = Augmenter(clips, [np.zeros(40, int)] * 3, replace(config, gain=(1.3, 1.3)), hog=True)
    frames, _, _, hog = _collate(lit, np.arange(3), np.random.default_rng(3))
    assert hog is not None and not np.allclose(hog.numpy(), frames.numpy(), atol=1)


def test_the_feature_cache_carries_the_hog_map(
    tmp_path: Path, held_out: list[TrainingClip]
) -> None:
    rng = np.random.default_rng(1)
    with_hog = []
    for clip in held_out[:2]:
        hog = rng.integers(0, 256, clip.features.frames.shape, np.uint8)
        with_hog.append(replace(clip, features=replace(clip.features, hog=hog)))
    save_features(tmp_path / "hog.npz", with_hog)
    loaded = load_features(tmp_path / "hog.npz")
    for saved, back in zip(with_hog, loaded, strict=True):
        np.testing.assert_array_equal(back.features.hog, saved.features.hog)
    save_features(tmp_path / "plain.npz", held_out[:2])
    assert all(c.features.hog is None for c in load_features(tmp_path / "plain.npz"))
    with pytest.raises(ValueError, match="HOG person map"):
        save_features(tmp_path / "mixed.npz", [with_hog[0], held_out[1]])


@pytest.mark.training
def test_a_model_reading_the_hog_map_trains_exports_and_detects(
    tmp_path: Path, synth_clips: list[SynthClip]
) -> None:
    videos = [LabelledVideo.from_synth(c) for c in synth_clips]
    clips = extract_training_clips(videos[:6] + videos[-3:], workers=2, hog=True)
    assert all(c.features.hog is not None for c in clips)
    assert any(c.features.hog.max() > 0 for c in clips)  # type: ignore[union-attr]
    config = TrainConfig(evidence=("hog",), batch_clips=3)
    trained = train(clips[:6], out_dir=tmp_path, epochs=2, config=config, validation=clips[6:])

    assert ModelManifest.read(tmp_path).evidence == ("hog",)
    assert trained.manifest.training["onnx_max_abs_diff"] < 1e-4
    detector = trained.detector()
    # Inference decodes with the HOG map itself, as training did.
    from_file = detector.analyse(videos[-1].path)
    from_features = detector.analyse(clips[-1].features)
    np.testing.assert_allclose(from_file.scores, from_features.scores, atol=1e-6)
    assert np.isfinite(from_file.scores).all()
    with pytest.raises(MissingHogMap):
        detector.analyse(replace(clips[-1].features, hog=None))
