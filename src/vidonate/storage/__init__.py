"""Blob stores: the only code that touches stored bytes.

``open_store(url)`` picks the back end from the URL scheme, so callers never
know whether bytes live in a local directory or (later) an S3 bucket.
"""

from vidonate.storage.base import BlobNotFound, BlobStore, BlobWriter, open_store

__all__ = ["BlobNotFound", "BlobStore", "BlobWriter", "open_store"]
