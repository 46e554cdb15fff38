"""The staged-scene synthesizer: clips that say they are synthetic everywhere, come out the
same for the same seed, carry labels and events that match what the frames show, and
take their backgrounds from redacted real footage when there is some."""

from __future__ import annotations

import json
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from PIL import Image

from vidonate.ingest.faces import detect_faces
from vidonate.ingest.redact import AUDIT_THRESHOLD
from vidonate.ingest.samples import test_media_dir
from vidonate.synth import (
    KINDS,
    LABEL_OF_KIND,
    SynthClip,
    SynthEvent,
    backgrounds,
    generate,
    load_clip,
    render_clip,
)
from vidonate.synth.cli import synth_command
from vidonate.synth.frames import marker_patch
from vidonate.synth.scene import background_source, plan_scene

MEDIA = test_media_dir()
SHORT = (3.0, 4.0)  # seconds: short clips keep the tests fast


def _media(name: str) -> Path:
    if MEDIA is None or not (MEDIA / name).is_file():
        pytest.skip(f"real footage absent ({name}): set VIDONATE_TEST_MEDIA or add ../shared/media")
    return MEDIA / name


def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def _sidecar(clip: SynthClip) -> dict:
    return json.loads(clip.sidecar.read_text())


@pytest.fixture(scope="module")
def no_media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A media folder with nothing in it: procedural backgrounds, whatever the machine has."""
    return tmp_path_factory.mktemp("no-media")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, no_media: Path) -> list[SynthClip]:
    """Two clips of each kind, 3-4 s long, on procedural backgrounds."""
    return generate(tmp_path_factory.mktemp("run"), 8, seed=11, media_dir=no_media, seconds=SHORT)


def test_kinds_take_turns_and_labels_follow_them(run: list[SynthClip]) -> None:
    assert [clip.kind for clip in run] == list(KINDS) * 2
    assert [clip.label for clip in run] == [LABEL_OF_KIND[clip.kind] for clip in run]
    assert LABEL_OF_KIND["delivery"] == LABEL_OF_KIND["passer_by"] == "normal_activity"


def test_kinds_can_be_restricted(tmp_path: Path, no_media: Path) -> None:
    clips = generate(tmp_path, 3, kinds=["delivery"], media_dir=no_media, seconds=(3.0, 3.0))
    assert {clip.kind for clip in clips} == {"delivery"}
    with pytest.raises(ValueError, match="unknown kind"):
        generate(tmp_path, 1, kinds=["burglary"], media_dir=no_media)


def test_sidecars_describe_each_clip(run: list[SynthClip]) -> None:
    for clip in run:
        record = _sidecar(clip)
        assert record["synthetic"] is True
        assert clip.path.name.startswith("synthetic-") and clip.sidecar.name.startswith(
            "synthetic-"
        )
        assert record["file"] == clip.path.name
        assert (record["kind"], record["label"]) == (clip.kind, clip.label)
        assert (record["fps"], record["width"], record["height"]) == (10, 640, 360)
        assert SHORT[0] <= record["duration"] <= SHORT[1]
        assert record["frames"] == round(record["duration"] * 10) == len(_frames(clip.path))
        assert isinstance(record["seed"], int)
        assert record["background"]["source"] == "procedural"
        variation = record["variation"]
        for key in ("camera", "lighting", "person", "layout", "walking_pace", "entry_side"):
            assert key in variation
        assert variation["entry_side"] in ("left", "right")
        assert load_clip(clip.sidecar) == clip


def test_events_lie_inside_the_clip_and_only_crimes_have_them(run: list[SynthClip]) -> None:
    for clip in run:
        record = _sidecar(clip)
        for event in clip.events:
            assert 0 <= event.start < event.end <= clip.duration
            assert event.label == clip.label
            # Event times are frame times.
            assert round(event.start * 10, 6) == round(event.start * 10)
        if clip.label == "normal_activity":
            assert record["events"] == [] and clip.events == ()
        elif clip.kind == "package_theft":
            assert len(clip.events) == 1
        else:
            assert 1 <= len(clip.events) <= 3


def test_every_frame_carries_the_synthetic_marker(run: list[SynthClip]) -> None:
    patch = marker_patch().astype(int)
    x0, y0, x1, y1 = _sidecar(run[0])["marker"]["box"]
    assert (x1 - x0, y1 - y0) == (patch.shape[1], patch.shape[0])
    letters = patch[:, :, 0] > 200
    for clip in run[:4]:
        for frame in _frames(clip.path):
            region = frame[y0:y1, x0:x1].astype(int)
            assert region[letters].mean() > 180  # white letters...
            assert region[~letters].mean() < 50  # ...on black, whatever the scene's light
            assert np.abs(region - patch).mean() < 20


def test_the_container_says_it_is_synthetic(run: list[SynthClip]) -> None:
    with av.open(str(run[0].path)) as container:
        assert container.metadata["comment"] == "vidonate synthetic scene"
        assert "SYNTHETIC" in container.metadata["title"]
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.codec_context.pix_fmt) == ("h264", "yuv420p")
        assert stream.average_rate == 10


def test_manifest_lists_every_clip(run: list[SynthClip]) -> None:
    manifest = json.loads((run[0].path.parent / "manifest.json").read_text())
    assert manifest["synthetic"] is True
    assert [entry["file"] for entry in manifest["clips"]] == [clip.path.name for clip in run]
    for entry, clip in zip(manifest["clips"], run, strict=True):
        assert entry["sidecar"] == clip.sidecar.name
        assert (entry["kind"], entry["label"]) == (clip.kind, clip.label)
        assert [SynthEvent(**e) for e in entry["events"]] == list(clip.events)


def test_same_seed_same_clips_and_a_longer_run_starts_the_same(
    run: list[SynthClip], tmp_path: Path, no_media: Path
) -> None:
    again = generate(tmp_path / "again", 8, seed=11, media_dir=no_media, seconds=SHORT)
    assert (tmp_path / "again" / "manifest.json").read_bytes() == (
        run[0].path.parent / "manifest.json"
    ).read_bytes()
    for first, second in zip(run, again, strict=True):
        assert first.sidecar.read_bytes() == second.sidecar.read_bytes()
    for first, second in zip(run[:2], again[:2], strict=True):
        assert all(
            np.array_equal(a, b)
            for a, b in zip(_frames(first.path), _frames(second.path), strict=True)
        )
    shorter = generate(tmp_path / "shorter", 2, seed=11, media_dir=no_media, seconds=SHORT)
    assert [c.sidecar.read_bytes() for c in shorter] == [c.sidecar.read_bytes() for c in run[:2]]
    other = generate(tmp_path / "other", 1, seed=12, media_dir=no_media, seconds=SHORT)
    assert other[0].sidecar.read_bytes() != run[0].sidecar.read_bytes()


def test_a_clip_of_a_run_is_rendered_again_from_its_seed_and_length(
    run: list[SynthClip], tmp_path: Path, no_media: Path
) -> None:
    record = _sidecar(run[0])
    again = render_clip(
        tmp_path / run[0].path.name,
        record["kind"],
        record["seed"],
        media_dir=no_media,
        seconds=record["duration"],
    )
    assert {k: v for k, v in _sidecar(again).items() if k != "run"} == {
        k: v for k, v in record.items() if k != "run"
    }
    assert all(
        np.array_equal(a, b) for a, b in zip(_frames(run[0].path), _frames(again.path), strict=True)
    )


def test_two_workers_make_the_same_clips_as_one(tmp_path: Path, no_media: Path) -> None:
    one = generate(tmp_path / "one", 2, seed=3, media_dir=no_media, seconds=(3.0, 3.0))
    seen: list[tuple[int, int]] = []
    two = generate(
        tmp_path / "two",
        2,
        seed=3,
        media_dir=no_media,
        seconds=(3.0, 3.0),
        workers=2,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen == [(1, 2), (2, 2)]
    for a, b in zip(one, two, strict=True):
        assert a.sidecar.read_bytes() == b.sidecar.read_bytes()
        assert a.path.read_bytes() == b.path.read_bytes()


def _cardboard(frame: np.ndarray, box: list[float]) -> float:
    """Fraction of the middle of `box` (screen pixels) that has the colour of cardboard."""
    x0, y0, x1, y1 = box
    dx, dy = (x1 - x0) * 0.2, (y1 - y0) * 0.2
    region = frame[round(y0 + dy) : round(y1 - dy), round(x0 + dx) : round(x1 - dx)]
    hsv = cv2.cvtColor(np.ascontiguousarray(region), cv2.COLOR_RGB2HSV)
    hue, sat, val = hsv[:, :, 0], hsv[:, :, 1], hsv[:, :, 2]
    return float(np.mean((hue >= 8) & (hue <= 22) & (sat > 70) & (val > 40)))


@pytest.mark.parametrize("index", [0, 4])
def test_a_theft_takes_the_box_away_with_the_thief(run: list[SynthClip], index: int) -> None:
    clip = run[index]
    record = _sidecar(clip)
    frames = _frames(clip.path)
    (event,) = clip.events
    start, end = round(event.start * 10), round(event.end * 10)
    box = record["objects"]["box_on_porch"]
    assert _cardboard(frames[0], box) > 0.3
    assert _cardboard(frames[start - 1], box) > 0.3  # still there when the thief arrives
    assert _cardboard(frames[-1], box) < 0.05
    # The event ends when the thief, box in hands, is out of view.
    assert record["person_boxes"][end - 1] is not None
    assert all(b is None for b in record["person_boxes"][end:])


@pytest.mark.parametrize("index", [2, 6])
def test_a_delivery_leaves_a_box_that_was_not_there(run: list[SynthClip], index: int) -> None:
    clip = run[index]
    record = _sidecar(clip)
    frames = _frames(clip.path)
    box = record["objects"]["box_on_porch"]
    assert _cardboard(frames[0], box) < 0.05
    assert _cardboard(frames[-1], box) > 0.3
    assert [run["action"] for run in record["timeline"] if run["action"] != "absent"] == [
        "walk",
        "put_down",
        "walk",
    ]


@pytest.mark.parametrize("index", [1, 5])
def test_tampering_stops_with_a_hand_on_a_door_handle(run: list[SynthClip], index: int) -> None:
    record = _sidecar(run[index])
    handles = [h for h in record["objects"]["door_handles"] if h is not None]
    tries = [r for r in record["timeline"] if r["action"] == "try_handle"]
    assert [(r["start"], r["end"]) for r in tries] == [(e.start, e.end) for e in run[index].events]
    for event in run[index].events:
        middle = round((event.start + event.end) / 2 * 10)
        x0, y0, x1, y1 = record["person_boxes"][middle]
        assert any(x0 <= hx <= x1 and y0 <= hy <= y1 for hx, hy in handles)


def test_a_passer_by_walks_and_may_wait_but_touches_nothing(run: list[SynthClip]) -> None:
    for clip in (run[3], run[7]):
        actions = {r["action"] for r in _sidecar(clip)["timeline"]}
        assert {"walk"} <= actions <= {"walk", "wait", "absent"}


def _passers_by(count: int) -> list:
    return [plan_scene("passer_by", seed, (6.0, 14.0)) for seed in range(count)]


def test_passers_by_stop_turn_back_and_linger_beside_cars() -> None:
    """The hard negatives: people who stop (by a car too) or turn, without an event."""
    scenes = _passers_by(60)
    waits = [s for s in scenes if any(leg.action == "wait" for leg in s.draft.legs)]
    turned = [s for s in scenes if len({g.facing for g in s.draft.legs if g.action == "walk"}) == 2]
    by_cars = [s for s in waits if s.layout.cars]
    gestures = {leg.gesture for s in waits for leg in s.draft.legs if leg.action == "wait"}
    assert len(waits) >= 20 and turned and by_cars
    assert gestures == {"", "look_back", "phone"}
    assert all(s.events == () for s in scenes)


def test_a_passer_by_beside_a_car_keeps_their_hands_off_its_handles() -> None:
    for scene in _passers_by(60):
        handles = [car.handle for car in scene.layout.cars]
        for moment in scene.moments:
            person = moment.person
            if person is None or moment.action != "wait" or person.reach_to is None:
                continue
            # A hand that rises goes to the ear, never to a handle.
            assert all(abs(person.reach_to[1] - hy) > 0.2 * scene.layout.unit for _, hy in handles)


@pytest.mark.parametrize("seed", range(24))
@pytest.mark.parametrize("seconds", [(6.0, 14.0), 3.0])
def test_every_plan_lets_the_person_come_and_go_inside_the_clip(
    seed: int, seconds: float | tuple[float, float]
) -> None:
    kind = KINDS[seed % 4]
    scene = plan_scene(kind, seed, seconds)
    low, high = seconds if isinstance(seconds, tuple) else (seconds, seconds)
    assert low <= scene.duration <= high
    assert scene.person_boxes[-1] is None  # gone before the end
    assert any(box is not None for box in scene.person_boxes)
    if kind == "package_theft":
        (event,) = scene.events
        first_pick = [m.action for m in scene.moments].index("pick_up")
        assert event.start == first_pick / scene.fps
        assert scene.person_boxes[round(event.end * scene.fps)] is None
        assert scene.person_boxes[round(event.end * scene.fps) - 1] is not None


def test_without_media_backgrounds_are_procedural(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIDONATE_TEST_MEDIA", str(tmp_path / "nowhere"))
    clip = render_clip(tmp_path / "synthetic-a.mp4", "passer_by", 5, seconds=3.0)
    assert _sidecar(clip)["background"] == {"source": "procedural"}
    assert clip.duration == 3.0


def test_with_media_backgrounds_come_from_real_footage(tmp_path: Path) -> None:
    media = _media("vtest.avi").parent
    sources = backgrounds.available_sources(media)
    seed = next(s for s in range(100) if background_source(s, sources) != "procedural")
    clip = render_clip(
        tmp_path / "synthetic-real.mp4", "delivery", seed, media_dir=media, seconds=3.0
    )
    background = _sidecar(clip)["background"]
    assert background["source"] == background_source(seed, sources)
    assert (media / background["source"]).is_file()
    assert len(background["crop"]) == 4


def test_real_faces_are_redacted_before_a_background_is_made() -> None:
    photo = _media("messi5.jpg")
    raw = np.asarray(Image.open(photo).convert("RGB"))
    assert len(detect_faces(raw, AUDIT_THRESHOLD)) >= 1  # the photo does show a face
    still = backgrounds.media_still(photo.parent, photo.name)
    assert still.faces >= 1
    assert len(detect_faces(still.image, AUDIT_THRESHOLD)) == 0
    image, _ = backgrounds.crop(still.image, np.random.default_rng(0), 640, 360)
    assert len(detect_faces(image, AUDIT_THRESHOLD)) == 0


def test_bad_requests_are_refused(tmp_path: Path, no_media: Path) -> None:
    with pytest.raises(ValueError, match="synthetic-"):
        render_clip(tmp_path / "theft.mp4", "package_theft", 1, media_dir=no_media)
    with pytest.raises(ValueError, match="unknown kind"):
        render_clip(tmp_path / "synthetic-x.mp4", "burglary", 1, media_dir=no_media)
    with pytest.raises(ValueError, match="clip lengths"):
        render_clip(tmp_path / "synthetic-x.mp4", "delivery", 1, media_dir=no_media, seconds=1.0)
    with pytest.raises(FileNotFoundError):
        render_clip(tmp_path / "synthetic-x.mp4", "delivery", 1, media_dir=tmp_path / "missing")


def test_command_renders_and_summarises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VIDONATE_TEST_MEDIA", str(tmp_path / "nowhere"))
    synth_command(tmp_path / "out", 2, seed=1, workers=1, kinds=["passer_by"])
    printed = capsys.readouterr().out
    assert "2 synthetic clips" in printed and "passer_by" in printed
    assert len(list((tmp_path / "out").glob("synthetic-*.mp4"))) == 2
