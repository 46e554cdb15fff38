"""Training: one loop for a single process and for ``torchrun`` (DDP on the gloo backend).

``train(clips, out_dir=...)`` trains in this process. Under torchrun::

    torchrun --standalone --nproc_per_node 2 -m vidonate.detect.train \\
        --features FEATURES.npz --out DIR [--validation VAL.npz] [--epochs N] [--seed S]

every rank loads the same feature cache (:func:`~vidonate.detect.dataset.save_features`),
draws the same validation split and the same shuffles, trains on its own share of each
epoch's clips, and DDP averages the gradients, so all ranks hold the same weights
throughout. Each rank then writes ``train_log/rank<R>.json`` (what it saw, a digest of its
weights); rank 0 exports model.onnx, calibrates the scores and picks a threshold per
class on the validation clips, and writes model.json. Both paths run :func:`fit` and :func:`finish`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress
from torch import nn
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel

from vidonate.detect.augment import AugmentConfig, Augmenter, camera_motion
from vidonate.detect.calibrate import calibrate
from vidonate.detect.dataset import TrainingClip, load_features, split_validation
from vidonate.detect.evaluation import CLASSES
from vidonate.detect.events import DecoderConfig, frame_targets
from vidonate.detect.evidence import check_channels, evidence_maps, needs_hog
from vidonate.detect.export import export_onnx, verify_onnx
from vidonate.detect.gate import GateConfig
from vidonate.detect.infer import Detector
from vidonate.detect.manifest import ONNX_NAME, ModelFeatures, ModelManifest
from vidonate.detect.model import MODEL_CLASSES, ModelConfig, TheftNet

__all__ = [
    "EpochProgress",
    "TrainConfig",
    "TrainedModel",
    "TrainingClip",
    "fit",
    "main",
    "train",
    "train_seeds",
]


@dataclass(frozen=True)
class TrainConfig:
    """How to train; the defaults are the ones measured in docs/detector.md."""

    epochs: int | None = None  # None: enough epochs to show the network ~frame_passes frames
    frame_passes: int = 2_200_000
    min_epochs: int = 6
    max_epochs: int = 40
    batch_clips: int = 8
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    label_smoothing: float = 0.05
    validation_fraction: float = 0.15
    # Intra-op threads per process; None: the cores this process may use. The count is
    # part of the result: float sums split over other thread counts round differently.
    threads: int | None = None
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    per_class_thresholds: bool = True  # one threshold per event class, or one for all
    # Evidence maps the network reads besides the frames (detect.evidence); off until the
    # leave-one-style-out bench shows what each adds.
    evidence: tuple[str, ...] = ()

    def epochs_for(self, frames: int) -> int:
        if self.epochs is not None:
            return self.epochs
        wanted = math.ceil(self.frame_passes / max(1, frames))
        return max(self.min_epochs, min(self.max_epochs, wanted))


@dataclass(frozen=True)
class EpochProgress:
    """Reported after every epoch."""

    epoch: int  # 1-based
    epochs: int
    loss: float  # mean training loss of the epoch on this rank
    seconds: float  # since training started


@dataclass(frozen=True)
class FitResult:
    epochs: int
    steps: int
    clips_seen: int
    frames_seen: int
    final_loss: float
    seconds: float


@dataclass(frozen=True)
class TrainedModel:
    """A model directory written by :func:`train`: model.onnx and model.json."""

    model_dir: Path
    manifest: ModelManifest

    @property
    def onnx_path(self) -> Path:
        return self.model_dir / ONNX_NAME

    @property
    def threshold(self) -> float:
        """The single threshold the per-class search started from (see :attr:`thresholds`)."""
        return self.manifest.threshold

    @property
    def thresholds(self) -> dict[str, float]:
        """Each event class's opening threshold, as the decoder uses them."""
        return self.manifest.thresholds

    def detector(self) -> Detector:
        return Detector.load(self.model_dir)


Progress = Callable[[EpochProgress], None]
# Largest difference in any probability between model.onnx and the trained network.
_ONNX_TOLERANCE = 1e-4
# onnxruntime threads while picking thresholds: fixed, so that the scores the choice rests
# on (and so the thresholds) do not depend on the machine's core count.
_CALIBRATION_THREADS = 1


def train(
    clips: list[TrainingClip],
    *,
    out_dir: Path,
    epochs: int | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    config: TrainConfig | None = None,
    validation: list[TrainingClip] | None = None,
) -> TrainedModel:
    """Train from scratch on ``clips`` in this process; write ``out_dir``/model.onnx and
    model.json. The event threshold is picked, and validation metrics reported, on
    ``validation`` (a release's val split: cameras training never saw); without it, a
    share of ``clips`` (``config.validation_fraction``) is held out for that."""
    config = config or TrainConfig()
    if epochs is not None:
        config = replace(config, epochs=epochs)
    with deterministic_torch(config.threads or _usable_cores()) as determinism:
        training, validation = _training_and_validation(clips, validation, config, seed)
        net = _new_network(seed, config.evidence)
        result = fit(net, training, config, seed=seed, progress=progress)
        return finish(
            net,
            training,
            validation,
            result,
            config=config,
            out_dir=Path(out_dir),
            seed=seed,
            world_size=1,
            determinism=determinism,
        )


@contextmanager
def deterministic_torch(threads: int) -> Iterator[dict[str, Any]]:
    """PyTorch pinned for one training: ``threads`` intra-op threads, one inter-op thread
    where it can still be set, deterministic algorithms on; restored afterwards. Yields
    the settings as they took effect, for the training record (a run is repeatable only
    on the same thread count and the same CPU instruction set, see docs/detector.md)."""
    previous_threads = torch.get_num_threads()
    previous_deterministic = torch.are_deterministic_algorithms_enabled()
    previous_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.set_num_threads(threads)
    # Only possible before the process's first parallel work; then it stays as it was
    # (this network runs no inter-op parallel work either way).
    with suppress(RuntimeError):
        torch.set_num_interop_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        yield {
            "intra_op_threads": torch.get_num_threads(),
            "inter_op_threads": torch.get_num_interop_threads(),
            "deterministic_algorithms": True,
            "onnxruntime_threads": _CALIBRATION_THREADS,
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        }
    finally:
        torch.use_deterministic_algorithms(previous_deterministic, warn_only=previous_warn)
        torch.set_num_threads(previous_threads)


def train_seeds(
    clips: list[TrainingClip],
    *,
    out_root: Path,
    seeds: Sequence[int],
    config: TrainConfig | None = None,
    validation: list[TrainingClip] | None = None,
    progress: Progress | None = None,
) -> list[TrainedModel]:
    """One independent model per seed from the same extracted clips (decoded once, by the
    caller), each in ``out_root``/seed-<S>; thresholds and score calibration are picked
    on ``validation`` as in :func:`train`."""
    return [
        train(
            clips,
            out_dir=Path(out_root) / f"seed-{seed}",
            seed=seed,
            config=config,
            validation=validation,
            progress=progress,
        )
        for seed in seeds
    ]


def _training_and_validation(
    clips: list[TrainingClip],
    validation: list[TrainingClip] | None,
    config: TrainConfig,
    seed: int,
) -> tuple[list[TrainingClip], list[TrainingClip]]:
    if validation:
        return clips, validation
    return split_validation(clips, config.validation_fraction, seed)


def _new_network(seed: int, evidence: Sequence[str] = ()) -> TheftNet:
    torch.manual_seed(seed)
    return TheftNet(ModelConfig(evidence=check_channels(evidence)))


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# ----------------------------------------------------------------------------- the loop


def class_weights(targets: Sequence[np.ndarray], classes: int) -> torch.Tensor:
    """Square-root inverse frequency of each class among the frames: rare event frames
    count more, without letting a handful of them dominate."""
    counts = np.bincount(np.concatenate(targets), minlength=classes).astype(np.float64)
    total = counts.sum()
    weights = np.where(counts > 0, np.sqrt(total / (classes * np.maximum(counts, 1))), 1.0)
    return torch.tensor(weights / weights.mean(), dtype=torch.float32)


def _rank_order(count: int, seed: int, epoch: int, rank: int, world: int) -> np.ndarray:
    """This rank's clips for ``epoch``: one shuffle shared by all ranks, padded by wrapping
    round so every rank gets the same number (and so runs the same number of steps)."""
    order = np.random.default_rng([seed, epoch]).permutation(count)
    per_rank = math.ceil(count / world)
    padded = np.resize(order, per_rank * world)
    return padded[rank::world]


def _batches(
    order: np.ndarray, lengths: np.ndarray, size: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Batches of clips of similar length (less padding): sorted within groups of eight
    batches, then the batches shuffled."""
    batches: list[np.ndarray] = []
    group = size * 8
    for first in range(0, len(order), group):
        chunk = order[first : first + group]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[i : i + size] for i in range(0, len(chunk), size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def _collate(
    augmenter: Augmenter, indices: np.ndarray, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Frames ``(B, T, H, W)`` as float 0..255, varied (:mod:`~vidonate.detect.augment`),
    targets ``(B, T)``, a mask of real frames, and (when the augmenter carries it) the HOG
    person maps ``(B, T, H, W)`` moved with the frames. Padding repeats the last frame (a
    still scene) and is left out of the loss."""
    config = augmenter.config
    drawn = [augmenter.draw(int(i), rng) for i in indices]
    longest = max(len(frames) for frames, _, _ in drawn)
    height, width = drawn[0][0].shape[1:]
    frames = torch.empty((len(drawn), longest, height, width), dtype=torch.float32)
    hog = torch.empty_like(frames) if augmenter.hog else None
    labels = torch.zeros((len(drawn), longest), dtype=torch.long)
    mask = torch.zeros((len(drawn), longest), dtype=torch.bool)
    for row, (clip_frames, clip_hog, clip_targets) in enumerate(drawn):
        clip = torch.from_numpy(np.ascontiguousarray(clip_frames)).float()
        if clip_hog is not None:
            # The map rides along as a second plane through the geometric changes only.
            clip = torch.stack([clip, torch.from_numpy(np.ascontiguousarray(clip_hog)).float()], 1)
        if rng.random() < config.camera_motion:
            clip = camera_motion(clip, rng, config.zoom)
        if rng.random() < config.flip:
            clip = clip.flip(-1)
        if clip_hog is not None and hog is not None:
            clip, moved_hog = clip[:, 0], clip[:, 1]
            hog[row, : len(clip)] = moved_hog
            hog[row, len(clip) :] = moved_hog[-1]
        gain, offset = rng.uniform(*config.gain), rng.uniform(*config.offset)
        clip = (clip - 128.0) * gain + 128.0 + offset
        length = len(clip)
        frames[row, :length] = clip
        frames[row, length:] = clip[-1]
        labels[row, :length] = torch.from_numpy(clip_targets)
        mask[row, :length] = True
    return frames.clamp_(0.0, 255.0), labels, mask, hog


def _as_bytes(values: torch.Tensor) -> np.ndarray:
    """Float 0..255 values as inference sees them: rounded to uint8."""
    return values.round().clamp(0, 255).to(torch.uint8).numpy()


def batch_evidence(
    frames: torch.Tensor, channels: Sequence[str], hog: torch.Tensor | None = None
) -> torch.Tensor:
    """Evidence maps ``(B, T, E, H, W)`` uint8 of a batch of (varied) frames, each clip's
    computed on its frames as they will be at inference: rounded to uint8. ``hog`` is the
    batch's HOG person maps ``(B, T, H, W)`` (from :func:`_collate`), needed for "hog"."""
    as_bytes = _as_bytes(frames)
    maps = _as_bytes(hog) if hog is not None else [None] * len(as_bytes)
    return torch.from_numpy(
        np.stack(
            [
                evidence_maps(clip, channels, hog=clip_hog)
                for clip, clip_hog in zip(as_bytes, maps, strict=True)
            ]
        )
    )


def _loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    mask: torch.Tensor,
    class_weight: torch.Tensor,
    clip_weight: torch.Tensor,
    config: TrainConfig,
) -> torch.Tensor:
    """Cross-entropy over the real frames, weighted by class and by its clip's weight
    (``TrainingClip.weight``): the weighted mean PyTorch takes for class weights, with each
    frame's clip weight multiplied in (all weights equal: PyTorch's own mean)."""
    per_frame = F.cross_entropy(
        logits[mask], labels[mask], weight=class_weight,
        label_smoothing=config.label_smoothing, reduction="none",
    )  # fmt: skip
    frame_clip_weight = clip_weight[:, None].expand_as(mask)[mask]
    frame_weight = class_weight[labels[mask]] * frame_clip_weight
    return (per_frame * frame_clip_weight).sum() / frame_weight.sum()


def fit(
    net: TheftNet,
    clips: Sequence[TrainingClip],
    config: TrainConfig,
    *,
    seed: int,
    rank: int = 0,
    world_size: int = 1,
    progress: Progress | None = None,
) -> FitResult:
    """Train ``net`` in place on ``clips``; with ``world_size`` > 1 the process group must
    be initialised and every rank calls this with the same clips, config and seed."""
    if not clips:
        raise ValueError("no training clips")
    classes = list(net.config.classes)
    targets = [frame_targets(c.features.times, c.events, classes) for c in clips]
    weights = class_weights(targets, len(classes))
    clip_weights = torch.tensor([c.weight for c in clips], dtype=torch.float32)
    augmenter = Augmenter(clips, targets, config.augment, hog=needs_hog(net.config.evidence))
    lengths = np.array([len(c.features.frames) for c in clips])
    epochs = config.epochs_for(int(lengths.sum()))
    per_rank = math.ceil(len(clips) / world_size)
    steps_per_epoch = math.ceil(per_rank / config.batch_clips)

    model: nn.Module = DistributedDataParallel(net) if world_size > 1 else net
    optimizer = torch.optim.AdamW(
        net.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=config.learning_rate,
        total_steps=epochs * steps_per_epoch,
        pct_start=0.15,
    )
    rng = np.random.default_rng([seed, rank, 1])
    started = time.perf_counter()
    steps = clips_seen = frames_seen = 0
    epoch_loss = float("nan")
    model.train()
    for epoch in range(epochs):
        order = _rank_order(len(clips), seed, epoch, rank, world_size)
        total, count = 0.0, 0
        for batch in _batches(order, lengths, config.batch_clips, rng):
            frames, labels, mask, hog = _collate(augmenter, batch, rng)
            if net.config.evidence:
                logits = model(frames, batch_evidence(frames, net.config.evidence, hog))
            else:
                logits = model(frames)
            loss = _loss(
                logits, labels, mask, weights, clip_weights[torch.from_numpy(batch)], config
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total += float(loss.detach())
            count += 1
            steps += 1
            clips_seen += len(batch)
            frames_seen += int(mask.sum())
        epoch_loss = total / max(1, count)
        if progress is not None:
            progress(EpochProgress(epoch + 1, epochs, epoch_loss, time.perf_counter() - started))
    net.eval()
    return FitResult(
        epochs=epochs,
        steps=steps,
        clips_seen=clips_seen,
        frames_seen=frames_seen,
        final_loss=epoch_loss,
        seconds=time.perf_counter() - started,
    )


def weights_digest(net: nn.Module) -> str:
    """sha256 over every parameter and buffer, in state-dict order."""
    digest = hashlib.sha256()
    for name, tensor in net.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().contiguous().cpu().numpy().tobytes())
    return digest.hexdigest()


# ------------------------------------------------------------------- export and metadata


def finish(
    net: TheftNet,
    training: Sequence[TrainingClip],
    validation: Sequence[TrainingClip],
    result: FitResult,
    *,
    config: TrainConfig,
    out_dir: Path,
    seed: int,
    world_size: int,
    determinism: dict[str, Any] | None = None,
) -> TrainedModel:
    """Export ``net``, calibrate its scores and pick per-class thresholds on
    ``validation``, and write model.json."""
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = export_onnx(net, out_dir / ONNX_NAME)
    sample = (validation or training)[0].features
    difference = verify_onnx(net, onnx_path, sample.frames, hog=sample.hog)
    if difference > _ONNX_TOLERANCE:
        raise RuntimeError(f"model.onnx differs from the trained network by {difference:.2g}")
    network = net.config
    manifest = ModelManifest(
        classes=MODEL_CLASSES,
        event_classes=CLASSES,
        features=ModelFeatures(
            fps=training[0].features.fps, width=network.width, height=network.height
        ),
        receptive_field=network.receptive_field,
        decoder=DecoderConfig(),
        gate=GateConfig(),
        model=network.to_json(),
    )
    manifest.write(out_dir)  # provisional: calibration runs the deployed detector on it
    calibration = calibrate(
        Detector.load(out_dir, threads=_CALIBRATION_THREADS),
        validation,
        manifest.decoder,
        per_class=config.per_class_thresholds,
    )
    manifest = manifest.model_copy(
        update={
            "decoder": calibration.decoder,
            "calibration": calibration.scores,
            "training": {
                "seed": seed,
                "world_size": world_size,
                "config": asdict(config),
                "clips": len(training),
                "validation_clips": len(validation),
                "labels": _label_counts(training),
                "frames": int(sum(len(c.features.frames) for c in training)),
                **asdict(result),
                "validation": calibration.metrics,
                "onnx_max_abs_diff": difference,
                "torch": torch.__version__,
                "determinism": determinism,
            },
        }
    )
    manifest.write(out_dir)
    return TrainedModel(model_dir=out_dir, manifest=manifest)


def _label_counts(clips: Sequence[TrainingClip]) -> dict[str, int]:
    labels = [c.label for c in clips]
    return {label: labels.count(label) for label in sorted(set(labels))}


# ---------------------------------------------------------------- torchrun entry point


def _rank_log(out_dir: Path, rank: int, payload: dict[str, Any]) -> None:
    folder = out_dir / "train_log"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"rank{rank}.json").write_text(json.dumps(payload, indent=2) + "\n")


def run(
    features: Path,
    out_dir: Path,
    *,
    epochs: int | None,
    seed: int,
    progress: Progress | None = None,
    validation_features: Path | None = None,
    evidence: Sequence[str] = (),
) -> TrainedModel | None:
    """Train from a feature cache; distributed when torchrun set WORLD_SIZE > 1. The
    threshold is picked on ``validation_features`` when given (see :func:`train`).

    Returns the model on rank 0 and None on the other ranks.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(world_size)))
    config = TrainConfig(epochs=epochs, evidence=check_channels(evidence))
    if world_size > 1:
        dist.init_process_group("gloo")
    try:
        with deterministic_torch(max(1, _usable_cores() // local_world)) as determinism:
            return _run_rank(
                features,
                validation_features,
                out_dir,
                config,
                seed=seed,
                rank=rank,
                world_size=world_size,
                progress=progress,
                determinism=determinism,
            )
    finally:
        if world_size > 1:
            dist.destroy_process_group()


def _run_rank(
    features: Path,
    validation_features: Path | None,
    out_dir: Path,
    config: TrainConfig,
    *,
    seed: int,
    rank: int,
    world_size: int,
    progress: Progress | None,
    determinism: dict[str, Any],
) -> TrainedModel | None:
    held_out = load_features(validation_features) if validation_features else None
    training, validation = _training_and_validation(load_features(features), held_out, config, seed)
    net = _new_network(seed, config.evidence)
    result = fit(
        net,
        training,
        config,
        seed=seed,
        rank=rank,
        world_size=world_size,
        progress=progress if rank == 0 else None,
    )
    if world_size > 1:
        # Batch-norm statistics are buffers DDP copies from rank 0 before each forward,
        # so after the last one the ranks differ there; make them whole again.
        for buffer in net.buffers():
            dist.broadcast(buffer, src=0)
    _rank_log(
        out_dir,
        rank,
        {
            "rank": rank,
            "world_size": world_size,
            "backend": dist.get_backend() if world_size > 1 else None,
            "steps": result.steps,
            "clips_seen": result.clips_seen,
            "frames_seen": result.frames_seen,
            "final_loss": result.final_loss,
            "weights_sha256": weights_digest(net),
        },
    )
    trained = None
    if rank == 0:
        trained = finish(
            net,
            training,
            validation,
            result,
            config=config,
            out_dir=out_dir,
            seed=seed,
            world_size=world_size,
            determinism=determinism,
        )
    if world_size > 1:
        dist.barrier()
    return trained


@contextmanager
def epoch_bar(enabled: bool) -> Iterator[Progress | None]:
    """A rich progress bar over epochs on stderr, as a :data:`Progress` callback; one line
    per epoch where stderr is not a terminal (logs, CI)."""
    if not enabled:
        yield None
        return
    if not sys.stderr.isatty():

        def line(step: EpochProgress) -> None:
            print(
                f"epoch {step.epoch}/{step.epochs} loss {step.loss:.4f} {step.seconds:.0f} s",
                file=sys.stderr,
                flush=True,
            )

        yield line
        return
    columns = (
        TextColumn("training"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}"),
        TimeElapsedColumn(),
    )
    with RichProgress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task("epochs", total=None, loss="-")

        def report(step: EpochProgress) -> None:
            bar.update(task, total=step.epochs, completed=step.epoch, loss=f"{step.loss:.3f}")

        yield report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vidonate.detect.train",
        description="Train the theft detector from a feature cache (torchrun-aware).",
    )
    parser.add_argument("--features", type=Path, required=True, help="cache from save_features")
    parser.add_argument("--out", type=Path, required=True, help="model directory to write")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--validation", type=Path, default=None, help="cache of clips to pick the threshold on"
    )
    parser.add_argument(
        "--evidence",
        default="",
        help="comma-separated evidence maps the network reads (bg, removed, dwell, hog)",
    )
    args = parser.parse_args(argv)
    rank = int(os.environ.get("RANK", "0"))
    with epoch_bar(rank == 0) as progress:
        trained = run(
            args.features,
            args.out,
            epochs=args.epochs,
            seed=args.seed,
            progress=progress,
            validation_features=args.validation,
            evidence=[name for name in args.evidence.split(",") if name],
        )
    if trained is not None:
        validation = trained.manifest.training.get("validation") or {}
        print(
            json.dumps(
                {
                    "model_dir": str(trained.model_dir),
                    "threshold": trained.threshold,
                    "thresholds": trained.thresholds,
                    "validation": validation,
                }
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
