"""Which back end a storage URL names: the only code that knows them all."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from vidonate.storage.base import BlobStore
from vidonate.storage.local import LocalDirStore
from vidonate.storage.memory import MemoryStore


def open_store(url: str) -> BlobStore:
    """``file:///path``: a local directory; ``memory://``: this process's memory (tests,
    throw-away runs: nothing survives the process)."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalDirStore(Path(parsed.netloc + parsed.path))
    if parsed.scheme == "memory":
        return MemoryStore()
    raise ValueError(
        f"unsupported storage URL {url!r}: this version stores blobs in a local directory "
        "(file:///path) or in memory (memory://); the S3 back end arrives with the "
        "distributed deployment"
    )
