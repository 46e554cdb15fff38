"""Which back end a storage URL names: the only code that knows them all."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

from vidonate.storage.base import BlobStore
from vidonate.storage.local import LocalDirStore
from vidonate.storage.memory import MemoryStore


def open_store(url: str) -> BlobStore:
    """``file:///path``: a local directory; ``memory://``: this process's memory (tests,
    throw-away runs: nothing survives the process); ``s3://bucket[/prefix]`` with optional
    ``?endpoint_url=http://host:port&region=name``: an S3 bucket (``storage/s3.py``)."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalDirStore(Path(parsed.netloc + parsed.path))
    if parsed.scheme == "memory":
        return MemoryStore()
    if parsed.scheme == "s3":
        return _open_s3(url)
    raise ValueError(
        f"unsupported storage URL {url!r}: blobs go in a local directory (file:///path), "
        "in memory (memory://) or in an S3 bucket (s3://bucket/prefix?endpoint_url=...)"
    )


def _open_s3(url: str) -> BlobStore:
    parsed = urlparse(url)
    if not parsed.netloc:
        raise ValueError(f"storage URL {url!r} names no bucket: s3://bucket[/prefix]")
    options = {name: values[-1] for name, values in parse_qs(parsed.query).items()}
    unknown = set(options) - {"endpoint_url", "region"}
    if unknown:
        raise ValueError(
            f"storage URL {url!r}: unknown option(s) {', '.join(sorted(unknown))}; "
            "known: endpoint_url, region"
        )
    try:
        from vidonate.storage.s3 import S3Store  # boto3 is in the [cluster] extra
    except ImportError as exc:
        raise ValueError(
            f"storage URL {url!r} needs boto3: pip install 'vidonate[cluster]'"
        ) from exc
    return S3Store.connect(
        parsed.netloc,
        parsed.path,
        endpoint_url=options.get("endpoint_url"),
        region=options.get("region"),
    )
