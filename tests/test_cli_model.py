"""``vidonate model ...`` and many-clip ``vidonate detect``, through the real commands.

The models are real but untrained (tests/detect_models.py): their thresholds fix what
they report, so a refusal and a pass are known in advance without a training run.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from detect_models import ALWAYS_FIRES, NEVER_FIRES, export_untrained_model, with_threshold
from vidonate.cli import app
from vidonate.cli_common import ProgressLines
from vidonate.db.engine import transaction
from vidonate.detect.infer import Detector
from vidonate.detect.lineage import register_model
from vidonate.ingest.samples import generate_clip
from vidonate.runtime import Runtime

runner = CliRunner()


@pytest.fixture(scope="module")
def untrained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torch")
    return export_untrained_model(tmp_path_factory.mktemp("untrained"))


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables at full width, as on a wide terminal: no cell is cut short."""
    from rich.console import Console

    from vidonate import cli_model

    monkeypatch.setattr(cli_model, "console", Console(width=200))


@pytest.fixture
def no_test_media(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The gate's real footage is only what a test passes with --footage."""
    (tmp_path / "no-media").mkdir()
    monkeypatch.setenv("VIDONATE_TEST_MEDIA", str(tmp_path / "no-media"))


def _register(rt: Runtime, folder: Path) -> int:
    with transaction(rt.sessions) as s:
        return register_model(s, rt.store, folder, release_id=None).id


def _clips(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for seed in range(count):
        generate_clip(folder / f"clip-{seed}.mp4", seconds=2.0, seed=seed)
    return folder


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_list_show_promote_promotions_and_export(
    rt: Runtime, cli_env: Path, untrained: Path, tmp_path: Path, no_test_media: None
) -> None:
    quiet = _register(rt, with_threshold(untrained, tmp_path / "quiet", NEVER_FIRES))
    footage = _clips(tmp_path / "footage", 2)

    promoted = runner.invoke(app, ["model", "promote", str(quiet)])
    assert promoted.exit_code == 0, promoted.output
    assert "the only model" in promoted.stdout and f"model {quiet} is now served" in promoted.stdout

    noisy = _register(rt, with_threshold(untrained, tmp_path / "noisy", ALWAYS_FIRES))
    listed = runner.invoke(app, ["model", "list"])
    assert listed.exit_code == 0, listed.output
    rows = [line for line in listed.stdout.splitlines() if f" {quiet} " in line]
    assert rows and "*" in rows[0]  # promoted, so served though no longer the newest

    gate = ["--footage", str(footage), "--exam-clips", "1"]
    refused = runner.invoke(app, ["model", "promote", str(noisy), *gate])
    assert refused.exit_code == 1, refused.output
    assert "real normal footage: false alarms per hour" in refused.stdout
    assert "fail" in refused.stdout and "held-out style: clip macro-F1" in refused.stdout
    assert "promotion_gate_failed" in refused.stderr

    bare = runner.invoke(app, ["model", "promote", str(noisy), "--force", *gate])
    assert bare.exit_code == 2 and "force_needs_reason" in bare.stderr
    forced = runner.invoke(
        app, ["model", "promote", str(noisy), "--force", "--reason", "louder", *gate]
    )
    assert forced.exit_code == 0, forced.output
    assert f"model {noisy} is now served" in forced.stdout and "forced: louder" in forced.stdout

    history = runner.invoke(app, ["model", "promotions"])
    assert history.exit_code == 0 and "louder" in history.stdout and "refused" in history.stdout

    shown = runner.invoke(app, ["model", "show", str(noisy)])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    assert data["id"] == noisy and data["served"] is True
    assert data["config"]["decoder"]["high"] == ALWAYS_FIRES
    [promotion] = data["promotions"]
    assert promotion["forced"] and promotion["previous_model"] == quiet
    checks = {c["name"]: c for c in promotion["comparison"]["checks"]}
    assert checks["real normal footage: false alarms per hour"]["current"] == 0.0
    assert json.loads(runner.invoke(app, ["model", "show", "served"]).stdout)["id"] == noisy

    out = tmp_path / "shipped"
    exported = runner.invoke(app, ["model", "export", str(quiet), str(out)])
    assert exported.exit_code == 0, exported.output
    assert sorted(p.name for p in out.iterdir()) == ["MODEL_CARD.md", "model.json", "model.onnx"]
    card = (out / "MODEL_CARD.md").read_text()
    assert hashlib.sha256((out / "model.onnx").read_bytes()).hexdigest() in card
    assert "Apache License 2.0" in card and "## Thresholds" in card
    assert Detector.load(out).manifest.threshold == NEVER_FIRES
    again = runner.invoke(app, ["model", "export", str(quiet), str(out)])
    assert again.exit_code == 2 and "export_dir_not_empty" in again.stderr
    assert runner.invoke(app, ["model", "export", str(quiet), str(out), "--force"]).exit_code == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_detect_scores_many_clips_with_one_model_and_reports_a_bad_one(
    rt: Runtime, cli_env: Path, untrained: Path, tmp_path: Path
) -> None:
    model = _register(rt, with_threshold(untrained, tmp_path / "loud", ALWAYS_FIRES))
    folder = _clips(tmp_path / "clips" / "nested", 2)
    (folder / "notes.txt").write_text("not a video, skipped in a folder")
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 100)
    missing = tmp_path / "missing.mp4"
    annotated = tmp_path / "annotated"

    result = runner.invoke(
        app,
        ["detect", str(tmp_path / "clips"), str(bad), str(missing), "--annotated-dir",
         str(annotated)],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [Path(line["video"]).name for line in lines] == [
        "clip-0.mp4", "clip-1.mp4", "bad.mp4", "missing.mp4"
    ]  # fmt: skip
    good, broken, absent = lines[:2], lines[2], lines[3]
    assert all(line["model"] == model and line["events"] for line in good)
    assert all(Path(line["annotated"]).stat().st_size > 0 for line in good)
    assert broken["error"]["code"] in ("unreadable", "truncated", "not_video")
    assert absent["error"]["code"] == "no_such_file"
    # Not a terminal: plain progress lines on stderr, and the count of failures.
    assert "detect: clips 4/4" in result.stderr and "2 of 4 clips failed" in result.stderr

    as_array = runner.invoke(app, ["detect", str(folder), "--json"])
    assert as_array.exit_code == 0, as_array.output
    assert [Path(r["video"]).name for r in json.loads(as_array.stdout)] == [
        "clip-0.mp4", "clip-1.mp4"
    ]  # fmt: skip


def test_progress_lines_off_a_terminal_are_throttled_but_mark_each_stage(
    capsys: pytest.CaptureFixture[str],
) -> None:
    lines = ProgressLines("train", every_s=3600)
    lines("reading clips", 1, 3)
    lines("reading clips", 2, 3)  # within the interval: quiet
    lines("reading clips", 3, 3)  # a stage's end always shows
    for epoch in range(1, 41):
        lines("training epochs", epoch, 40)
    printed = capsys.readouterr().err.splitlines()
    assert [line.rsplit(" (", 1)[0] for line in printed] == [
        "train: reading clips 1/3",
        "train: reading clips 3/3",
        "train: training epochs 1/40",
        "train: training epochs 40/40",
    ]
    assert printed[0].endswith(" s)")
