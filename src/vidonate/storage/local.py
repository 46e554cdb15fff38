"""A blob store in a local directory: one file a blob, written via a temp file and rename."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from vidonate.storage.base import BlobNotFound, check_key

_TMP_MARK = ".part-"


class LocalBlobWriter:
    def __init__(self, store: LocalDirStore, final: Path) -> None:
        self._store = store
        self._final = final
        self._tmp = final.with_name(f"{final.name}{_TMP_MARK}{secrets.token_hex(6)}")
        for attempt in range(3):
            final.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._file = self._tmp.open("wb")
                break
            except FileNotFoundError:  # a delete pruned the emptied folder meanwhile
                if attempt == 2:
                    raise
        self._size = 0

    def write(self, data: bytes) -> None:
        self._file.write(data)
        self._size += len(data)

    def commit(self) -> int:
        self._file.close()
        os.replace(self._tmp, self._final)
        return self._size

    def abort(self) -> None:
        self._file.close()
        self._tmp.unlink(missing_ok=True)
        self._store._prune(self._tmp.parent)  # a refused upload leaves no folder either


class LocalDirStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def writer(self, key: str) -> LocalBlobWriter:
        return LocalBlobWriter(self, self._path(key))

    def read(
        self, key: str, chunk_size: int = 1 << 20, start: int = 0, end: int | None = None
    ) -> Iterator[bytes]:
        """Opens the file at the call (a missing blob raises here, not at the first chunk)."""
        path = self._path(key)
        try:
            f = path.open("rb")
        except FileNotFoundError:
            raise BlobNotFound(key) from None
        return self._chunks(f, chunk_size, start, end)

    @staticmethod
    def _chunks(f: BinaryIO, chunk_size: int, start: int, end: int | None) -> Iterator[bytes]:
        with f:
            f.seek(start)
            left = None if end is None else max(0, end - start)
            while left is None or left > 0:
                chunk = f.read(chunk_size if left is None else min(chunk_size, left))
                if not chunk:
                    return
                if left is not None:
                    left -= len(chunk)
                yield chunk

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            raise BlobNotFound(key) from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        self._prune(path.parent)

    def _prune(self, folder: Path) -> None:
        """Drop `folder` and its parents while they are empty, so deleted data leaves no
        trace (not even a folder named after an upload or clip)."""
        while folder != self.root and folder.is_relative_to(self.root):
            try:
                folder.rmdir()
            except OSError:  # not empty (or already gone: a sibling's delete raced us)
                if folder.exists():
                    break
            folder = folder.parent

    def sweep_partial(self, older_than_s: float = 24 * 3600) -> int:
        """Remove temp files of writes that a crash left unfinished; returns how many."""
        cutoff = time.time() - older_than_s
        removed = 0
        for path in list(self.root.rglob(f"*{_TMP_MARK}*")):  # pruning as it goes
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                self._prune(path.parent)
                removed += 1
        return removed

    def keys(self, prefix: str = "") -> list[str]:
        found = []
        # os.walk, not rglob: it skips a folder that a concurrent delete pruned mid-walk.
        for folder, _dirs, files in os.walk(self.root):
            for name in files:
                if _TMP_MARK in name:
                    continue
                key = (Path(folder) / name).relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    found.append(key)
        return sorted(found)
