"""The local blob store's own behaviour, beyond the contract every back end meets
(tests/storage/test_contract.py): what it leaves on disk."""

from __future__ import annotations

import os
import time
from pathlib import Path

from vidonate.storage.base import put_bytes
from vidonate.storage.local import LocalDirStore


def test_an_aborted_write_leaves_no_file_and_no_folder(tmp_path: Path) -> None:
    store = LocalDirStore(tmp_path)
    writer = store.writer("uploads/u/0")
    writer.write(b"partial")
    writer.abort()
    assert list(tmp_path.iterdir()) == []


def test_delete_removes_emptied_folders_but_not_a_siblings(tmp_path: Path) -> None:
    store = LocalDirStore(tmp_path)
    put_bytes(store, "clips/7/thumbnail.jpg", b"x")
    put_bytes(store, "clips/8/video.mp4", b"y")
    store.delete("clips/7/thumbnail.jpg")
    assert [p.relative_to(tmp_path).as_posix() for p in sorted(tmp_path.rglob("*"))] == [
        "clips",
        "clips/8",
        "clips/8/video.mp4",
    ]


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


def test_sweep_removes_the_folder_a_crashed_write_left_empty(tmp_path: Path) -> None:
    store = LocalDirStore(tmp_path)
    crashed = store.writer("uploads/gone/0")
    crashed.write(b"half")
    crashed._file.close()
    old = time.time() - 2 * 24 * 3600
    for leftover in tmp_path.rglob("0.part-*"):
        os.utime(leftover, (old, old))
    assert store.sweep_partial() == 1
    assert list(tmp_path.iterdir()) == []
