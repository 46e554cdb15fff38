"""The evaluation report: files written, JSON that round-trips, Markdown that names every
metric, links its charts and says where a number rests on little data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vidonate.detect.evaluation import (
    CLASSES,
    NORMAL,
    ClipResult,
    EvaluationResult,
    Event,
    evaluate,
)
from vidonate.detect.report import ReportFiles, definitions, write_report

THEFT, DOOR = CLASSES
MODEL = {"id": 7, "checkpoint": "models/7/model.onnx", "commit": "0a1b2c3", "trained_on": 3}
RELEASE = {"version": 4, "split": "test", "manifest_sha256": "f" * 64}


def clip(
    clip_id: str,
    label: str,
    *,
    detected: tuple[Event, ...] = (),
    duration: float = 12.0,
    staged: bool = False,
    seed: int = 0,
) -> ClipResult:
    """A clip with noisy scores that rise inside its one ground-truth event (3–6 s)."""
    times = np.arange(round(duration * 10)) / 10
    scores = np.random.default_rng(seed).random((times.size, len(CLASSES))) * 0.5
    truth: tuple[Event, ...] = ()
    if label != NORMAL:
        truth = (Event(3.0, 6.0, label),)
        scores[(times >= 3.0) & (times <= 6.0), CLASSES.index(label)] += 0.45
    return ClipResult(clip_id, label, truth, detected, times, scores, duration, staged, False)


def small_release() -> list[ClipResult]:
    """Nine clips, 108 s of real normal footage (0.03 h) with no false alarm, no synthetic."""
    return [
        clip("t1", THEFT, detected=(Event(3.2, 6.1, THEFT, 0.8),), seed=1),
        clip("t2", THEFT, detected=(Event(2.9, 5.0, THEFT, 0.7),), staged=True, seed=2),
        clip("t3", THEFT, seed=3),  # missed
        clip("d1", DOOR, detected=(Event(3.0, 6.0, DOOR, 0.9),), seed=4),
        clip("d2", DOOR, detected=(Event(8.0, 9.0, THEFT, 0.6),), staged=True, seed=5),
        clip("n1", NORMAL, duration=54.0, seed=6),
        clip("n2", NORMAL, duration=54.0, seed=7),
        clip("n3", NORMAL, detected=(Event(1.0, 2.0, DOOR, 0.6),), staged=True, seed=8),
        clip("d3", DOOR, detected=(Event(3.5, 5.5, DOOR, 0.8),), seed=9),
    ]


@pytest.fixture(scope="module")
def result() -> EvaluationResult:
    return evaluate(small_release(), resamples=100, seed=3)


@pytest.fixture(scope="module")
def report(result: EvaluationResult, tmp_path_factory: pytest.TempPathFactory) -> ReportFiles:
    out_dir = tmp_path_factory.mktemp("report") / "v4"  # created by write_report
    return write_report(
        result,
        out_dir,
        title="Theft detector 7 on release 4",
        model=MODEL,
        release=RELEASE,
        threshold=0.6,
    )


def test_every_file_is_written_and_every_chart_is_a_valid_png(report: ReportFiles) -> None:
    for path in (report.markdown, report.json, *report.plots):
        assert path.is_file() and path.stat().st_size > 0
    for png in report.plots:
        with Image.open(png) as image:
            image.verify()
        with Image.open(png) as image:
            assert image.format == "PNG"
            assert image.width >= 400 and image.height >= 300


def test_the_json_holds_the_whole_result_and_round_trips(
    report: ReportFiles, result: EvaluationResult
) -> None:
    document = json.loads(report.json.read_text())
    assert document["evaluation"] == result.to_dict()
    again = EvaluationResult.from_dict(document["evaluation"])
    assert again.to_dict() == document["evaluation"]
    assert again.overall.clip_level.macro_f1 == result.overall.clip_level.macro_f1
    assert (document["model"], document["release"]) == (MODEL, RELEASE)
    assert document["threshold"] == 0.6
    assert document["definitions"] == definitions(result)
    assert document["plots"] == {"roc": "roc.png", "scores": "scores.png", "subsets": "subsets.png"}


def test_the_markdown_names_every_metric_and_links_the_charts(report: ReportFiles) -> None:
    markdown = report.markdown.read_text()
    for heading in (
        "Clip-level precision, recall and F1",
        "Macro-F1",
        "Event-level recall and precision",
        "Frame-level ROC AUC",
        "False alarms per hour",
        "Subsets",
        "Bootstrap intervals",
    ):
        assert f"**{heading}.**" in markdown  # its definition paragraph
    for name in ("precision", "recall", "F1", "IoU ≥ 0.3", "ROC AUC", "false alarms"):
        assert name in markdown
    links = re.findall(r"!\[[^\]]+\]\(([^)]+)\)", markdown)
    assert sorted(links) == sorted(path.name for path in report.plots)
    for link in links:
        assert (report.markdown.parent / link).is_file()  # relative to the report


def test_the_markdown_states_the_lineage_and_the_threshold(report: ReportFiles) -> None:
    markdown = report.markdown.read_text()
    assert markdown.startswith("# Theft detector 7 on release 4\n")
    for value in ("0a1b2c3", "models/7/model.onnx", "f" * 64, "test"):
        assert value in markdown
    assert "**Threshold**: 0.6" in markdown
    assert "100 resamples of clips, seed 3" in markdown


def test_the_numbers_appear_in_tables_with_their_intervals(
    report: ReportFiles, result: EvaluationResult
) -> None:
    markdown = report.markdown.read_text()
    macro_f1 = result.overall.clip_level.macro_f1
    assert f"**Macro-F1**: {macro_f1.value:.3f} [{macro_f1.low:.3f}, {macro_f1.high:.3f}]" in (
        markdown
    )
    door_auc = result.overall.auc(DOOR).auc
    assert f"{door_auc.value:.3f} [{door_auc.low:.3f}, {door_auc.high:.3f}]" in markdown
    theft = result.overall.clip_level.label(THEFT)
    assert re.search(rf"\| {THEFT} \| 3 \(little data\) \| {theft.predicted} \|", markdown)
    # Confusion row of the door clips: one predicted as theft, two right, none normal.
    assert f"| {DOOR} | 1 | 2 | 0 |" in markdown


def test_the_markdown_says_plainly_what_rests_on_little_data(report: ReportFiles) -> None:
    markdown = report.markdown.read_text()
    assert "Only 9 clips: every number here rests on little data." in markdown
    # 2 × 54 s of real normal footage with no detection.
    assert "0 false alarms in 0.03 h (1.8 min) of real normal footage (2 clips)" in markdown
    assert "upper bound 99.86 per hour" in markdown  # −ln 0.05 / 0.03 h
    assert "under 1 h of footage" in markdown
    assert "Subset synthetic: no clips; not evaluated." in markdown


def test_a_set_without_real_normal_footage_says_so(tmp_path: Path) -> None:
    clips = [clip("t", THEFT, detected=(Event(3.0, 6.0, THEFT),)), clip("n", NORMAL, staged=True)]
    files = write_report(
        evaluate(clips, resamples=0),
        tmp_path,
        title="tiny",
        model={},
        release={},
        threshold=0.5,
    )
    markdown = files.markdown.read_text()
    assert "false alarms per hour cannot be estimated" in markdown
    assert "No bootstrap was run" in markdown
    assert "n/a" in markdown  # door: no clips, no predictions
    assert "- **Model**: not given" in markdown
    for png in files.plots:
        with Image.open(png) as image:
            image.verify()


def test_lineage_cannot_break_the_markdown(tmp_path: Path, result: EvaluationResult) -> None:
    files = write_report(
        result,
        tmp_path,
        title="a | b\nc",
        model={"note": "line one\nline two | piped", "config": {"lr": 0.001}},
        release={"built": Path("/releases/4")},
        threshold=0.5,
    )
    markdown = files.markdown.read_text()
    assert markdown.startswith("# a \\| b c\n")
    assert "  - note: line one line two \\| piped" in markdown
    assert '  - config: {"lr": 0.001}' in markdown
    assert json.loads(files.json.read_text())["release"] == {"built": "/releases/4"}
