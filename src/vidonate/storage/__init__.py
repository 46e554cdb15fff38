"""Blob stores: the only code that touches stored bytes.

``open_store(url)`` (in :mod:`vidonate.storage.factory`) picks the back end from the URL
scheme, so callers never know whether bytes live in a local directory, in memory or
(later) an S3 bucket. :mod:`vidonate.storage.base` is the interface alone.
"""

from vidonate.storage.base import BlobNotFound, BlobStore, BlobWriter
from vidonate.storage.factory import open_store

__all__ = ["BlobNotFound", "BlobStore", "BlobWriter", "open_store"]
