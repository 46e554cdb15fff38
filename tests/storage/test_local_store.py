"""The local blob store: atomic writes, safe keys, no trace of deleted or unfinished blobs."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from vidonate.storage.base import put_bytes, read_bytes
from vidonate.storage.local import LocalDirStore


def test_a_blob_is_invisible_until_committed(tmp_path: Path) -> None:
    store = LocalDirStore(tmp_path)
    writer = store.writer("clips/1/video.mp4")
    writer.write(b"abc")
    assert not store.exists("clips/1/video.mp4") and store.keys() == []
    assert writer.commit() == 3
    assert read_bytes(store, "clips/1/video.mp4") == b"abc"


def test_an_aborted_write_leaves_nothing(tmp_path: Path) -> None:
    store = LocalDirStore(tmp_path)
    writer = store.writer("uploads/u/0")
    writer.write(b"partial")
    writer.abort()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "a//b", "a/../b", ".hidden", ""])
def test_keys_cannot_escape_the_store(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError):
        LocalDirStore(tmp_path).writer(key)


def test_delete_removes_empty_folders(tmp_path: Path) -> None:
    store = LocalDirStore(tmp_path)
    put_bytes(store, "clips/7/thumbnail.jpg", b"x")
    store.delete("clips/7/thumbnail.jpg")
    store.delete("clips/7/thumbnail.jpg")  # deleting twice is fine
    assert list(tmp_path.iterdir()) == []


def test_sweep_removes_old_leftovers_of_crashed_writes_only(tmp_path: Path) -> None:
    store = LocalDirStore(tmp_path)
    crashed = store.writer("uploads/u/0")
    crashed.write(b"half")
    crashed._file.close()  # the process died here: neither commit nor abort ran
    fresh = store.writer("uploads/u/1")
    fresh.write(b"in flight")
    old = time.time() - 2 * 24 * 3600
    for leftover in tmp_path.rglob("0.part-*"):
        os.utime(leftover, (old, old))
    assert store.sweep_partial() == 1
    assert fresh.commit() == 9, "a write in progress is not swept"
    assert store.keys() == ["uploads/u/1"]


@pytest.mark.parametrize(("start", "end", "want"), [(0, None, b"0123456789"), (2, 5, b"234"),
                                                    (7, None, b"789"), (9, 100, b"9")])
def test_ranged_reads(tmp_path: Path, start: int, end: int | None, want: bytes) -> None:
    store = LocalDirStore(tmp_path)
    put_bytes(store, "k", b"0123456789")
    assert b"".join(store.read("k", chunk_size=2, start=start, end=end)) == want
