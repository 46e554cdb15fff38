"""Release -> train -> evaluate -> detect, through the commands and the HTTP endpoint.

A deliberately small release (16 short synthetic scenes) and a few epochs: this checks
the lifecycle and its records (lineage, access log, report, events), not the model's
quality, which bench/detector.py measures at full size.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from vidonate.cli import app
from vidonate.datasets.release import create_release
from vidonate.datasets.synthetic import import_synthetic
from vidonate.db.engine import transaction
from vidonate.db.models import AuditEntry, DetectorModel
from vidonate.detect import pipeline
from vidonate.detect.pipeline import evaluate_release, train_release
from vidonate.synth import generate
from world import World


@pytest.fixture(scope="module")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> list:
    return generate(tmp_path_factory.mktemp("scenes"), 16, seed=5, seconds=(4.0, 4.0))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_model_trains_on_a_release_is_evaluated_and_detects(
    world: World, scenes: list, tmp_path: Path, cli_env: Path, client: TestClient
) -> None:
    rt = world.rt
    import_synthetic(rt.sessions, rt.vault, rt.store, scenes)
    with transaction(world.rt.sessions) as s:
        release = create_release(s, seed=1, ratios={"train": 0.5, "val": 0.25, "test": 0.25})
        version = release.version

    model = train_release(rt.pipeline(), version, actor_id=world.rita.id, epochs=2, seed=0)
    with transaction(world.rt.sessions) as s:
        stored = s.get(DetectorModel, model.id)
        assert stored is not None and stored.release_id == release.id
        assert stored.code_version and len(stored.artifact_sha256) == 64
        assert stored.metrics["training_data"]["release"] == f"v{version}"
        # Synthetic scenes are verified by construction; none is donated, none skipped.
        data = stored.metrics["training_data"]
        assert data["unverified_clips_skipped"] == 0 and data["clips_by_source"]["donated"] == 0
        assert data["clips_by_source"]["synthetic"] >= 1
        # The lineage keeps what training measured: data, epochs, validation metrics.
        training = stored.metrics["training"]
        assert training["epochs"] == 2 and training["clips"] >= 1
        assert training == stored.config["training"]
        assert world.rt.store.exists(stored.artifact_key)
        reads = s.query(AuditEntry).filter_by(purpose="training").all()
        assert reads and {r.actor_id for r in reads} == {world.rita.id}

    report_dir = tmp_path / "report"
    # Without the shared media every scene has one (procedural) background, one camera,
    # so the whole release may be one split: the lifecycle is checked on "train".
    evaluation = evaluate_release(
        rt.pipeline(), model.id, version, report_dir, split="train", resamples=50
    )
    assert evaluation.files.markdown.exists() and evaluation.files.json.exists()
    assert json.loads(evaluation.files.json.read_text())["evaluation"]["overall"]["clips"] >= 1
    with transaction(world.rt.sessions) as s:
        stored = s.get(DetectorModel, model.id)
        assert stored is not None
        assert f"v{version}" in stored.metrics["evaluations"]

    video = scenes[0].path
    annotated = tmp_path / "annotated.mp4"
    result = CliRunner().invoke(app, ["detect", str(video), "--out", str(annotated)])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["model"] == model.id and isinstance(printed["events"], list)
    assert annotated.stat().st_size > 0

    bearer = {"Authorization": f"Bearer {world.tokens['alice']}"}
    answer = client.post("/api/v1/detect", content=video.read_bytes(), headers=bearer)
    assert answer.status_code == 200, answer.text
    assert answer.json()["model"] == model.id
    assert [e["label"] for e in answer.json()["events"]] == [e["label"] for e in printed["events"]]
    refused = client.post("/api/v1/detect", content=b"not a video at all" * 100, headers=bearer)
    assert refused.status_code == 415 and refused.json()["error"]["code"] == "unsupported_file_type"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_vidonate_train_takes_evidence_maps_and_refuses_unknown_ones(
    world: World, scenes: list, cli_env: Path
) -> None:
    rt = world.rt
    import_synthetic(rt.sessions, rt.vault, rt.store, scenes[:8])
    with transaction(rt.sessions) as s:
        version = create_release(s, seed=1, ratios={"train": 1.0, "val": 0.0, "test": 0.0}).version

    refused = CliRunner().invoke(app, ["train", "--release", str(version), "--evidence", "bg,x"])
    assert refused.exit_code == 2 and "unknown_evidence" in refused.output
    with transaction(rt.sessions) as s:
        assert s.query(DetectorModel).count() == 0, "nothing trained, nothing registered"

    args = ["train", "--release", str(version), "--epochs", "1", "--evidence", "dwell,hog"]
    trained = CliRunner().invoke(app, args)
    assert trained.exit_code == 0, trained.output
    with transaction(rt.sessions) as s:
        model = s.query(DetectorModel).one()
        model_id = model.id
    _, files = pipeline.cached_registered(rt.pipeline(), model_id)
    from vidonate.detect.infer import Detector

    detector = Detector.load(files)
    assert detector.manifest.evidence == ("dwell", "hog")
    assert detector.analyse(scenes[0].path).scores.shape[1] == 2


def test_detect_without_a_model_says_how_to_get_one(world: World, client: TestClient) -> None:
    bearer = {"Authorization": f"Bearer {world.tokens['alice']}"}
    clip = generate_clip_bytes()
    answer = client.post("/api/v1/detect", content=clip, headers=bearer)
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "unknown_model"


def test_the_detect_upload_works_in_the_scratch_space_and_leaves_nothing(
    world: World, client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The posted video is plaintext: it goes to a job directory of the scratch space
    (swept at start-up after a crash), never to the system's temp dir, and is gone after."""
    clip = generate_clip_bytes()
    system_temp = tmp_path / "system-temp"
    system_temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_temp))
    seen: list[tuple[Path, bytes]] = []
    real_fetch = pipeline.cached_registered

    def fetch(pipe: Any, model_ref: Any) -> Any:
        [workdir] = world.rt.scratch.own.iterdir()  # the request's job directory
        seen.append((workdir, (workdir / "video").read_bytes()))
        return real_fetch(pipe, model_ref)  # no model: unknown_model

    monkeypatch.setattr(pipeline, "cached_registered", fetch)
    bearer = {"Authorization": f"Bearer {world.tokens['alice']}"}
    answer = client.post("/api/v1/detect", content=clip, headers=bearer)
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "unknown_model"

    [(workdir, held)] = seen
    assert held == clip
    assert workdir.parent == world.rt.scratch.own
    assert world.rt.scratch.root == world.rt.settings.var_dir.absolute() / "scratch"
    assert not workdir.exists() and list(world.rt.scratch.own.iterdir()) == []
    assert list(system_temp.iterdir()) == []


def generate_clip_bytes() -> bytes:
    from vidonate.ingest.samples import generate_clip

    with tempfile.TemporaryDirectory() as folder:
        return generate_clip(Path(folder) / "a.mp4", seconds=1.0).read_bytes()


def test_real_normal_footage_counts_each_file_once_however_it_is_reached(tmp_path: Path) -> None:
    from vidonate.detect.pipeline import normal_videos

    media = tmp_path / "media"
    media.mkdir()
    for name in ("street.mp4", "notes.txt"):
        (media / name).write_bytes(b"x")
    gathered = tmp_path / "gathered.avi"
    gathered.write_bytes(b"x")
    found = normal_videos([media, None, tmp_path / "absent"], [media / "street.mp4", gathered])
    assert [p.name for p in found] == ["street.mp4", "gathered.avi"]
