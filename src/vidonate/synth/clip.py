"""The public shape of a synthetic clip: kinds, labels, events, and its JSON sidecar."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

KINDS = ("package_theft", "car_door_tampering", "delivery", "passer_by")
LABEL_OF_KIND = {
    "package_theft": "package_theft",
    "car_door_tampering": "car_door_tampering",
    "delivery": "normal_activity",
    "passer_by": "normal_activity",
}
# How a synthetic clip says what it is, wherever it goes.
FILE_PREFIX = "synthetic-"
CONTAINER_COMMENT = "vidonate synthetic scene"
MARKER_TEXT = "SYNTHETIC"
WIDTH, HEIGHT, FPS = 640, 360, 10
DEFAULT_SECONDS = (6.0, 14.0)
MIN_SECONDS = 3.0  # shorter than this, no walk-in, action and walk-out fits
MAX_SECONDS = 120.0


@dataclass(frozen=True)
class SynthEvent:
    """The theft or tampering itself, from `start` (inclusive) to `end` (exclusive), in
    seconds from the clip's start: frame i (at i / fps seconds) belongs to it when
    start <= i / fps < end."""

    start: float
    end: float
    label: str


@dataclass(frozen=True)
class SynthClip:
    """A rendered clip: its MP4, its sidecar, what it shows and how long it is."""

    path: Path
    sidecar: Path
    kind: str
    label: str
    events: tuple[SynthEvent, ...]
    duration: float
    style: str = "classic"  # how it was drawn (vidonate.synth.styles)


def check_kind(kind: str) -> str:
    if kind not in LABEL_OF_KIND:
        raise ValueError(f"unknown kind of scene {kind!r}; kinds are {', '.join(KINDS)}")
    return kind


def sidecar_path(path: Path) -> Path:
    """Where a clip's sidecar lives: beside it, same name, .json."""
    return path.with_suffix(".json")


def write_json(path: Path, record: dict[str, object]) -> None:
    """JSON that is the same bytes for the same record: fixed key order, no timestamps."""
    path.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def load_clip(sidecar: Path) -> SynthClip:
    """The clip a sidecar describes (its MP4 is the sidecar's `file`, in the same folder)."""
    sidecar = Path(sidecar)
    record = json.loads(sidecar.read_text(encoding="utf-8"))
    if record.get("synthetic") is not True:
        raise ValueError(f"{sidecar} does not describe a synthetic clip")
    kind = check_kind(record["kind"])
    return SynthClip(
        path=sidecar.parent / record["file"],
        sidecar=sidecar,
        kind=kind,
        label=record["label"],
        events=tuple(SynthEvent(e["start"], e["end"], e["label"]) for e in record["events"]),
        duration=record["duration"],
        style=record.get("style", "classic"),  # sidecars from before styles
    )
