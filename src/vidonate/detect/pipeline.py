"""The detector's lifecycle around releases: train from one, evaluate on one, detect.

* ``train_release``: read the release's train and val clips through the vault (logged as
  "training"), extract features, train in this process or with ``torchrun`` (DDP on gloo)
  over a feature cache, register the model with its lineage.
* ``evaluate_release``: run a registered model on a split of a release, plus the real
  normal footage in the test-media folder (none of it shows a theft: false alarms), and
  write the Markdown/JSON/PNG report; the headline numbers join the model's metrics.
* ``detect_video``: events in one video, optionally drawn into an annotated copy, with
  the model's files from the verified on-disk cache (:mod:`~vidonate.detect.model_cache`)
  rather than copied out of the blob store each time.

A model named as None (or "served") is the served model (:mod:`~vidonate.detect.serving`).

Feature caches, model files and decrypted clips live only in job directories of the
registered scratch space (``storage.scratch``), removed when the work ends and swept at
start-up should the process die meanwhile.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker

from vidonate.crypto.vault import Vault
from vidonate.datasets.reader import ReleaseReader
from vidonate.db.engine import transaction
from vidonate.detect.evaluation import CLASSES, ClipResult, EvaluationResult, Event, evaluate
from vidonate.detect.lineage import record_evaluation, register_model
from vidonate.detect.model_cache import CACHE_DIR_NAME, cached_model_files
from vidonate.detect.serving import resolve_model
from vidonate.extras import require
from vidonate.storage import BlobStore
from vidonate.storage.scratch import ScratchSpace

if TYPE_CHECKING:
    from vidonate.config import Settings
    from vidonate.db.models import DetectorModel
    from vidonate.detect.dataset import TrainingClip
    from vidonate.detect.infer import Detector
    from vidonate.detect.report import ReportFiles

Progress = Callable[[str, int, int], None]  # (stage, done, total)
VIDEO_SUFFIXES = (".avi", ".mp4", ".mkv", ".mov", ".webm")


@dataclass(frozen=True)
class Pipeline:
    """What training, evaluation and detection work with: releases are read through the
    vault, models are kept in the blob store, work files go to the scratch space."""

    sessions: sessionmaker[Session]
    vault: Vault
    store: BlobStore
    scratch: ScratchSpace

    def reader(
        self, release: str | int, *, actor_id: int | None, splits: tuple[str, ...] | None = None
    ) -> ReleaseReader:
        return ReleaseReader(
            self.sessions, self.vault, self.scratch, release, actor_id=actor_id, splits=splits
        )

    @property
    def model_cache(self) -> Path:
        """Where verified copies of model files are kept: in the var dir, beside the
        scratch space (whose sweep would remove them), see :mod:`~vidonate.detect.model_cache`."""
        return self.scratch.root.parent / CACHE_DIR_NAME


def truth_events(row: dict[str, Any], duration: float) -> tuple[Event, ...]:
    """Ground truth of a manifest row: its verified intervals (a synthetic clip's
    generated events, a donated clip's reviewers' verified ones; none for a verified
    normal clip). For an unverified donated clip, which only evaluation reads (training
    never does), a theft label is taken as one event spanning the clip."""
    if row.get("verified", row.get("events") is not None):
        spans = row.get("intervals", row.get("events")) or []
        return tuple(Event(float(e["start"]), float(e["end"]), e["label"]) for e in spans)
    if row["label"] in CLASSES:
        return (Event(0.0, duration, row["label"]),)
    return ()


@dataclass
class TrainingClips:
    """A release's clips decoded for training, by split, and what was left out."""

    by_split: dict[str, list[TrainingClip]]
    reader: ReleaseReader
    # Synthetic and donated clips are counted apart, and weighted apart in the loss
    # (``dataset.source_weights``: each source an equal share, within a cap).
    by_source: dict[str, int]
    weights: dict[str, float]

    @property
    def skipped_unverified(self) -> list[int]:
        """Donated clips without verified intervals: never trained on."""
        return self.reader.unverified


def training_clips(
    pipeline: Pipeline,
    release: str | int,
    *,
    actor_id: int | None,
    splits: tuple[str, ...] = ("train", "val"),
    hog: bool = False,
    progress: Progress | None = None,
) -> TrainingClips:
    """The readable, verified clips of ``splits`` of a release, decoded (with the HOG
    person map when ``hog``), by split: an unverified donated clip is skipped before it is
    read (``release.py``: ``verified``)."""
    from vidonate.detect.dataset import TrainingClip, source_weights
    from vidonate.detect.features import extract_features

    reader = replace(pipeline.reader(release, actor_id=actor_id, splits=splits), verified_only=True)
    total = len(reader.rows())
    read: list[tuple[str, str, TrainingClip]] = []  # (split, source, clip)
    for done, (row, path) in enumerate(reader, 1):
        features = extract_features(path, hog=hog)
        clip = TrainingClip(
            features=features,
            label=row["label"],
            events=truth_events(row, features.duration),
            clip_id=str(row["id"]),
        )
        read.append((row["split"], "synthetic" if row["synthetic"] else "donated", clip))
        if progress is not None:
            progress("reading clips", done, total)
    sources = [source for _, source, _ in read]
    weights = source_weights(sources)
    clips: dict[str, list[TrainingClip]] = {split: [] for split in splits}
    for split, source, clip in read:
        clips[split].append(replace(clip, weight=weights[source]))
    by_source = {"synthetic": sources.count("synthetic"), "donated": sources.count("donated")}
    return TrainingClips(clips, reader, by_source, weights)


def cached_registered(
    pipeline: Pipeline, model_ref: str | int | None
) -> tuple[DetectorModel, Path]:
    """A registered model (detached) and the directory of its verified cached files."""
    model = _registered(pipeline.sessions, model_ref)
    return model, cached_model_files(pipeline.model_cache, pipeline.store, model)


def detect_sandboxed(
    pipeline: Pipeline, model_ref: str | int | None, video: Path, settings: Settings
) -> tuple[int, list[dict[str, Any]]]:
    """(model id, events as plain dicts) for an untrusted ``video``: the model's files from
    the verified cache, decoding and detection in a sandboxed child under the upload
    limits. What the detect endpoint and review suggestions both run."""
    from vidonate.ingest.process import sandbox_limits
    from vidonate.ingest.sandbox import run_sandboxed

    found, model_dir = cached_registered(pipeline, model_ref)
    limits = sandbox_limits(settings)
    return found.id, run_sandboxed(detect_events_in_child, model_dir, video, limits=limits)


def load_detector(
    pipeline: Pipeline, model_ref: str | int | None
) -> tuple[DetectorModel, Detector]:
    """A registered model and its loaded detector, from the cache: load it once and run
    it on every clip of a batch."""
    from vidonate.detect.infer import Detector

    model, model_dir = cached_registered(pipeline, model_ref)
    return model, Detector.load(model_dir)


def _registered(sessions: sessionmaker[Session], model_ref: str | int | None) -> DetectorModel:
    with transaction(sessions) as session:
        model = resolve_model(session, model_ref)
        session.expunge(model)
    return model


def train_release(
    pipeline: Pipeline,
    release: str | int,
    *,
    actor_id: int | None = None,
    epochs: int | None = None,
    seed: int = 0,
    nproc: int = 1,
    evidence: Sequence[str] = (),
    progress: Progress | None = None,
) -> DetectorModel:
    """Train on a release's train clips, pick the event threshold on its val clips (cameras
    training never saw, so the threshold is set for new cameras, not familiar ones), and
    register the model. A release without val clips holds out some train clips instead.
    ``evidence``: the behaviour-level maps the network reads besides the frames
    (:mod:`~vidonate.detect.evidence`)."""
    require("train", "training the detector")
    from vidonate.detect.dataset import save_features
    from vidonate.detect.evidence import check_channels, needs_hog
    from vidonate.detect.train import TrainConfig, train

    evidence = check_channels(evidence)
    read = training_clips(
        pipeline, release, actor_id=actor_id, hog=needs_hog(evidence), progress=progress
    )
    clips, validation = read.by_split["train"], read.by_split["val"]
    if not clips:
        clips, validation = validation, []
    if not clips:
        raise ValueError(f"release {release} has no readable train or val clip")
    with pipeline.scratch.job_dir("train") as work:
        model_dir = work / "model"
        if nproc > 1:
            cache, held_out = work / "features.npz", None
            save_features(cache, clips)
            if validation:
                held_out = work / "validation.npz"
                save_features(held_out, validation)
            del clips, validation  # each rank loads the caches; this process need not
            _torchrun(
                cache, held_out, model_dir, nproc=nproc, epochs=epochs, seed=seed,
                evidence=evidence,
            )  # fmt: skip
        else:

            def report(step: Any) -> None:
                if progress is not None:
                    progress("training epochs", step.epoch, step.epochs)

            train(
                clips,
                out_dir=model_dir,
                epochs=epochs,
                seed=seed,
                progress=report,
                config=TrainConfig(evidence=evidence),
                validation=validation,
            )
        with transaction(pipeline.sessions) as session:
            from vidonate.datasets.release import get_release

            release_row = get_release(session, release)
            model = register_model(
                session, pipeline.store, model_dir, release_id=release_row.id, actor_id=actor_id
            )
            metrics = dict(model.metrics)
            metrics["training_data"] = {
                "release": f"v{release_row.version}",
                "unreadable_clips_skipped": len(read.reader.skipped),
                "unverified_clips_skipped": len(read.skipped_unverified),
                "clips_by_source": read.by_source,
                "loss_weight_by_source": read.weights,
                "distributed_processes": nproc,
            }
            model.metrics = metrics
            session.flush()
            session.expunge(model)
    return model


def _torchrun(
    cache: Path,
    validation: Path | None,
    out: Path,
    *,
    nproc: int,
    epochs: int | None,
    seed: int,
    evidence: Sequence[str],
) -> None:
    """Train with DDP on gloo, one process per rank, through ``torchrun``."""
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone",
        f"--nproc_per_node={nproc}", "-m", "vidonate.detect.train",
        "--features", str(cache), "--out", str(out), "--seed", str(seed),
    ]  # fmt: skip
    if epochs is not None:
        command += ["--epochs", str(epochs)]
    if validation is not None:
        command += ["--validation", str(validation)]
    if evidence:
        command += ["--evidence", ",".join(evidence)]
    environment = {**os.environ, "OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 1) // nproc))}
    finished = subprocess.run(command, env=environment, capture_output=True, text=True)
    if finished.returncode != 0:
        raise RuntimeError(f"torchrun failed ({finished.returncode}):\n{finished.stderr[-4000:]}")


def _media_videos(media_dir: Path | None) -> list[Path]:
    if media_dir is None or not media_dir.is_dir():
        return []
    return sorted(p for p in media_dir.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)


def normal_videos(media_dirs: Sequence[Path | None], files: Sequence[Path] = ()) -> list[Path]:
    """The real normal footage to score: the videos in ``media_dirs`` and ``files``, each
    file once however it is reached (the test media is also a footage source)."""
    listed = [*(v for d in media_dirs for v in _media_videos(d)), *files]
    return list({path.resolve(): path for path in listed}.values())


def gathered_camera_footage() -> list[Path]:
    """The real camera footage packages ship, where ``vidonate footage gather`` put it."""
    from vidonate.detect.normal_footage import locate

    return [f.path for f in locate() if f.source.camera]


@dataclass(frozen=True)
class Evaluation:
    result: EvaluationResult
    files: ReportFiles
    model_id: int
    release_version: int


def evaluate_release(
    pipeline: Pipeline,
    model_ref: str | int | None,
    release: str | int,
    out_dir: Path,
    *,
    split: str = "test",
    media_dir: Path | None = None,
    footage_files: Sequence[Path] = (),
    actor_id: int | None = None,
    resamples: int = 1000,
    progress: Progress | None = None,
) -> Evaluation:
    """Evaluate a model on ``split`` of ``release`` and on the real normal footage (the
    videos in ``media_dir`` and ``footage_files``)."""
    require("report", "the evaluation report")
    from vidonate.detect.infer import Detector
    from vidonate.detect.report import write_report

    model, model_dir = cached_registered(pipeline, model_ref)
    detector = Detector.load(model_dir)
    reader = pipeline.reader(release, actor_id=actor_id, splits=(split,))
    rows = reader.rows()
    footage = normal_videos([media_dir], footage_files)
    total = len(rows) + len(footage)
    clips: list[ClipResult] = []
    for done, (row, path) in enumerate(reader, 1):
        clips.append(_clip_result(detector, path, row))
        if progress is not None:
            progress("evaluating clips", done, total)
    for done, video in enumerate(footage, len(clips) + 1):
        clips.append(_clip_result(detector, video, None))
        if progress is not None:
            progress("evaluating clips", done, total)
    result = evaluate(clips, resamples=resamples)
    assert reader.release_version is not None
    files = write_report(
        result,
        out_dir,
        title=f"Detector model {model.id} on release v{reader.release_version} ({split})",
        model={"id": model.id, "code_version": model.code_version,
               "trained_on_release_id": model.release_id,
               "artifact_sha256": model.artifact_sha256},
        release={"version": reader.release_version, "split": split,
                 "unreadable_clips_skipped": len(reader.skipped),
                 "real_normal_footage": [p.name for p in footage]},
        threshold=detector.manifest.thresholds,
    )  # fmt: skip
    with transaction(pipeline.sessions) as session:
        from vidonate.db.models import DetectorModel

        stored = session.get(DetectorModel, model.id)
        assert stored is not None
        record_evaluation(stored, reader.release_version, result.headline())
    return Evaluation(result, files, model.id, reader.release_version)


def _clip_result(detector: Detector, video: Path, row: dict[str, Any] | None) -> ClipResult:
    """What the detector made of one clip, with its ground truth. ``row`` None: real
    normal footage from the test-media folder (no theft in it)."""
    detection = detector.analyse(video)
    if row is None:
        return ClipResult(
            clip_id=video.name, label="normal_activity", truth=(), detected=detection.events,
            times=detection.times, scores=detection.scores, duration=detection.duration,
            staged=False, synthetic=False, raw_scores=detection.raw_scores,
        )  # fmt: skip
    return ClipResult(
        clip_id=str(row["id"]), label=row["label"],
        truth=truth_events(row, detection.duration), detected=detection.events,
        times=detection.times, scores=detection.scores, duration=detection.duration,
        staged=bool(row["staged"]), synthetic=bool(row["synthetic"]),
        raw_scores=detection.raw_scores,
    )  # fmt: skip


def detect_video(
    pipeline: Pipeline, model_ref: str | int | None, video: Path, *, annotated: Path | None = None
) -> tuple[int, list[Event]]:
    """(model id, events) for ``video``; with ``annotated``, also draw them into a copy."""
    model, detector = load_detector(pipeline, model_ref)
    return model.id, detect_with(detector, video, annotated=annotated)


def detect_with(detector: Detector, video: Path, *, annotated: Path | None = None) -> list[Event]:
    """The events ``detector`` finds in ``video``; with ``annotated``, drawn into a copy."""
    from vidonate.detect.annotate import annotate

    events = detector.detect(video)
    if annotated is not None:
        annotate(video, events, annotated)
    return events


def events_record(model_id: int, video: str, events: list[Event]) -> dict[str, Any]:
    """What ``vidonate detect`` prints for one clip."""
    return {
        "model": model_id,
        "video": video,
        "events": [
            {"start": round(e.start, 2), "end": round(e.end, 2), "label": e.label,
             "score": round(e.score, 4)}
            for e in events
        ],
    }  # fmt: skip


def events_json(model_id: int, video: str, events: list[Event]) -> str:
    return json.dumps(events_record(model_id, video, events), indent=2)


def detect_events_in_child(model_dir: Path, video: Path) -> list[dict[str, Any]]:
    """What the HTTP endpoint runs in its sandboxed child: events as plain dicts."""
    from vidonate.detect.infer import Detector

    return [
        {"start": e.start, "end": e.end, "label": e.label, "score": e.score}
        for e in Detector.load(model_dir, threads=1).detect(video)
    ]
