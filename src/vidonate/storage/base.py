"""The blob-store interface, and helpers that work on any back end."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

_SAFE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")


class BlobNotFound(KeyError):
    pass


def check_key(key: str) -> str:
    """Keys are relative slash paths of plain names; nothing can escape the store."""
    if not _SAFE_KEY.match(key) or ".." in key.split("/"):
        raise ValueError(f"unsafe blob key {key!r}")
    return key


class BlobWriter(Protocol):
    """Streams one blob in. Nothing is visible under the key until ``commit``."""

    def write(self, data: bytes) -> None: ...
    def commit(self) -> int: ...
    def abort(self) -> None: ...


class BlobStore(Protocol):
    def writer(self, key: str) -> BlobWriter: ...
    def read(
        self, key: str, chunk_size: int = 1 << 20, start: int = 0, end: int | None = None
    ) -> Iterator[bytes]:
        """The blob's bytes from `start` up to `end` (exclusive; None: to the end)."""
        ...

    def size(self, key: str) -> int: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None:
        """Remove a blob; removing a missing blob is not an error. Nothing of it remains
        (a local store removes the folders it emptied)."""
        ...

    def keys(self, prefix: str = "") -> list[str]: ...
    def sweep_partial(self, older_than_s: float = 24 * 3600) -> int:
        """Remove the remains of writes that never committed (a crash mid-write)."""
        ...


def put_bytes(store: BlobStore, key: str, data: bytes) -> int:
    writer = store.writer(key)
    try:
        writer.write(data)
        return writer.commit()
    except BaseException:
        writer.abort()
        raise


def put_file(store: BlobStore, key: str, path: Path, chunk_size: int = 1 << 20) -> int:
    return copy_into(store.writer(key), path, chunk_size)


def copy_into(writer: BlobWriter, path: Path, chunk_size: int = 1 << 20) -> int:
    """Stream a local file into ``writer`` and commit it; aborts on any failure."""
    try:
        with path.open("rb") as f:
            while chunk := f.read(chunk_size):
                writer.write(chunk)
        return writer.commit()
    except BaseException:
        writer.abort()
        raise


def read_bytes(store: BlobStore, key: str) -> bytes:
    return b"".join(store.read(key))


def copy_blobs(source: BlobStore, target: BlobStore, prefix: str = "") -> int:
    """Copy every blob under `prefix` from `source` to `target` as stored (ciphertext
    stays ciphertext): a snapshot, a backup, a move between back ends. Returns how many."""
    copied = 0
    for key in source.keys(prefix):
        writer = target.writer(key)
        try:
            for chunk in source.read(key):
                writer.write(chunk)
            writer.commit()
        except BaseException:
            writer.abort()
            raise
        copied += 1
    return copied
