"""model.json: written and read by pydantic, in the format models have been saved in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from vidonate.detect.calibrate import ScoreCalibration
from vidonate.detect.events import DecoderConfig
from vidonate.detect.gate import GateConfig
from vidonate.detect.manifest import MANIFEST_NAME, ModelFeatures, ModelManifest

# A model.json exactly as the hand-written writer before pydantic saved it (format 1).
SAVED_BEFORE = {
    "format": 1,
    "classes": ["normal_activity", "package_theft", "car_door_tampering"],
    "event_classes": ["package_theft", "car_door_tampering"],
    "threshold": 0.55,
    "features": {"fps": 10.0, "width": 96, "height": 54},
    "receptive_field": 63,
    "decoder": {
        "high": 0.55,
        "low": 0.275,
        "smooth_s": 0.5,
        "min_duration_s": 1.0,
        "merge_gap_s": 1.5,
    },
    "gate": {"pixel_threshold": 10, "min_changed_fraction": 0.0015, "margin_s": 3.0},
    "model": {"width": 96, "height": 54, "channels": 32},
    "training": {"seed": 0, "world_size": 2, "validation": {"macro_f1": 0.9}},
}


def saved(tmp_path: Path, data: dict[str, object]) -> Path:
    (tmp_path / MANIFEST_NAME).write_text(json.dumps(data, indent=2) + "\n")
    return tmp_path


def test_a_model_saved_before_pydantic_still_loads(tmp_path: Path) -> None:
    manifest = ModelManifest.read(saved(tmp_path, SAVED_BEFORE))
    assert manifest.classes == ("normal_activity", "package_theft", "car_door_tampering")
    assert (manifest.fps, manifest.width, manifest.height) == (10.0, 96, 54)
    assert manifest.decoder == DecoderConfig(high=0.55, low=0.275)
    assert manifest.gate == GateConfig()
    assert manifest.threshold == 0.55
    assert manifest.frame_stride == 1  # saved before the stride existed: every frame
    assert manifest.training["world_size"] == 2


def test_writing_gives_back_the_same_file_contents(tmp_path: Path) -> None:
    manifest = ModelManifest.read(saved(tmp_path, SAVED_BEFORE))
    out = tmp_path / "again"
    out.mkdir()
    manifest.write(out)
    written = json.loads((out / MANIFEST_NAME).read_text())
    # What this version adds: no score calibration, one threshold for every class.
    assert written.pop("calibration") is None
    assert written["decoder"].pop("class_high") is None
    assert written.pop("thresholds") == {"package_theft": 0.55, "car_door_tampering": 0.55}
    assert written == SAVED_BEFORE


def test_per_class_thresholds_and_score_calibration_round_trip(tmp_path: Path) -> None:
    decoder = (
        DecoderConfig()
        .with_threshold(0.6)
        .with_class_thresholds({"package_theft": 0.8, "car_door_tampering": 0.4})
    )
    manifest = ModelManifest(
        classes=("normal_activity", "package_theft", "car_door_tampering"),
        event_classes=("package_theft", "car_door_tampering"),
        features=ModelFeatures(fps=10.0, width=96, height=54),
        receptive_field=31,
        decoder=decoder,
        gate=GateConfig(),
        calibration=ScoreCalibration({"package_theft": 0.5, "car_door_tampering": 2.0}),
    )
    manifest.write(tmp_path)
    again = ModelManifest.read(tmp_path)
    assert again == manifest
    assert again.thresholds == {"package_theft": 0.8, "car_door_tampering": 0.4}
    assert again.decoder.low_for("car_door_tampering") == pytest.approx(0.2)
    assert again.calibration is not None
    assert again.calibration.temperatures["car_door_tampering"] == 2.0


def test_a_new_manifest_round_trips(tmp_path: Path) -> None:
    manifest = ModelManifest(
        classes=("normal_activity", "package_theft"),
        event_classes=("package_theft",),
        features=ModelFeatures(fps=10.0, width=96, height=54),
        receptive_field=31,
        decoder=DecoderConfig().with_threshold(0.7),
        gate=GateConfig(margin_s=2.0),
        model={"frame_stride": 2},
    )
    manifest.write(tmp_path)
    assert ModelManifest.read(tmp_path) == manifest
    assert ModelManifest.read(tmp_path).frame_stride == 2


def test_another_format_or_a_malformed_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="format"):
        ModelManifest.read(saved(tmp_path, {**SAVED_BEFORE, "format": 2}))
    broken = {**SAVED_BEFORE, "features": {"fps": "fast", "width": 96, "height": 54}}
    with pytest.raises(ValidationError, match="fps"):
        ModelManifest.read(saved(tmp_path, broken))
