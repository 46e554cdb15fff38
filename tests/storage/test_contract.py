"""The blob-store contract: every back end behaves the same to its callers.

Each test runs against every back end: the local directory, memory, and an S3 bucket on a
real SeaweedFS server started on loopback (tests/seaweed.py). A back end's own extras (how
it sweeps, what it leaves on disk) are tested beside it, in tests/storage/test_<back end>.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from vidonate.storage import BlobNotFound, BlobStore, open_store
from vidonate.storage.base import copy_blobs, put_bytes, read_bytes
from vidonate.storage.memory import MemoryStore


@pytest.fixture(params=["local", "memory", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "s3":
        seaweed = request.getfixturevalue("s3_env")
        return open_store(seaweed.storage_url(seaweed.new_prefix()))
    url = {"local": f"file://{tmp_path / 'blobs'}", "memory": "memory://"}[request.param]
    return open_store(url)


def test_a_blob_is_invisible_until_committed(store: BlobStore) -> None:
    writer = store.writer("clips/1/video.mp4")
    writer.write(b"abc")
    writer.write(b"def")
    assert not store.exists("clips/1/video.mp4") and store.keys() == []
    assert writer.commit() == 6
    assert store.exists("clips/1/video.mp4")
    assert read_bytes(store, "clips/1/video.mp4") == b"abcdef"


def test_an_aborted_write_is_never_visible(store: BlobStore) -> None:
    writer = store.writer("uploads/u/0")
    writer.write(b"partial")
    writer.abort()
    assert store.keys() == [] and not store.exists("uploads/u/0")


def test_a_commit_replaces_the_blob_whole(store: BlobStore) -> None:
    put_bytes(store, "k", b"first version, longer")
    put_bytes(store, "k", b"second")
    assert read_bytes(store, "k") == b"second" and store.size("k") == 6


@pytest.mark.parametrize(
    ("start", "end", "want"),
    [(0, None, b"0123456789"), (2, 5, b"234"), (7, None, b"789"), (9, 100, b"9"), (4, 4, b"")],
)
def test_ranged_reads(store: BlobStore, start: int, end: int | None, want: bytes) -> None:
    put_bytes(store, "k", b"0123456789")
    chunks = list(store.read("k", chunk_size=2, start=start, end=end))
    assert b"".join(chunks) == want
    assert all(len(chunk) <= 2 for chunk in chunks)


def test_size_and_exists(store: BlobStore) -> None:
    put_bytes(store, "a/b", b"x" * 1234)
    put_bytes(store, "empty", b"")
    assert (store.size("a/b"), store.size("empty")) == (1234, 0)
    assert store.exists("a/b") and store.exists("empty") and not store.exists("a/c")


@pytest.mark.parametrize(
    "call", [lambda s: s.size("missing"), lambda s: b"".join(s.read("missing"))]
)
def test_reading_a_missing_blob_raises_blob_not_found(
    store: BlobStore, call: Callable[[BlobStore], object]
) -> None:
    with pytest.raises(BlobNotFound):
        call(store)


def test_deleting_a_missing_blob_is_not_an_error(store: BlobStore) -> None:
    put_bytes(store, "clips/7/thumbnail.jpg", b"x")
    store.delete("clips/7/thumbnail.jpg")
    store.delete("clips/7/thumbnail.jpg")
    store.delete("never/was")
    assert store.keys() == []


def test_keys_lists_committed_blobs_under_a_prefix_in_order(store: BlobStore) -> None:
    for key in ("uploads/b/2", "uploads/a/1", "clips/1/video.mp4", "uploads/a/0"):
        put_bytes(store, key, b".")
    unfinished = store.writer("uploads/a/9")
    unfinished.write(b"not yet")
    assert store.keys("uploads/") == ["uploads/a/0", "uploads/a/1", "uploads/b/2"]
    assert store.keys("uploads/a/") == ["uploads/a/0", "uploads/a/1"]
    assert store.keys() == ["clips/1/video.mp4", "uploads/a/0", "uploads/a/1", "uploads/b/2"]
    unfinished.abort()


def test_sweep_partial_keeps_committed_blobs_and_writes_in_progress(store: BlobStore) -> None:
    put_bytes(store, "uploads/u/0", b"done")
    in_flight = store.writer("uploads/u/1")
    in_flight.write(b"in flight")
    assert store.sweep_partial() == 0
    assert in_flight.commit() == 9
    assert store.keys() == ["uploads/u/0", "uploads/u/1"]


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "a//b", "a/../b", ".hidden", "", "a/"])
@pytest.mark.parametrize(
    "call",
    [
        lambda s, k: s.writer(k),
        lambda s, k: s.exists(k),
        lambda s, k: s.delete(k),
        lambda s, k: s.size(k),
        lambda s, k: s.read(k),
    ],
)
def test_unsafe_keys_are_refused_by_every_call(
    store: BlobStore, key: str, call: Callable[[BlobStore, str], object]
) -> None:
    with pytest.raises(ValueError, match="unsafe blob key"):
        call(store, key)


def test_blobs_copy_between_back_ends_byte_for_byte(store: BlobStore) -> None:
    put_bytes(store, "clips/1/video.mp4", bytes(range(256)) * 10)
    put_bytes(store, "uploads/u/0", b"part")
    snapshot = MemoryStore()
    assert copy_blobs(store, snapshot, "clips/") == 1
    assert read_bytes(snapshot, "clips/1/video.mp4") == bytes(range(256)) * 10
    assert snapshot.keys() == ["clips/1/video.mp4"]


def test_nothing_remains_after_every_key_under_a_prefix_is_deleted(
    store: BlobStore, tmp_path: Path
) -> None:
    for key in ("uploads/u1/0000-a", "uploads/u1/0100-b", "uploads/u2/0000-c"):
        put_bytes(store, key, b"ciphertext")
    refused = store.writer("uploads/u3/0000-d")  # a refused upload: aborted mid-body
    refused.write(b"half")
    refused.abort()
    for key in store.keys("uploads/"):
        store.delete(key)
    assert store.keys() == []
    # For a back end on disk: not even the emptied folders remain.
    assert [p for p in tmp_path.rglob("*") if p.name != "blobs"] == []
