"""Reading a clip's content: decrypted through the vault, and every read logged.

This is the one way to read a processed clip or its thumbnail, whoever asks and why:
the donor, a reviewer, an admin, the data export or training. Each call appends an
entry to the hash-chained access log (actor, purpose, object) in the caller's
transaction before a byte is returned.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session

from vidonate.crypto.vault import ContentShredded, StoredObject, Vault
from vidonate.db.models import Donation, DonationStatus
from vidonate.errors import NotFound
from vidonate.privacy import audit

ContentKind = Literal["video", "thumbnail"]
MEDIA_TYPES: dict[str, str] = {"video": "video/mp4", "thumbnail": "image/jpeg"}


@dataclass(frozen=True)
class ClipContent:
    """One object of a clip, opened for reading: its plaintext size and a range reader."""

    stored: StoredObject
    media_type: str

    @property
    def size(self) -> int:
        return self.stored.size

    def read(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        return self.stored.read(start, end)


def open_content(
    vault: Vault,
    session: Session,
    donation: Donation,
    kind: ContentKind,
    *,
    actor_id: int | None,
    purpose: str,
) -> ClipContent:
    """Open ``donation``'s video or thumbnail for ``purpose``; the read is logged."""
    if donation.status == DonationStatus.withdrawn or (
        donation.status == DonationStatus.accepted and donation.wrapped_key is None
    ):  # withdrawn, or past its retention period
        raise ContentShredded()
    key = donation.video_key if kind == "video" else donation.thumbnail_key
    if not key or not vault.store.exists(key):
        raise NotFound("not_processed", f"donation {donation.id} has no processed {kind}")
    stored = vault.open_object(vault.clip_key(session, donation), key)
    audit.record(
        session,
        actor_id=actor_id,
        action=f"read_{kind}",
        purpose=purpose,
        object_type="donation",
        object_id=donation.id,
    )
    return ClipContent(stored, MEDIA_TYPES[kind])
