"""Promotion: a model is served only if the gate finds it no worse than the current one.

Cheap tests use real but untrained models whose threshold fixes what they report (see
tests/detect_models.py): a copy of a model is its equal; one that reports an event in
every clip is worse on real normal footage than one that never does. The last test
pits the session's trained model against its own silenced copy on a release.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from detect_models import ALWAYS_FIRES, NEVER_FIRES, export_untrained_model, with_threshold
from vidonate.datasets.release import create_release
from vidonate.datasets.synthetic import import_synthetic
from vidonate.db.engine import transaction
from vidonate.db.models import DetectorModel
from vidonate.db.models_detect import ModelPromotion
from vidonate.detect.dataset import LabelledVideo
from vidonate.detect.lineage import register_model
from vidonate.detect.model_card import export_model
from vidonate.detect.pipeline import cached_registered
from vidonate.detect.promotion import PromotionGate, PromotionRefused, promote
from vidonate.detect.serving import served_model
from vidonate.errors import Conflict, InvalidInput
from vidonate.ingest.samples import generate_clip
from vidonate.runtime import Runtime
from vidonate.synth import SynthClip, generate


@pytest.fixture(scope="module")
def untrained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torch")
    return export_untrained_model(tmp_path_factory.mktemp("untrained"))


@pytest.fixture(scope="module")
def exam(tmp_path_factory: pytest.TempPathFactory) -> list[LabelledVideo]:
    """One scene of each kind, standing in for the held-out style's renders."""
    clips = generate(tmp_path_factory.mktemp("exam"), 4, seed=77, seconds=(4.0, 4.0))
    return [LabelledVideo.from_synth(c) for c in clips]


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Normal footage (a moving box): every event on it is a false alarm."""
    folder = tmp_path_factory.mktemp("footage")
    for seed in range(2):
        generate_clip(folder / f"normal-{seed}.mp4", seconds=3.0, seed=seed)
    return folder


def _gate(rt: Runtime, exam: list[LabelledVideo], footage: Path) -> PromotionGate:
    return PromotionGate(rt.pipeline(), lambda _folder: exam, footage_dirs=(footage,))


def _register(rt: Runtime, folder: Path, release_id: int | None = None) -> int:
    with transaction(rt.sessions) as s:
        return register_model(s, rt.store, folder, release_id=release_id).id


def _promotions(rt: Runtime) -> int:
    with transaction(rt.sessions) as s:
        return int(s.scalar(select(func.count()).select_from(ModelPromotion)) or 0)


def test_the_only_model_passes_trivially_and_is_served(
    rt: Runtime, untrained: Path, exam: list[LabelledVideo], footage: Path
) -> None:
    only = _register(rt, untrained)
    record = promote(_gate(rt, exam, footage), only)
    assert record.previous_model_id is None and not record.forced
    assert "only model" in record.comparison["note"] and record.comparison["passed"]
    with transaction(rt.sessions) as s:
        assert served_model(s).id == only
    with pytest.raises(Conflict) as again:
        promote(_gate(rt, exam, footage), only)
    assert again.value.code == "model_already_served"


def _served(rt: Runtime) -> int:
    with transaction(rt.sessions) as s:
        return served_model(s).id


def test_an_equal_model_passes_and_served_follows_the_promotion(
    rt: Runtime, untrained: Path, exam: list[LabelledVideo], footage: Path
) -> None:
    first = _register(rt, untrained)
    promote(_gate(rt, exam, footage), first)
    copy = _register(rt, untrained)
    record = promote(_gate(rt, exam, footage), copy, actor_id=None)
    assert record.previous_model_id == first
    checks = {c["name"]: c for c in record.comparison["checks"]}
    assert checks["held-out style: clip macro-F1"]["verdict"] == "pass"
    fa = checks["real normal footage: false alarms per hour"]
    assert fa["verdict"] == "pass" and fa["current"] == fa["candidate"] is not None
    assert fa["detail"]["clips"] == 2
    # No release named and none recorded for the model: that check is not measured.
    assert checks["release test split: event recall"]["verdict"] == "not measured"
    assert _served(rt) == copy


def test_a_worse_model_is_refused_a_forced_one_needs_a_reason_and_keeps_the_numbers(
    rt: Runtime, untrained: Path, tmp_path: Path, exam: list[LabelledVideo], footage: Path
) -> None:
    quiet = _register(rt, with_threshold(untrained, tmp_path / "quiet", NEVER_FIRES))
    promote(_gate(rt, exam, footage), quiet)
    noisy = _register(rt, with_threshold(untrained, tmp_path / "noisy", ALWAYS_FIRES))

    with pytest.raises(PromotionRefused) as refused:
        promote(_gate(rt, exam, footage), noisy)
    assert refused.value.code == "promotion_gate_failed"
    report = refused.value.report
    failed = [c for c in report.checks if c.verdict == "fail"]
    assert "real normal footage: false alarms per hour" in [c.name for c in failed]
    alarms = next(c for c in failed if c.name.startswith("real normal footage"))
    assert alarms.current == 0.0 and alarms.candidate is not None and alarms.candidate > 0
    assert "current 0.000, candidate" in refused.value.message  # both numbers, each check
    assert _promotions(rt) == 1 and _served(rt) == quiet  # nothing recorded

    for reason in (None, "   "):
        with pytest.raises(InvalidInput) as bare:
            promote(_gate(rt, exam, footage), noisy, force=True, reason=reason)
        assert bare.value.code == "force_needs_reason"
    record = promote(_gate(rt, exam, footage), noisy, force=True, reason="audit wants it loud")
    assert record.forced and record.reason == "audit wants it loud"
    assert record.previous_model_id == quiet and not record.comparison["passed"]
    stored = {c["name"]: c for c in record.comparison["checks"]}
    assert stored["real normal footage: false alarms per hour"]["candidate"] > 0
    assert _promotions(rt) == 2 and _served(rt) == noisy


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_trained_model_beats_its_silenced_copy_on_the_release_test_split(
    rt: Runtime,
    trained_model: object,
    synth_clips: list[SynthClip],
    tmp_path: Path,
    footage: Path,
) -> None:
    model_dir: Path = trained_model.model_dir  # type: ignore[attr-defined]
    import_synthetic(rt.sessions, rt.vault, rt.store, synth_clips[-8:])
    with transaction(rt.sessions) as s:
        release_id = create_release(s, seed=0, ratios={"train": 0.0, "val": 0.0, "test": 1.0}).id
    held_out = [LabelledVideo.from_synth(c) for c in synth_clips[-8:]]
    trained = _register(rt, model_dir, release_id)
    promote(_gate(rt, held_out, footage), trained)
    silenced = _register(
        rt, with_threshold(model_dir, tmp_path / "silent", NEVER_FIRES), release_id
    )

    with pytest.raises(PromotionRefused) as refused:
        promote(_gate(rt, held_out, footage), silenced)
    checks = {c.name: c for c in refused.value.report.checks}
    recall = checks["release test split: event recall"]
    assert recall.verdict == "fail" and recall.candidate == 0.0
    assert recall.current is not None and recall.current > 0.0 and recall.detail["clips"] == 8
    assert checks["held-out style: event recall"].verdict == "fail"
    assert _served(rt) == trained

    # Its export carries the lineage: the release and what it holds.
    _, files = cached_registered(rt.pipeline(), trained)
    with transaction(rt.sessions) as s:
        stored = s.get(DetectorModel, trained)
        assert stored is not None
        export_model(s, stored, files, tmp_path / "shipped")
    card = (tmp_path / "shipped" / "MODEL_CARD.md").read_text()
    assert "trained on release: v1 (8 clips" in card and "- test: 8 clips (" in card
    assert "promotions to served: 1" in card
