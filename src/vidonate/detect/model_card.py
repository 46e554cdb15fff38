"""``vidonate model export``: a model directory a user can ship, with its model card.

The directory holds model.onnx and model.json (all :class:`~vidonate.detect.infer.Detector`
needs: ``Detector.load(DIR)``) and MODEL_CARD.md: lineage, the data it learned from,
its metrics and thresholds, the code version, the files' sha256 and the licence.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vidonate.db.models import DetectorModel, Release
from vidonate.db.models_detect import ModelPromotion
from vidonate.detect.lineage import MODEL_FILES
from vidonate.errors import Conflict

CARD_NAME = "MODEL_CARD.md"
LICENCE_NOTE = (
    "The code that trained this model is under the Apache License 2.0. The weights were "
    "learned from the release named above: synthetic scenes and clips donors gave with "
    "consent to training; they hold no clip. Use it to flag footage for a person to "
    "check, not to accuse anyone: read the metrics and their limits first."
)


def export_model(
    session: Session, model: DetectorModel, files: Path, dest: Path, *, force: bool = False
) -> Path:
    """Write ``model``'s files (from the verified directory ``files``) and its card into
    ``dest``; a non-empty ``dest`` is refused unless ``force``."""
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())) and not force:
        raise Conflict("export_dir_not_empty", f"{dest} is not empty: pass --force to write there")
    dest.mkdir(parents=True, exist_ok=True)
    for name in MODEL_FILES:
        shutil.copyfile(files / name, dest / name)
    hashes = {name: hashlib.sha256((dest / name).read_bytes()).hexdigest() for name in MODEL_FILES}
    (dest / CARD_NAME).write_text(model_card(session, model, hashes))
    return dest


def model_card(session: Session, model: DetectorModel, hashes: dict[str, str]) -> str:
    """The Markdown model card of ``model``."""
    release = session.get(Release, model.release_id) if model.release_id is not None else None
    training: dict[str, Any] = dict(model.metrics.get("training") or {})
    decoder = dict(model.config.get("decoder") or {})
    served = session.scalars(
        select(ModelPromotion).where(ModelPromotion.model_id == model.id)
    ).all()
    lines = [
        f"# vidonate theft detector, model {model.id}",
        "",
        "Finds package theft and car-door tampering in security-camera video, in time "
        "(start, end, label, score). Load it with `Detector.load(DIR)` "
        "(`vidonate.detect.infer`, onnxruntime only).",
        "",
        "## Lineage",
        "",
        f"- model id: {model.id}, created {model.created_at:%Y-%m-%d %H:%M} UTC",
        f"- code version: {model.code_version}",
        f"- trained on release: {f'v{release.version}' if release else 'none recorded'}"
        + (
            f" ({release.clips} clips, manifest sha256 {release.manifest_sha256})"
            if release
            else ""
        ),
        f"- promotions to served: {len(served)}"
        + (f" (forced: {sum(p.forced for p in served)})" if served else ""),
        "",
        "## Training data",
        "",
        *_training_data_lines(session, release, training),
        "",
        "## Thresholds",
        "",
        f"- event opens above {decoder.get('high')} and closes below {decoder.get('low')} "
        f"(smoothed over {decoder.get('smooth_s')} s; events shorter than "
        f"{decoder.get('min_duration_s')} s dropped, gaps under {decoder.get('merge_gap_s')} s "
        "merged)",
        "",
        "## Metrics",
        "",
        "```json",
        json.dumps(model.metrics, indent=2, sort_keys=True),
        "```",
        "",
        "## Files",
        "",
        "| file | sha256 |",
        "|---|---|",
        *(f"| {name} | `{digest}` |" for name, digest in hashes.items()),
        "",
        "## Licence",
        "",
        LICENCE_NOTE,
        "",
    ]
    return "\n".join(lines)


def _training_data_lines(
    session: Session, release: Release | None, training: dict[str, Any]
) -> list[str]:
    lines = []
    if release is not None:
        from vidonate.datasets.release import manifest

        rows = manifest(session, release)
        splits = Counter(str(r["split"]) for r in rows)
        labels = Counter((str(r["split"]), str(r["label"])) for r in rows)
        synthetic = Counter(str(r["split"]) for r in rows if r.get("synthetic"))
        for split in ("train", "val", "test"):
            if splits[split]:
                by_label = ", ".join(
                    f"{label} {n}" for (s, label), n in sorted(labels.items()) if s == split
                )
                lines.append(
                    f"- {split}: {splits[split]} clips ({by_label}; synthetic {synthetic[split]})"
                )
    for key in ("clips", "epochs", "seconds"):
        if key in training:
            lines.append(f"- training {key}: {training[key]}")
    return lines or ["- not recorded"]
