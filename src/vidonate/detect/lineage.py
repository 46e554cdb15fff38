"""The model registry: every trained detector with its lineage.

A model is registered with the release it learned from, the code version that trained
it, its configuration and its metrics (training-time validation, then each evaluation).
Its files (``model.onnx``, ``model.json``) go to the blob store under ``models/<id>/``.
They are not donor content: weights are learned from many clips and hold none of them,
so they are not encrypted under any donor's key.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vidonate.db.models import DetectorModel
from vidonate.errors import NotFound
from vidonate.storage import layout
from vidonate.storage.base import BlobStore, put_file, read_bytes
from vidonate.version import code_version

MODEL_FILES = ("model.onnx", "model.json")


def register_model(
    session: Session,
    store: BlobStore,
    model_dir: Path,
    *,
    release_id: int | None,
    actor_id: int | None = None,
) -> DetectorModel:
    """Store ``model_dir``'s files and record the model with its lineage."""
    config = json.loads((model_dir / "model.json").read_text())
    onnx = (model_dir / "model.onnx").read_bytes()
    model = DetectorModel(
        release_id=release_id,
        code_version=code_version(),
        artifact_key="",
        artifact_sha256=hashlib.sha256(onnx).hexdigest(),
        config=config,
        metrics={"training": config.get("training", {})},
        created_by=actor_id,
    )
    session.add(model)
    session.flush()
    model.artifact_key = layout.model_file_key(model.id, "model.onnx")
    for name in MODEL_FILES:
        put_file(store, layout.model_file_key(model.id, name), model_dir / name)
    session.flush()
    return model


def get_model(session: Session, ref: str | int | None) -> DetectorModel:
    """A model by id, or the newest with ``None``/"latest"."""
    query = select(DetectorModel)
    text = str(ref or "latest").strip().lower()
    if text == "latest":
        model = session.scalar(query.order_by(DetectorModel.id.desc()).limit(1))
    elif text.isascii() and text.isdigit() and int(text) < 2**31:
        model = session.get(DetectorModel, int(text))
    else:
        model = None
    if model is None:
        raise NotFound(
            "unknown_model",
            "no trained model yet: run `vidonate train --release R`"
            if text == "latest"
            else f"there is no model {ref!r}",
        )
    return model


def fetch_model(store: BlobStore, model: DetectorModel, dest: Path) -> Path:
    """Copy the model's files into ``dest`` and check the ONNX file's hash."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in MODEL_FILES:
        (dest / name).write_bytes(read_bytes(store, layout.model_file_key(model.id, name)))
    if hashlib.sha256((dest / "model.onnx").read_bytes()).hexdigest() != model.artifact_sha256:
        raise RuntimeError(f"model {model.id}'s stored ONNX file does not match its hash")
    return dest


def record_evaluation(model: DetectorModel, release_version: int, summary: dict[str, Any]) -> None:
    """Add an evaluation's headline numbers to the model's metrics."""
    metrics = dict(model.metrics or {})
    metrics.setdefault("evaluations", {})[f"v{release_version}"] = summary
    model.metrics = metrics
