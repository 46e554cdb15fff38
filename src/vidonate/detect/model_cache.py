"""A verified copy of each registered model's files on local disk, filled once.

Detection used to copy a model out of the blob store on every call (3.7 s per clip from
the CLI). Now each model's files are copied once into ``<var_dir>/model-cache/model-<id>``
and reused by every later call, in this process and others:

* a filler copies into a fresh temporary directory beside the entry, checks the ONNX
  file against the model's ``artifact_sha256`` (as :func:`~vidonate.detect.lineage.fetch_model`
  does), writes the files' hashes to ``verified.json``, then renames the directory into
  place: a reader sees a whole entry or none, and of two concurrent fillers one rename
  wins and the other uses the winner's entry;
* a reader re-hashes the files against ``verified.json`` and the registry's hash before
  use (a few milliseconds for a model of a few MB), so a truncated or altered entry is
  caught, moved aside and filled again rather than loaded.

The cache keeps the ``MAX_ENTRIES`` models used last (each use touches the entry's stamp);
filling a new entry removes the least recently used beyond that, and the leftovers of a
filler that died (``.filling-*``, ``.stale-*`` older than an hour).

The cache lives beside the scratch space, not inside it: the scratch sweep removes every
directory no live process holds, and the cache must outlive the process that filled it.
Model files are no donor content (weights learned from many clips hold none of them), so
they may outlive a process, unlike decrypted clips.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path

from vidonate.db.models import DetectorModel
from vidonate.detect.lineage import MODEL_FILES, fetch_model
from vidonate.storage.base import BlobStore

CACHE_DIR_NAME = "model-cache"
STAMP_NAME = "verified.json"
# Models kept on disk: the served one, a candidate being evaluated, a few recent ones.
MAX_ENTRIES = 8
# A half-filled or set-aside directory this old belongs to a filler that died.
LEFTOVER_SECONDS = 3600.0


def entry_dir(root: Path, model: DetectorModel) -> Path:
    return root / f"model-{model.id}"


def cached_model_files(root: Path, store: BlobStore, model: DetectorModel) -> Path:
    """The directory holding ``model``'s verified files, copied from ``store`` if absent
    or damaged. See the module docstring for how concurrent callers stay safe."""
    entry = entry_dir(root, model)
    if entry_intact(entry, model):
        _touch(entry)
        return entry
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    filling = Path(tempfile.mkdtemp(prefix=f".filling-{model.id}-", dir=root))
    try:
        fetch_model(store, model, filling)  # raises unless the ONNX file matches its hash
        stamp = {"model": model.id, "sha256": {n: _sha256(filling / n) for n in MODEL_FILES}}
        (filling / STAMP_NAME).write_text(json.dumps(stamp, indent=2) + "\n")
        _install(filling, entry, model)
    finally:
        shutil.rmtree(filling, ignore_errors=True)
    prune(root, keep=entry)
    return entry


def _touch(entry: Path) -> None:
    with contextlib.suppress(OSError):
        os.utime(entry / STAMP_NAME)


def prune(root: Path, keep: Path, limit: int = MAX_ENTRIES) -> list[Path]:
    """Remove all but the ``limit`` entries used last (``keep`` always stays) and dead
    fillers' leftovers; returns what was removed."""

    def last_used(entry: Path) -> float:
        try:
            return (entry / STAMP_NAME).stat().st_mtime
        except OSError:
            return 0.0

    entries = sorted(root.glob("model-*"), key=last_used, reverse=True)
    others = [e for e in entries if e != keep]
    room = limit - 1 if keep in entries else limit  # ``keep`` takes one place when present
    doomed = others[max(0, room) :]
    now = time.time()
    for leftover in [*root.glob(".filling-*"), *root.glob(".stale-*")]:
        with contextlib.suppress(OSError):
            if now - leftover.stat().st_mtime > LEFTOVER_SECONDS:
                doomed.append(leftover)
    for path in doomed:
        shutil.rmtree(path, ignore_errors=True)
    return doomed


def entry_intact(entry: Path, model: DetectorModel) -> bool:
    """Whether ``entry`` holds ``model``'s files as verified when it was filled."""
    try:
        stamp = json.loads((entry / STAMP_NAME).read_text())
        hashes = stamp["sha256"]
        if stamp["model"] != model.id or hashes["model.onnx"] != model.artifact_sha256:
            return False
        return all(_sha256(entry / name) == hashes[name] for name in MODEL_FILES)
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _install(filling: Path, entry: Path, model: DetectorModel) -> None:
    """Rename ``filling`` to ``entry``; an intact entry already there (another filler
    won) is kept, a damaged one is moved aside first."""
    try:
        os.rename(filling, entry)
        return
    except OSError:  # something is there already
        if entry_intact(entry, model):
            return
    stale = entry.with_name(f".stale-{model.id}-{secrets.token_hex(4)}")
    with contextlib.suppress(FileNotFoundError):
        os.rename(entry, stale)
    try:
        os.rename(filling, entry)
    except OSError:  # a concurrent refiller got there in between
        if not entry_intact(entry, model):
            raise
    finally:
        shutil.rmtree(stale, ignore_errors=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
