"""A blob store in this process's memory: the interface's reference back end, for tests
and throw-away runs. Thread-safe; nothing survives the process."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from vidonate.storage.base import BlobNotFound, check_key


class MemoryBlobWriter:
    def __init__(self, store: MemoryStore, key: str) -> None:
        self._store, self._key = store, key
        self._buffer: bytearray | None = bytearray()

    def write(self, data: bytes) -> None:
        if self._buffer is None:
            raise ValueError("this writer was committed or aborted")
        self._buffer += data

    def commit(self) -> int:
        if self._buffer is None:
            raise ValueError("this writer was committed or aborted")
        data, self._buffer = bytes(self._buffer), None
        with self._store._lock:
            self._store._blobs[self._key] = data
        return len(data)

    def abort(self) -> None:
        self._buffer = None


class MemoryStore:
    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def _get(self, key: str) -> bytes:
        with self._lock:
            try:
                return self._blobs[check_key(key)]
            except KeyError:
                raise BlobNotFound(key) from None

    def writer(self, key: str) -> MemoryBlobWriter:
        return MemoryBlobWriter(self, check_key(key))

    def read(
        self, key: str, chunk_size: int = 1 << 20, start: int = 0, end: int | None = None
    ) -> Iterator[bytes]:
        data = self._get(key)  # missing: raised at the call, as the local store does
        stop = len(data) if end is None else min(end, len(data))

        def chunks() -> Iterator[bytes]:
            for offset in range(start, stop, chunk_size):
                yield data[offset : min(offset + chunk_size, stop)]

        return chunks()

    def size(self, key: str) -> int:
        return len(self._get(key))

    def exists(self, key: str) -> bool:
        with self._lock:
            return check_key(key) in self._blobs

    def delete(self, key: str) -> None:
        with self._lock:
            self._blobs.pop(check_key(key), None)

    def keys(self, prefix: str = "") -> list[str]:
        with self._lock:
            return sorted(k for k in self._blobs if k.startswith(prefix))

    def sweep_partial(self, older_than_s: float = 24 * 3600) -> int:
        """Nothing to sweep: an unfinished write lives only in its writer."""
        return 0
