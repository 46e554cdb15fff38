"""Where everything lives in the blob store: the one module that spells out blob keys.

Everything of one clip is under :func:`clip_prefix`; everything of one upload under
:func:`upload_prefix`; a trained detector's files under :func:`model_prefix`. Code that
writes, reads or deletes blobs asks here, so that destroying a clip's content cannot miss
an object another module named differently, and fsck knows every kind of key.
"""

from __future__ import annotations

import secrets

UPLOADS = "uploads/"
CLIPS = "clips/"
MODELS = "models/"


def clip_prefix(donation_id: int) -> str:
    return f"{CLIPS}{donation_id}/"


def video_key(donation_id: int) -> str:
    return f"{clip_prefix(donation_id)}video.mp4"


def thumbnail_key(donation_id: int) -> str:
    return f"{clip_prefix(donation_id)}thumbnail.jpg"


def upload_prefix(upload_id: str) -> str:
    return f"{UPLOADS}{upload_id}/"


def upload_part_key(upload_id: str, offset: int) -> str:
    """A fresh key for one PATCH body at `offset` (two racing PATCHes never share one)."""
    return f"{upload_prefix(upload_id)}{offset:016d}-{secrets.token_hex(4)}"


def model_prefix(model_id: int) -> str:
    return f"{MODELS}{model_id}/"


def model_file_key(model_id: int, name: str) -> str:
    """One file of a trained model (``model.onnx``, its metrics, ...)."""
    return f"{model_prefix(model_id)}{name}"
