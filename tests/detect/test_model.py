"""Pieces of the detector tested without training: features, gate, event decoder, the
network's export, and the feature cache."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import onnxruntime as ort
import pytest
import torch

from vidonate.detect.augment import AugmentConfig, Augmenter
from vidonate.detect.dataset import TrainingClip, load_features, save_features, split_validation
from vidonate.detect.evaluation import CLASSES, Event
from vidonate.detect.events import DecoderConfig, decode_events, frame_targets, hysteresis_runs
from vidonate.detect.export import INPUT_NAME, export_onnx
from vidonate.detect.features import FEATURE_HEIGHT, FEATURE_WIDTH, ClipFeatures, extract_features
from vidonate.detect.gate import GateConfig, active_spans
from vidonate.detect.model import MODEL_CLASSES, ExportedTheftNet, ModelConfig, TheftNet
from vidonate.errors import UnsupportedMedia

FPS = 10.0


def _write_clip(path: Path, frames: np.ndarray, fps: int) -> Path:
    """frames (T, H, W) grey -> H.264 MP4 at `fps`."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "crf": "18"})
        stream.height, stream.width = frames.shape[1:]
        stream.pix_fmt = "yuv420p"
        for index, grey in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.repeat(grey[..., None], 3, -1), format="rgb24")
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def _moving_square(
    count: int, *, height: int = 180, width: int = 320, still_from: int | None = None
) -> np.ndarray:
    """A bright square walking right over a grey field; still from `still_from` on."""
    frames = np.full((count, height, width), 60, np.uint8)
    for index in range(count):
        step = index if still_from is None else min(index, still_from)
        x = (8 * step) % (width - 40)
        frames[index, 60:100, x : x + 40] = 220
    return frames


# ------------------------------------------------------------------------------ features


def test_features_resample_any_source_rate_to_ten_per_second(tmp_path: Path) -> None:
    video = _write_clip(tmp_path / "fast.mp4", _moving_square(50), fps=25)  # 2.0 s

    clip = extract_features(video)

    assert clip.frames.shape == (20, FEATURE_HEIGHT, FEATURE_WIDTH)
    assert clip.frames.dtype == np.uint8
    np.testing.assert_allclose(clip.times, np.arange(20) / FPS, atol=1e-6)
    assert clip.duration == pytest.approx(2.0)
    assert (clip.source_width, clip.source_height) == (320, 180)
    # Ticks 0.1 s apart are 2.5 source frames apart: the square moves between them.
    assert np.abs(np.diff(clip.frames.astype(int), axis=0)).max() > 100


def test_features_hold_frames_of_a_slow_source(tmp_path: Path) -> None:
    video = _write_clip(tmp_path / "slow.mp4", _moving_square(10), fps=5)  # 2.0 s

    clip = extract_features(video)

    assert len(clip.frames) == 20
    # Each source frame covers two ticks.
    np.testing.assert_array_equal(clip.frames[0::2], clip.frames[1::2])


def test_features_refuse_what_is_not_video(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00" * 1000)
    with pytest.raises(UnsupportedMedia):
        extract_features(junk)


# ---------------------------------------------------------------------------------- gate


def test_gate_skips_still_stretches_and_keeps_a_margin_around_motion() -> None:
    frames = np.full((300, FEATURE_HEIGHT, FEATURE_WIDTH), 80, np.uint8)
    frames[150:160, 20:30, 40:50] = 200  # something appears for one second at 15 s
    config = GateConfig(margin_s=3.0)

    spans = active_spans(frames, FPS, config)

    assert spans == [(150 - 30, 161 + 30)]
    assert active_spans(np.full((100, 54, 96), 80, np.uint8), FPS, config) == []


def test_gate_ignores_noise_below_the_pixel_threshold() -> None:
    rng = np.random.default_rng(0)
    frames = (100 + rng.integers(-4, 5, size=(50, 54, 96))).astype(np.uint8)
    assert active_spans(frames, FPS, GateConfig()) == []


# ------------------------------------------------------------------------- event decoder


def _curve(length: int, *spans: tuple[int, int, float]) -> np.ndarray:
    curve = np.zeros(length)
    for first, stop, value in spans:
        curve[first:stop] = value
    return curve


def _decode(theft: np.ndarray, tamper: np.ndarray | None = None, **overrides: float) -> list[Event]:
    tamper = np.zeros_like(theft) if tamper is None else tamper
    config = DecoderConfig(
        **{
            "high": 0.6,
            "low": 0.3,
            "smooth_s": 0.1,
            "min_duration_s": 1.0,
            "merge_gap_s": 1.0,
            **overrides,
        }
    )
    times = np.arange(len(theft)) / FPS
    return decode_events(times, np.stack([theft, tamper], 1), CLASSES, config, fps=FPS)


def test_hysteresis_opens_above_high_and_closes_below_low() -> None:
    curve = _curve(100, (10, 20, 0.4), (20, 30, 0.9), (30, 45, 0.4), (60, 80, 0.5))
    # The run 60..80 never reaches 0.6: no event there.
    assert hysteresis_runs(curve, high=0.6, low=0.3) == [(10, 44)]


def test_decoder_gives_start_end_label_and_peak_score() -> None:
    events = _decode(_curve(100, (20, 50, 0.8), (30, 31, 0.95)))

    assert len(events) == 1
    event = events[0]
    assert (event.start, event.end, event.label) == (
        pytest.approx(2.0),
        pytest.approx(5.0),
        "package_theft",
    )
    assert event.score == pytest.approx(0.95)


def test_decoder_drops_blips_shorter_than_min_duration() -> None:
    assert _decode(_curve(100, (20, 27, 0.9))) == []  # 0.7 s
    assert len(_decode(_curve(100, (20, 27, 0.9)), min_duration_s=0.5)) == 1


def test_decoder_merges_short_gaps_and_keeps_long_ones() -> None:
    short_gap = _decode(_curve(120, (10, 30, 0.9), (38, 60, 0.9)))  # 0.8 s apart
    long_gap = _decode(_curve(120, (10, 30, 0.9), (60, 90, 0.9)))  # 3 s apart

    assert [(e.start, e.end) for e in short_gap] == [(pytest.approx(1.0), pytest.approx(6.0))]
    assert len(long_gap) == 2


def test_decoder_smoothing_ignores_a_single_frame_spike() -> None:
    spike = _curve(100, (40, 41, 1.0))
    assert _decode(spike, smooth_s=0.5, min_duration_s=0.0) == []


def test_decoder_keeps_the_stronger_of_two_overlapping_classes() -> None:
    theft = _curve(100, (20, 60, 0.7))
    tamper = _curve(100, (25, 60, 0.9))
    events = _decode(theft, tamper)
    assert [e.label for e in events] == ["car_door_tampering"]


def test_decoder_reports_each_class_separately_when_apart() -> None:
    events = _decode(_curve(200, (20, 50, 0.9)), _curve(200, (120, 160, 0.8)))
    assert [e.label for e in events] == ["package_theft", "car_door_tampering"]


def test_frame_targets_follow_events_half_open() -> None:
    times = np.arange(30) / FPS
    events = [Event(1.0, 1.5, "car_door_tampering")]
    targets = frame_targets(times, events, MODEL_CLASSES)
    assert targets[10:15].tolist() == [2] * 5
    assert targets[:10].sum() == 0 and targets[15:].sum() == 0


# ------------------------------------------------------------------------ network export


def test_onnx_export_matches_pytorch_for_any_batch_and_length(tmp_path: Path) -> None:
    torch.manual_seed(3)
    net = TheftNet(ModelConfig()).eval()
    path = export_onnx(net, tmp_path / "model.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)

    for shape in [(1, 7), (2, 57), (1, 130)]:
        frames = rng.integers(0, 256, size=(*shape, FEATURE_HEIGHT, FEATURE_WIDTH), dtype=np.uint8)
        exported = session.run(None, {INPUT_NAME: frames})[0]
        with torch.no_grad():
            reference = ExportedTheftNet(net)(torch.from_numpy(frames)).numpy()
        assert exported.shape == (*shape, len(MODEL_CLASSES))
        np.testing.assert_allclose(exported, reference, atol=1e-5)
        np.testing.assert_allclose(exported.sum(-1), 1.0, atol=1e-5)


def test_the_encoder_looks_at_every_second_frame_and_holds_its_output() -> None:
    """Outputs come in pairs: a frame between two encoded ones shares its output (the
    motion channel still sees it, through the difference with the previous frame)."""
    torch.manual_seed(1)
    net = TheftNet(ModelConfig()).eval()
    assert net.config.frame_stride == 2
    frames = torch.randint(0, 256, (1, 31, FEATURE_HEIGHT, FEATURE_WIDTH)).float()
    with torch.no_grad():
        logits = net(frames)[0]
    assert logits.shape == (31, len(MODEL_CLASSES))
    assert torch.equal(logits[0::2][:15], logits[1::2])
    assert not torch.equal(logits[0], logits[2])


def test_a_model_saved_before_the_stride_rebuilds_as_it_was() -> None:
    saved = ModelConfig().to_json()
    del saved["frame_stride"]
    assert ModelConfig.from_json(saved).frame_stride == 1
    assert ModelConfig.from_json(ModelConfig().to_json()) == ModelConfig()


def test_network_output_depends_only_on_frames_within_its_receptive_field() -> None:
    """A change far outside the receptive field leaves an output frame untouched."""
    torch.manual_seed(0)
    net = TheftNet(ModelConfig()).eval()
    reach = net.config.receptive_field // 2
    frames = torch.full((1, 4 * reach, FEATURE_HEIGHT, FEATURE_WIDTH), 90.0)
    changed = frames.clone()
    changed[0, 2 * reach] = 200.0  # one frame changes, in the middle
    with torch.no_grad():
        a, b = net(frames), net(changed)
    assert torch.equal(a[0, : reach - 1], b[0, : reach - 1])
    assert torch.equal(a[0, 3 * reach + 1 :], b[0, 3 * reach + 1 :])
    assert not torch.equal(a[0, 2 * reach], b[0, 2 * reach])


# --------------------------------------------------------------------------- the cache


def _clip(index: int, length: int, label: str, events: tuple[Event, ...]) -> TrainingClip:
    frames = np.full((length, FEATURE_HEIGHT, FEATURE_WIDTH), index, np.uint8)
    features = ClipFeatures(frames, np.arange(length, dtype=np.float32) / 10, 10.0, 640, 360)
    return TrainingClip(features=features, label=label, events=events, clip_id=f"c{index}")


def test_feature_cache_round_trips(tmp_path: Path) -> None:
    clips = [
        _clip(1, 30, "package_theft", (Event(0.5, 2.0, "package_theft", 1.0),)),
        _clip(2, 45, "normal_activity", ()),
        _clip(
            3,
            12,
            "car_door_tampering",
            (Event(0.1, 0.4, "car_door_tampering"), Event(0.6, 1.0, "car_door_tampering")),
        ),
    ]
    save_features(tmp_path / "cache.npz", clips)

    loaded = load_features(tmp_path / "cache.npz")

    assert [c.clip_id for c in loaded] == ["c1", "c2", "c3"]
    for before, after in zip(clips, loaded, strict=True):
        np.testing.assert_array_equal(before.features.frames, after.features.frames)
        np.testing.assert_allclose(before.features.times, after.features.times)
        assert (after.label, after.events) == (before.label, before.events)


def test_validation_split_is_stratified_and_repeatable() -> None:
    clips = [_clip(i, 5, ("package_theft", "normal_activity")[i % 2], ()) for i in range(20)]
    train, validation = split_validation(clips, 0.2, seed=4)

    assert len(validation) == 4 and len(train) == 16
    assert sorted(c.label for c in validation) == ["normal_activity"] * 2 + ["package_theft"] * 2
    assert [c.clip_id for c in split_validation(clips, 0.2, seed=4)[1]] == [
        c.clip_id for c in validation
    ]


# ------------------------------------------------------------------------- augmentation


def _runs(targets: np.ndarray) -> list[tuple[int, int]]:
    """(class, length) of each run of event frames."""
    runs, start = [], None
    for index, value in enumerate([*targets.tolist(), 0]):
        if start is not None and value != targets[start]:
            runs.append((int(targets[start]), index - start))
            start = None
        if start is None and value != 0:
            start = index
    return runs


def test_cuts_join_clips_without_cutting_an_event_in_half_or_growing_longer() -> None:
    clips = [
        _clip(1, 60, "package_theft", (Event(2.0, 3.5, "package_theft"),)),
        _clip(
            2,
            80,
            "car_door_tampering",
            (Event(1.0, 2.0, "car_door_tampering"), Event(4.0, 5.2, "car_door_tampering")),
        ),
        _clip(3, 50, "normal_activity", ()),
    ]
    targets = [frame_targets(c.features.times, c.events, MODEL_CLASSES) for c in clips]
    whole_events = {run for t in targets for run in _runs(t)}
    augmenter = Augmenter(
        clips, targets, AugmentConfig(cut=1.0, extra_person=0.0, marker=0.0, clutter=0.0)
    )
    rng = np.random.default_rng(0)

    joined = 0
    for draw in range(60):
        frames, drawn = augmenter.sample(draw % 3, rng)
        assert len(frames) == len(drawn)
        # A longer clip would pad its whole batch: training time, not information.
        assert len(frames) <= len(clips[draw % 3].features.frames)
        assert set(_runs(drawn)) <= whole_events
        # Frames carry their clip's fill value: labels travel with their frames.
        for value, target in zip(frames[:, 0, 0], drawn, strict=True):
            assert target == 0 or clips[value - 1].label == MODEL_CLASSES[target]
        joined += len(set(frames[:, 0, 0].tolist())) > 1
    assert joined > 10


def test_clutter_changes_how_the_place_looks_but_not_what_moves() -> None:
    rng = np.random.default_rng(0)
    frames = np.full((30, FEATURE_HEIGHT, FEATURE_WIDTH), 120, np.uint8)
    for index in range(30):
        frames[index, 20:30, 3 * index : 3 * index + 6] = 60  # someone walks across
    busy = rng.integers(40, 200, (30, FEATURE_HEIGHT, FEATURE_WIDTH)).astype(np.uint8)
    clips = [
        TrainingClip(
            ClipFeatures(frames, np.arange(30, dtype=np.float32) / 10, 10.0, 1, 1),
            "package_theft",
            (Event(1.0, 2.0, "package_theft"),),
            "walker",
        ),
        TrainingClip(
            ClipFeatures(
                np.repeat(busy[:1], 30, 0), np.arange(30, dtype=np.float32) / 10, 10, 1, 1
            ),
            "normal_activity",
            (),
            "busy place",
        ),
    ]
    targets = [frame_targets(c.features.times, c.events, MODEL_CLASSES) for c in clips]
    config = AugmentConfig(cut=0.0, extra_person=0.0, marker=0.0, clutter=1.0)
    augmenter = Augmenter(clips, targets, config)

    changed = 0  # the detail drawn is the busy place's half of the time, the walker's own else
    for _ in range(20):
        drawn, labels = augmenter.sample(0, rng)
        np.testing.assert_array_equal(labels, targets[0])
        changed += not np.array_equal(drawn, frames)
        # The same detail on every frame: frame-to-frame differences are the walker's alone.
        motion = np.abs(np.diff(drawn.astype(np.int16), axis=0)) > 0
        assert not motion[:, :20].any() and not motion[:, 30:].any()
    assert changed >= 5


def test_pasted_people_and_covered_marker_keep_the_labels() -> None:
    moving = np.full((40, FEATURE_HEIGHT, FEATURE_WIDTH), 50, np.uint8)
    for index in range(40):
        moving[index, 20:40, 2 * index : 2 * index + 8] = 250  # someone walks across
    lender = TrainingClip(
        ClipFeatures(moving, np.arange(40, dtype=np.float32) / 10, 10.0, 1, 1),
        "normal_activity",
        (),
        "walker",
    )
    theft = _clip(100, 40, "package_theft", (Event(1.0, 2.0, "package_theft"),))
    clips = [theft, lender]
    targets = [frame_targets(c.features.times, c.events, MODEL_CLASSES) for c in clips]
    augmenter = Augmenter(
        clips, targets, AugmentConfig(cut=0.0, extra_person=1.0, marker=1.0, clutter=0.0)
    )

    frames, drawn = augmenter.sample(0, np.random.default_rng(2))

    np.testing.assert_array_equal(drawn, targets[0])
    assert (frames == 250).any()  # the walker, pasted in
    corner = frames[:, :4, :14]
    assert (corner == corner.flat[0]).all()  # the SYNTHETIC label covered
