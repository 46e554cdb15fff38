"""Rendering styles: every family draws every kind of scene, the events do not depend on
the style, the looks really differ, and the camera rig varies per clip within its ranges."""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import av
import numpy as np
import pytest
import typer

from vidonate.ingest.samples import test_media_dir
from vidonate.synth import (
    ALL_STYLES,
    EXAM_STYLE,
    KINDS,
    TRAINING_STYLES,
    SynthClip,
    generate,
    load_clip,
    render_clip,
)
from vidonate.synth.cli import synth_command
from vidonate.synth.render import action_points
from vidonate.synth.rig import FPS_RANGE, Rig, RigOptics, aimed
from vidonate.synth.scene import plan_scene, streams
from vidonate.synth.styles import expand_styles

SEED = 11
SECONDS = 3.0


def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def _sidecar(clip: SynthClip) -> dict:
    return json.loads(clip.sidecar.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def no_media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("no-media")


@pytest.fixture(scope="module")
def drawn(
    tmp_path_factory: pytest.TempPathFactory, no_media: Path
) -> dict[tuple[str, str], SynthClip]:
    """One short clip of every kind in every style, all from the same seed."""
    out = tmp_path_factory.mktemp("styles")
    return {
        (style, kind): render_clip(
            out / f"synthetic-{style}-{kind}.mp4",
            kind,
            SEED,
            style=style,
            media_dir=no_media,
            seconds=SECONDS,
        )
        for style in ALL_STYLES
        for kind in KINDS
    }


def test_the_registry_has_four_training_families_and_a_held_out_exam() -> None:
    assert len(TRAINING_STYLES) >= 4 and TRAINING_STYLES[0] == "classic"
    assert EXAM_STYLE not in TRAINING_STYLES
    assert expand_styles(["all-training", "classic"]) == TRAINING_STYLES
    assert expand_styles(["all"]) == ALL_STYLES
    assert (*TRAINING_STYLES, EXAM_STYLE) == ALL_STYLES


def test_every_style_renders_every_kind_as_a_sane_clip(
    drawn: dict[tuple[str, str], SynthClip],
) -> None:
    for (style, kind), clip in drawn.items():
        record = _sidecar(clip)
        frames = _frames(clip.path)
        assert len(frames) == record["frames"] == len(record["person_boxes"]), (style, kind)
        assert frames[0].shape == (record["height"], record["width"], 3)
        assert FPS_RANGE[0] <= record["fps"] <= FPS_RANGE[1]
        assert record["duration"] == pytest.approx(record["frames"] / record["fps"])
        assert SECONDS <= clip.duration < SECONDS + 1 / record["fps"] + 1e-9
        assert clip.style == style == record["style"] == load_clip(clip.sidecar).style
        assert clip.kind == kind


def test_events_exist_only_for_crimes_and_do_not_depend_on_the_style(
    drawn: dict[tuple[str, str], SynthClip],
) -> None:
    for kind in KINDS:
        events = {style: drawn[style, kind].events for style in ALL_STYLES}
        assert len(set(events.values())) == 1, (kind, events)
        found = events["classic"]
        if kind in ("package_theft", "car_door_tampering"):
            assert found and all(0 <= e.start < e.end <= SECONDS for e in found)
            assert all(e.label == kind for e in found)
        else:
            assert found == ()
        timelines = {json.dumps(_sidecar(drawn[s, kind])["timeline"]) for s in ALL_STYLES}
        assert len(timelines) == 1


def test_styles_look_substantially_different(
    drawn: dict[tuple[str, str], SynthClip],
) -> None:
    for kind in KINDS:
        middles = {}
        for style in ALL_STYLES:
            frames = _frames(drawn[style, kind].path)
            middles[style] = frames[len(frames) // 2].astype(np.float32)
        for a, b in combinations(ALL_STYLES, 2):
            difference = float(np.abs(middles[a] - middles[b]).mean())
            assert difference > 15, (kind, a, b, difference)


def test_sidecars_record_the_style_and_the_camera(
    drawn: dict[tuple[str, str], SynthClip],
) -> None:
    for (style, _kind), clip in drawn.items():
        variation = _sidecar(clip)["variation"]
        assert variation["style"]["name"] == style
        rig = variation["camera"]["rig"]
        if style == "classic":  # the original look: no camera rig unless asked
            assert rig is None and _sidecar(clip)["fps"] == 10
        else:
            assert set(rig) == {"fps", "crf", "view", "fisheye", "night", "noise"}
            assert rig["fps"] == _sidecar(clip)["fps"]


def test_the_same_seed_renders_the_same_clip(tmp_path: Path, no_media: Path) -> None:
    for style in ("cutout",):
        a = render_clip(tmp_path / f"synthetic-a-{style}.mp4", "package_theft", 5, style=style,
                        media_dir=no_media, seconds=3.0)  # fmt: skip
        b = render_clip(tmp_path / f"synthetic-b-{style}.mp4", "package_theft", 5, style=style,
                        media_dir=no_media, seconds=3.0)  # fmt: skip
        first, second = _sidecar(a), _sidecar(b)
        first.pop("file"), second.pop("file")
        assert first == second
        assert all(
            np.array_equal(x, y) for x, y in zip(_frames(a.path), _frames(b.path), strict=True)
        )


def test_the_camera_rig_varies_per_clip_within_its_ranges() -> None:
    rigs = [Rig.draw(streams(seed)["rig"]) for seed in range(300)]
    rates = {rig.fps for rig in rigs}
    assert rates <= set(range(FPS_RANGE[0], FPS_RANGE[1] + 1)) and len(rates) >= 8
    assert 0.1 < np.mean([rig.fisheye > 0 for rig in rigs]) < 0.5
    assert 0.1 < np.mean([rig.night for rig in rigs]) < 0.4
    assert len({rig.crf for rig in rigs}) >= 8
    assert len({rig.view.tilt for rig in rigs}) > 250  # rounded to 4 places


def test_classic_takes_the_rig_when_asked_and_night_clips_are_grey(
    tmp_path: Path, no_media: Path
) -> None:
    seed = next(s for s in range(100) if Rig.draw(streams(s)["rig"]).night)
    clip = render_clip(tmp_path / "synthetic-night.mp4", "delivery", seed, camera_rig=True,
                       media_dir=no_media, seconds=3.0)  # fmt: skip
    record = _sidecar(clip)
    assert record["variation"]["camera"]["rig"]["night"] is True
    frame = _frames(clip.path)[10].astype(np.int16)
    assert np.abs(frame[:, :, 0] - frame[:, :, 2])[40:].mean() < 3  # grey below the marker


def test_generate_spreads_every_kind_evenly_over_the_styles(tmp_path: Path, no_media: Path) -> None:
    styles = ("sketch", EXAM_STYLE)
    clips = generate(tmp_path, 8, seed=3, styles=styles, media_dir=no_media, seconds=(3.0, 3.0))
    pairs = [(clip.style, clip.kind) for clip in clips]
    assert sorted(pairs) == sorted((s, k) for s in styles for k in KINDS)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["styles"] == list(styles)
    assert [(c["style"], c["kind"]) for c in manifest["clips"]] == pairs
    assert all(c.style in c.path.name for c in clips)


def test_an_old_sidecar_loads_as_classic(drawn: dict[tuple[str, str], SynthClip]) -> None:
    clip = drawn["classic", "delivery"]
    record = _sidecar(clip)
    del record["style"]
    clip.sidecar.write_text(json.dumps(record))
    assert load_clip(clip.sidecar).style == "classic"


def test_unknown_styles_are_refused_by_name(tmp_path: Path, no_media: Path) -> None:
    with pytest.raises(ValueError, match="unknown style 'watercolour'; styles are classic"):
        render_clip(tmp_path / "synthetic-x.mp4", "delivery", 1, style="watercolour",
                    media_dir=no_media)  # fmt: skip
    with pytest.raises(ValueError, match="unknown style"):
        generate(tmp_path, 1, styles=["oils"], media_dir=no_media)
    with pytest.raises(typer.Exit):
        synth_command(tmp_path / "out", 1, seed=1, workers=1, kinds=None, styles=["oils"])


def test_without_media_the_cutout_walkers_are_procedural(
    drawn: dict[tuple[str, str], SynthClip],
) -> None:
    record = _sidecar(drawn["cutout", "package_theft"])
    assert record["variation"]["style"]["walker"].startswith("procedural")
    assert record["background"]["source"] == "procedural"


@pytest.mark.skipif(test_media_dir() is None, reason="needs the shared media")
def test_with_media_the_cutout_people_come_from_real_footage(tmp_path: Path) -> None:
    clip = render_clip(tmp_path / "synthetic-cut.mp4", "package_theft", SEED, style="cutout",
                       seconds=SECONDS)  # fmt: skip
    record = _sidecar(clip)
    assert record["variation"]["style"]["walker"].startswith("vtest.avi track")
    assert record["background"]["source"] == "vtest.avi"


def test_the_rig_keeps_where_the_action_happens_in_view() -> None:
    softened = 0
    for seed in range(60):
        for kind in ("package_theft", "car_door_tampering", "delivery"):
            scene = plan_scene(kind, seed, (6.0, 14.0))
            points = action_points(scene)
            assert points
            drawn_rig = Rig.draw(streams(seed)["rig"])
            rig = aimed(drawn_rig, points, scene.width, scene.height)
            softened += rig != drawn_rig
            optics = RigOptics(rig, scene.width, scene.height, pixel_map=False)
            assert all(optics.point(p) is not None for p in points), (kind, seed)
    assert 0 < softened < 90  # most rigs are kept as drawn
