"""A clip's content: reading it (decrypted through the vault, every read logged) and
destroying it (withdrawal and retention alike).

:func:`open_content` is the one way to read a processed clip or its thumbnail, whoever
asks and why: the donor, a reviewer, an admin, the data export or training. Each call
appends an entry to the hash-chained access log (actor, purpose, object) in the caller's
transaction before a byte is returned.

:func:`destroy_content` is the one way to destroy it: the clip's key and frame hashes go
in the caller's transaction (from its commit on nothing of it can be read), its blobs in
a job that transaction enqueues.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from vidonate.crypto.vault import ContentShredded, StoredObject, Vault
from vidonate.db import audit
from vidonate.db.engine import transaction
from vidonate.db.models import Donation, DonationStatus, Upload, Withdrawal, utcnow
from vidonate.dedupe.finder import DuplicateFinder
from vidonate.errors import NotFound
from vidonate.jobs.base import JobQueue, Payload
from vidonate.storage import BlobStore, layout

# The name predates retention's use of the job; queued jobs carry it.
DELETE_BLOBS_JOB = "delete_withdrawn_blobs"
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


def delete_upload(session: Session, store: BlobStore, upload: Upload) -> None:
    """Delete an upload's parts from the store and its rows from the session (the bytes
    are deleted at once: the upload is refused, cancelled or processed)."""
    for part in upload.parts:
        store.delete(part.key)
    for key in store.keys(layout.upload_prefix(upload.id)):  # parts whose row never committed
        store.delete(key)
    session.delete(upload)
    session.flush()


def destroy_content(
    session: Session,
    vault: Vault,
    duplicates: DuplicateFinder,
    jobs: JobQueue,
    donation: Donation,
    *,
    withdrawal_id: int | None = None,
) -> None:
    """Destroy everything of `donation`'s content: its key and frame hashes in the caller's
    transaction, its unfinished upload's rows, and (by a job that runs after the commit)
    every blob under its prefixes. The donation row itself stays, for the record.

    `withdrawal_id` names the withdrawal that asked, whose row counts the deleted blobs.
    """
    vault.shred_clip(donation)
    duplicates.forget(session, donation.id)
    donation.video_key = donation.thumbnail_key = None
    prefixes = [layout.clip_prefix(donation.id)]
    upload = session.scalar(select(Upload).where(Upload.donation_id == donation.id))
    if upload is not None:  # an unfinished upload, or one not yet processed
        prefixes.append(layout.upload_prefix(upload.id))
        session.delete(upload)
    session.flush()
    jobs.enqueue(session, DELETE_BLOBS_JOB, {"prefixes": prefixes, "withdrawal_id": withdrawal_id})


def delete_content_blobs(
    store: BlobStore, sessions: sessionmaker[Session], payload: Payload
) -> int:
    """The job's half of :func:`destroy_content`: delete the ciphertext left under the
    payload's prefixes (unreadable since the commit); returns how many blobs went."""
    deleted = 0
    for prefix in payload["prefixes"]:
        for key in store.keys(prefix):
            store.delete(key)
            deleted += 1
    withdrawal_id = payload.get("withdrawal_id")
    if withdrawal_id is not None:
        with transaction(sessions) as session:
            withdrawal = session.get(Withdrawal, int(withdrawal_id))
            # A second run of the job (its worker died after deleting) finds nothing left
            # and must not move the recorded time of the deletion.
            if withdrawal is not None and (deleted or withdrawal.blobs_deleted_at is None):
                withdrawal.blobs_deleted = (withdrawal.blobs_deleted or 0) + deleted
                withdrawal.blobs_deleted_at = utcnow()
    return deleted
