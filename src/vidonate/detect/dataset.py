"""Labelled clips for training, the feature cache file, and the validation split.

The cache is one ``.npz`` (no pickles) holding every clip's frames back to back, so that
each rank of a distributed run loads arrays instead of decoding video: ``frames``
``(sum T, H, W)`` uint8, ``lengths`` ``(N,)`` and a JSON string ``meta`` with the clip
ids, labels, events and frame rate; ``hog`` ``(sum T, H, W)`` uint8 beside ``frames`` when
the clips were decoded with the HOG person map (all of them or none).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vidonate.detect.evaluation import Event
from vidonate.detect.features import ClipFeatures, HogConfig, extract_many, uniform_times

CACHE_FORMAT = 1


@dataclass(frozen=True)
class TrainingClip:
    """One labelled clip: its features, its clip-level label and its events in time."""

    features: ClipFeatures
    label: str  # package_theft | car_door_tampering | normal_activity
    events: tuple[Event, ...]
    clip_id: str
    # How much the clip's frames count in the training loss (see source_weights).
    weight: float = 1.0


@dataclass(frozen=True)
class LabelledVideo:
    """A video file and its labels, before decoding."""

    path: Path
    label: str
    events: tuple[Event, ...]
    clip_id: str

    @classmethod
    def from_synth(cls, clip: Any) -> LabelledVideo:
        """From a :class:`vidonate.synth.SynthClip` (or anything shaped like one)."""
        events = tuple(Event(e.start, e.end, e.label) for e in clip.events)
        return cls(Path(clip.path), clip.label, events, Path(clip.path).stem)


def extract_training_clips(
    videos: Sequence[LabelledVideo],
    *,
    workers: int = 2,
    progress: Callable[[int, int], None] | None = None,
    hog: bool | HogConfig = False,
) -> list[TrainingClip]:
    """Decode ``videos`` (in ``workers`` processes) into training clips, in input order;
    ``hog`` also makes each clip's HOG person map (for the "hog" evidence channel)."""
    features = extract_many([v.path for v in videos], workers=workers, progress=progress, hog=hog)
    return [
        TrainingClip(features=f, label=v.label, events=v.events, clip_id=v.clip_id)
        for v, f in zip(videos, features, strict=True)
    ]


def save_features(path: Path, clips: Sequence[TrainingClip]) -> None:
    """Write ``clips`` to one cache file at ``path`` (written whole, then renamed)."""
    if not clips:
        raise ValueError("no clips to save")
    fps = clips[0].features.fps
    if any(c.features.fps != fps for c in clips):
        raise ValueError("clips in one cache must share a frame rate")
    with_hog = [c.features.hog is not None for c in clips]
    if any(with_hog) and not all(with_hog):
        raise ValueError("clips in one cache must all have a HOG person map, or none")
    meta = {
        "format": CACHE_FORMAT,
        "fps": fps,
        "clips": [
            {
                "clip_id": c.clip_id,
                "label": c.label,
                "events": [[e.start, e.end, e.label, e.score] for e in c.events],
                "source_size": [c.features.source_width, c.features.source_height],
                "weight": c.weight,
            }
            for c in clips
        ],
    }
    path = Path(path)
    partial = path.with_name(path.name + ".partial.npz")
    arrays: dict[str, Any] = {
        "frames": np.concatenate([c.features.frames for c in clips]),
        "lengths": np.array([len(c.features.frames) for c in clips], dtype=np.int64),
        "meta": np.array(json.dumps(meta)),
    }
    if all(with_hog):
        arrays["hog"] = np.concatenate(
            [c.features.hog for c in clips if c.features.hog is not None]
        )
    np.savez(partial, **arrays)
    partial.replace(path)


def load_features(path: Path) -> list[TrainingClip]:
    """The clips saved by :func:`save_features`; frames are views into one array."""
    with np.load(Path(path), allow_pickle=False) as data:
        frames, lengths = data["frames"], data["lengths"]
        hog = data["hog"] if "hog" in data.files else None
        meta = json.loads(str(data["meta"]))
    if meta.get("format") != CACHE_FORMAT:
        raise ValueError(f"{path}: unknown feature cache format {meta.get('format')!r}")
    fps = float(meta["fps"])
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    clips = []
    for index, entry in enumerate(meta["clips"]):
        span = slice(offsets[index], offsets[index + 1])
        clip_frames = frames[span]
        width, height = entry["source_size"]
        clips.append(
            TrainingClip(
                features=ClipFeatures(
                    frames=clip_frames,
                    times=uniform_times(len(clip_frames), fps),
                    fps=fps,
                    source_width=int(width),
                    source_height=int(height),
                    hog=None if hog is None else hog[span],
                ),
                label=entry["label"],
                events=tuple(Event(s, e, lab, sc) for s, e, lab, sc in entry["events"]),
                clip_id=entry["clip_id"],
                weight=float(entry.get("weight", 1.0)),
            )
        )
    return clips


# A donated clip counts at most this many synthetic clips' worth: real footage matters
# more, but a handful of clips weighted by hundreds would be learnt by heart.
MAX_SOURCE_WEIGHT = 4.0


def source_weights(
    sources: Sequence[str], *, max_weight: float = MAX_SOURCE_WEIGHT
) -> dict[str, float]:
    """A loss weight per source ("synthetic", "donated") that gives each source an equal
    share of the loss, no clip weighing more than ``max_weight`` times the lightest (so
    clips of the rarer source count more, within reason). One source: all 1."""
    counts = {source: sources.count(source) for source in sorted(set(sources))}
    if len(counts) < 2:
        return dict.fromkeys(counts, 1.0)
    raw = {source: len(sources) / (len(counts) * n) for source, n in counts.items()}
    lightest = min(raw.values())
    return {source: min(w / lightest, max_weight) for source, w in raw.items()}


def split_validation(
    clips: Sequence[TrainingClip], fraction: float, seed: int
) -> tuple[list[TrainingClip], list[TrainingClip]]:
    """(train, validation): ``fraction`` of each label's clips, at least one per label when
    that label has three or more, drawn with ``seed``. Same input, same split."""
    rng = np.random.default_rng(seed)
    train: list[TrainingClip] = []
    validation: list[TrainingClip] = []
    for label in sorted({c.label for c in clips}):
        group = sorted((c for c in clips if c.label == label), key=lambda c: c.clip_id)
        order = rng.permutation(len(group))
        take = round(len(group) * fraction)
        if fraction > 0 and take == 0 and len(group) >= 3:
            take = 1
        validation += [group[i] for i in order[:take]]
        train += [group[i] for i in order[take:]]
    return train, validation
