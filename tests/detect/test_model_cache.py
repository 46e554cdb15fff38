"""The served model's files are copied out of the blob store once, then reused.

The cache holds real files checked against the registry's hash; a wrapper around the
real store counts what detection reads from it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from vidonate.db.engine import transaction
from vidonate.db.models_detect import ModelPromotion
from vidonate.detect.lineage import register_model
from vidonate.detect.model_cache import STAMP_NAME, cached_model_files
from vidonate.detect.pipeline import Pipeline, cached_registered
from vidonate.runtime import Runtime
from vidonate.storage.base import BlobStore


class CountingStore:
    """The real store, counting the blobs read out of it."""

    def __init__(self, store: BlobStore) -> None:
        self.store = store
        self.reads: list[str] = []

    def read(self, key: str, *args: Any, **kwargs: Any) -> Iterator[bytes]:
        self.reads.append(key)
        return self.store.read(key, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def _register(rt: Runtime, folder: Path, onnx: bytes) -> int:
    """A model whose files are bytes: the cache copies and checks them, never runs them."""
    folder.mkdir()
    (folder / "model.onnx").write_bytes(onnx)
    (folder / "model.json").write_text('{"decoder": {"high": 0.6}}')
    with transaction(rt.sessions) as s:
        return register_model(s, rt.store, folder, release_id=None).id


@pytest.fixture
def counting(rt: Runtime) -> tuple[Pipeline, CountingStore]:
    store = CountingStore(rt.store)
    return Pipeline(rt.sessions, rt.vault, store, rt.scratch), store  # type: ignore[arg-type]


def test_the_cache_fills_once_and_later_calls_read_nothing_from_the_store(
    rt: Runtime, tmp_path: Path, counting: tuple[Pipeline, CountingStore]
) -> None:
    pipeline, store = counting
    model_id = _register(rt, tmp_path / "m", b"onnx bytes " * 1000)

    model, first = cached_registered(pipeline, model_id)
    assert model.id == model_id and sorted(store.reads) == [
        f"models/{model_id}/model.json",
        f"models/{model_id}/model.onnx",
    ]
    # In the var dir, outside the scratch space its sweep empties.
    assert first.parent == rt.settings.var_dir.absolute() / "model-cache"
    inode = first.stat().st_ino
    rt.scratch.sweep()

    _, again = cached_registered(pipeline, model_id)
    assert again == first and again.stat().st_ino == inode
    assert len(store.reads) == 2  # nothing more came out of the store
    assert (again / "model.onnx").read_bytes() == b"onnx bytes " * 1000
    assert [p.name for p in first.parent.iterdir()] == [first.name]  # no temporary left


def test_a_damaged_cache_entry_is_caught_and_filled_again(
    rt: Runtime, tmp_path: Path, counting: tuple[Pipeline, CountingStore]
) -> None:
    pipeline, store = counting
    model_id = _register(rt, tmp_path / "m", b"the real weights" * 100)
    _, entry = cached_registered(pipeline, model_id)

    (entry / "model.onnx").write_bytes(b"the real weights" * 99 + b"the fake weights")
    _, refilled = cached_registered(pipeline, model_id)
    assert refilled == entry and len(store.reads) == 4
    assert (refilled / "model.onnx").read_bytes() == b"the real weights" * 100

    (entry / "model.json").write_text('{"decoder": {"high": 0.0}}')  # not the onnx, still caught
    cached_registered(pipeline, model_id)
    assert len(store.reads) == 6 and "0.6" in (entry / "model.json").read_text()

    (entry / STAMP_NAME).unlink()
    cached_registered(pipeline, model_id)
    assert len(store.reads) == 8 and (entry / STAMP_NAME).is_file()
    assert [p.name for p in entry.parent.iterdir()] == [entry.name]


def test_concurrent_fillers_leave_one_whole_entry(rt: Runtime, tmp_path: Path) -> None:
    model_id = _register(rt, tmp_path / "m", b"w" * 200_000)
    with transaction(rt.sessions) as s:
        from vidonate.db.models import DetectorModel

        model = s.get(DetectorModel, model_id)
        assert model is not None
        s.expunge(model)
    root = tmp_path / "cache"
    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(cached_model_files(root, rt.store, model)))
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1 and len(results) == 6
    assert (results[0] / "model.onnx").read_bytes() == b"w" * 200_000
    assert [p.name for p in root.iterdir()] == [f"model-{model_id}"]


def test_no_model_named_means_the_served_model_not_the_newest(
    rt: Runtime, tmp_path: Path, counting: tuple[Pipeline, CountingStore]
) -> None:
    pipeline, _ = counting
    older = _register(rt, tmp_path / "a", b"older")
    newer = _register(rt, tmp_path / "b", b"newer")
    assert cached_registered(pipeline, None)[0].id == newer  # none promoted: the newest
    with transaction(rt.sessions) as s:
        s.add(ModelPromotion(model_id=older, previous_model_id=newer, comparison={}))
    assert cached_registered(pipeline, None)[0].id == older
    assert cached_registered(pipeline, "served")[0].id == older
    assert cached_registered(pipeline, "latest")[0].id == newer


def test_the_cache_keeps_the_models_used_last_and_removes_dead_fillers_leftovers(
    rt: Runtime, tmp_path: Path, counting: tuple[Pipeline, CountingStore]
) -> None:
    import os
    import time

    from vidonate.detect import model_cache

    pipeline, _ = counting
    root = pipeline.model_cache
    ids = [_register(rt, tmp_path / f"m{i}", f"onnx {i} ".encode() * 100) for i in range(4)]
    with transaction(rt.sessions) as s:
        from vidonate.db.models import DetectorModel

        models = [s.get(DetectorModel, i) for i in ids]
        s.expunge_all()
    for tick, model in enumerate(models[:3]):
        entry = cached_model_files(root, rt.store, model)  # type: ignore[arg-type]
        os.utime(entry / STAMP_NAME, (1000.0 + tick, 1000.0 + tick))  # used in this order
    cached_model_files(root, rt.store, models[0])  # type: ignore[arg-type]  # used again
    dead = root / ".filling-99-abc"
    dead.mkdir()
    os.utime(dead, (time.time() - 2 * model_cache.LEFTOVER_SECONDS,) * 2)

    removed = model_cache.prune(root, keep=root / "none", limit=2)
    assert sorted(p.name for p in removed) == [".filling-99-abc", f"model-{ids[1]}"]
    assert sorted(p.name for p in root.iterdir()) == sorted(
        [f"model-{ids[0]}", f"model-{ids[2]}"]
    ), "the two used last stay"
    cached_model_files(root, rt.store, models[3])  # type: ignore[arg-type]  # fills: prunes
    assert (root / f"model-{ids[3]}").is_dir()
