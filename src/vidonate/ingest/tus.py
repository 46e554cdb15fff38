"""The tus 1.0.0 upload protocol as a service: core, creation, creation-with-upload,
termination, expiration and checksum (sha256).

Each PATCH becomes one part in the blob store, so the same code works on a store
that cannot append (S3). The offset only moves in a conditional UPDATE, so two
racing PATCHes at one offset cannot both land. See https://tus.io/protocols/resumable-upload
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from anyio import to_thread
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from vidonate.config import Settings
from vidonate.crypto.vault import Vault
from vidonate.db.dml import rows_matched
from vidonate.db.engine import transaction
from vidonate.db.models import Donation, DonationStatus, Upload, UploadPart, User, utcnow
from vidonate.donations.content import delete_upload
from vidonate.donations.service import create_donation, validate_request
from vidonate.donations.states import transition
from vidonate.errors import (
    ChecksumMismatch,
    Conflict,
    Gone,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    UnsupportedContentType,
)
from vidonate.ingest.process import PROCESS_JOB
from vidonate.ingest.sniff import SNIFF_BYTES, container_of
from vidonate.jobs.base import JobQueue
from vidonate.storage import BlobStore, layout
from vidonate.storage.base import BlobWriter

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,creation-with-upload,termination,expiration,checksum"
# sha1 because the tus spec requires every server to take it (stock tuspy sends it);
# sha256 because it is the one vidonate's own client uses.
CHECKSUM_ALGORITHMS = "sha1,sha256"
_HASHES = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}
IN_FLIGHT = (DonationStatus.uploading, DonationStatus.received, DonationStatus.processing)


@dataclass(frozen=True)
class Uploads:
    """What the upload service works with; the wiring builds it once."""

    sessions: sessionmaker[Session]
    vault: Vault
    store: BlobStore
    # A finished upload enqueues its processing job here and wakes the queue.
    jobs: JobQueue
    # tus_max_size, donor_quota_bytes and upload_expiry_hours.
    settings: Settings


class ClientGone(Exception):
    """The client cut the connection mid-body; what arrived before is kept if it can be."""


# What stock clients send on their own (Uppy and tus-js-client: name, type, filetype,
# relativePath); vidonate has no use for them but must not refuse them.
CLIENT_FIELDS = frozenset({"name", "type", "filetype", "relativePath"})


def donation_metadata(metadata: dict[str, str]) -> dict[str, str]:
    """The fields a donation takes: ``name`` is the file name when ``filename`` is absent,
    and the other fields clients add by default are dropped. Unknown fields stay, so a
    misspelled one is still refused."""
    fields = {k: v for k, v in metadata.items() if k not in CLIENT_FIELDS}
    if not fields.get("filename") and metadata.get("name"):
        fields["filename"] = metadata["name"]
    return fields


def parse_metadata(header: str | None) -> dict[str, str]:
    """``Upload-Metadata``: comma-separated ``key base64value`` pairs."""
    metadata: dict[str, str] = {}
    for pair in (header or "").split(","):
        pair = pair.strip()
        if not pair:
            continue
        key, _, encoded = pair.partition(" ")
        if not key or key in metadata:
            raise InvalidInput(
                "bad_metadata", f"Upload-Metadata has an empty or repeated key {key!r}"
            )
        try:
            metadata[key] = base64.b64decode(encoded.strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            raise InvalidInput(
                "bad_metadata", f"Upload-Metadata value of {key!r} is not base64"
            ) from None
        if "\x00" in metadata[key]:  # PostgreSQL can neither store nor compare one
            raise InvalidInput("bad_metadata", f"Upload-Metadata value of {key!r} holds a NUL")
    return metadata


@dataclass(frozen=True)
class Checksum:
    algorithm: str
    digest: bytes

    def hasher(self) -> hashlib._Hash:
        return _HASHES[self.algorithm]()


def parse_checksum(header: str | None) -> Checksum | None:
    if not header:
        return None
    algorithm, _, encoded = header.strip().partition(" ")
    algorithm = algorithm.lower()
    if algorithm not in _HASHES:
        raise InvalidInput(
            "unsupported_checksum",
            f"checksum algorithm {algorithm!r}; use one of {CHECKSUM_ALGORITHMS}",
        )
    try:
        return Checksum(algorithm, base64.b64decode(encoded, validate=True))
    except ValueError:
        raise InvalidInput("bad_checksum", "Upload-Checksum is not base64") from None


@dataclass(frozen=True)
class UploadState:
    id: str
    donation_id: int
    offset: int
    length: int
    expires_at: datetime
    completed: bool
    metadata_header: str | None = None


def _state(upload: Upload) -> UploadState:
    return UploadState(
        upload.id,
        upload.donation_id,
        upload.offset,
        upload.length,
        upload.expires_at,
        upload.completed_at is not None,
        upload.upload_metadata,
    )


def _in_flight_bytes(session: Session, donor: User) -> int:
    sizes = session.scalars(
        select(Donation.source_size).where(
            Donation.donor_id == donor.id, Donation.status.in_(IN_FLIGHT)
        )
    )
    return sum(sizes)


def create_upload(
    uploads: Uploads,
    donor: User,
    length: int,
    metadata: dict[str, str],
    metadata_header: str | None = None,
) -> UploadState:
    """A new upload and its donation; ``metadata_header`` is kept for HEAD to return."""
    settings = uploads.settings
    if length > settings.tus_max_size:
        raise PayloadTooLarge(
            "upload_too_large",
            f"the upload is {length} bytes; Tus-Max-Size is {settings.tus_max_size}",
        )
    if length == 0:
        raise InvalidInput("empty_upload", "an upload of 0 bytes cannot be a clip")
    with transaction(uploads.sessions) as session:
        request = validate_request(session, donor, donation_metadata(metadata))
        held = _in_flight_bytes(session, donor)
        if held + length > settings.donor_quota_bytes:
            raise PayloadTooLarge(
                "quota_exceeded",
                f"you have {held} bytes waiting to be processed; with this upload you would pass "
                f"your quota of {settings.donor_quota_bytes} bytes",
            )
        donation = create_donation(session, donor, request, size=length)
        uploads.vault.new_clip_key(session, donation)  # every byte of it is encrypted under this
        upload = Upload(
            id=secrets.token_hex(16),
            donation_id=donation.id,
            donor_id=donor.id,
            length=length,
            expires_at=utcnow() + timedelta(hours=settings.upload_expiry_hours),
            upload_metadata=metadata_header or None,
        )
        session.add(upload)
        session.flush()
        return _state(upload)


def _own_upload(session: Session, donor: User, upload_id: str) -> Upload:
    upload = session.get(Upload, upload_id)
    # Someone else's upload is indistinguishable from a missing one.
    if upload is None or upload.donor_id != donor.id:
        raise NotFound("upload_not_found", "no such upload")
    if upload.completed_at is None and upload.expires_at <= utcnow():
        raise Gone("upload_expired", "this upload expired; start a new one")
    return upload


def upload_state(sessions: sessionmaker[Session], donor: User, upload_id: str) -> UploadState:
    with transaction(sessions) as session:
        return _state(_own_upload(session, donor, upload_id))


async def append(
    uploads: Uploads,
    donor: User,
    upload_id: str,
    offset: int,
    body: AsyncIterator[bytes],
    checksum: Checksum | None = None,
    *,
    ends_upload: bool = False,
) -> UploadState:
    """Store one PATCH body at ``offset``; returns the new state.

    The body streams into the store outside any transaction. A body that breaks
    off is kept up to where it broke (the client resumes from there) unless a
    checksum was promised, which a partial body cannot meet. With ``ends_upload``
    the upload's length was only an upper bound: it becomes what this body held.
    """
    room, clip_key = await to_thread.run_sync(
        _room_at, uploads.sessions, uploads.vault, donor, upload_id, offset
    )
    key = layout.upload_part_key(upload_id, offset)
    writer = uploads.vault.writer(clip_key, key)  # encrypted as it arrives
    digest = checksum.hasher() if checksum is not None else None
    sink = _OffLoopSink(writer, digest)
    size = 0
    cut_off = False
    head = b"" if offset == 0 else None  # the first bytes of the file, to sniff its type
    try:
        try:
            async for chunk in body:
                if head is not None:
                    head += chunk[:SNIFF_BYTES]
                    if len(head) >= SNIFF_BYTES:
                        _check_container(head)
                        head = None
                size += len(chunk)
                if size > room:
                    raise PayloadTooLarge(
                        "body_too_large",
                        f"the body runs past Upload-Length ({room} bytes were left)",
                    )
                await sink.add(chunk)
        except ClientGone:
            cut_off = True
        await sink.flush()
        if cut_off and (checksum is not None or ends_upload):
            raise ClientGone()  # a partial body can meet neither a checksum nor an end
        if head is not None and not cut_off and (size == room or ends_upload):
            _check_container(head)  # a file smaller than the sniff window
        if checksum is not None and digest is not None and digest.digest() != checksum.digest:
            raise ChecksumMismatch("checksum_mismatch", "the body does not match Upload-Checksum")
    except UnsupportedContentType:
        writer.abort()
        # Nothing of it is kept (the caller may already have removed it).
        await _discard(uploads, donor, upload_id)
        raise
    except BaseException:
        writer.abort()
        raise
    if size == 0:
        writer.abort()
        if ends_upload:
            raise InvalidInput("empty_upload", "an upload of 0 bytes cannot be a clip")
        return await to_thread.run_sync(upload_state, uploads.sessions, donor, upload_id)
    await to_thread.run_sync(writer.commit)  # the store's fsync and rename: off the loop too
    try:
        return await to_thread.run_sync(
            _record_part, uploads.sessions, uploads.jobs, upload_id, offset, size, key, ends_upload
        )
    except BaseException:
        await to_thread.run_sync(uploads.store.delete, key)
        raise


class _OffLoopSink:
    """Hands a body's bytes to the encrypting writer (and the checksum) in batches, on a
    worker thread.

    Encryption, hashing and the disk write of an 8 MiB PATCH take tens of milliseconds;
    done on the event loop they would stall every other request the server is answering
    (page reads waited behind uploads). The server reads bodies in small pieces, so they
    are gathered to ``FLUSH_BYTES`` first: one thread hop a mebibyte, not one a piece.
    """

    FLUSH_BYTES = 1024 * 1024

    def __init__(self, writer: BlobWriter, digest: hashlib._Hash | None) -> None:
        self._writer, self._digest = writer, digest
        self._pending: list[bytes] = []
        self._pending_size = 0

    async def add(self, chunk: bytes) -> None:
        self._pending.append(chunk)
        self._pending_size += len(chunk)
        if self._pending_size >= self.FLUSH_BYTES:
            await self.flush()

    async def flush(self) -> None:
        if not self._pending:
            return
        batch = b"".join(self._pending)
        self._pending, self._pending_size = [], 0
        await to_thread.run_sync(self._write, batch)

    def _write(self, batch: bytes) -> None:
        self._writer.write(batch)
        if self._digest is not None:
            self._digest.update(batch)


def _check_container(head: bytes) -> None:
    if container_of(head) is None:
        raise UnsupportedContentType(
            "unsupported_file_type",
            "this file is not a video container vidonate reads "
            "(MP4/MOV, AVI, Matroska/WebM, MPEG-TS/PS, FLV, ASF or raw H.264)",
        )


def _room_at(
    sessions: sessionmaker[Session], vault: Vault, donor: User, upload_id: str, offset: int
) -> tuple[int, bytes]:
    """Bytes the upload still takes at ``offset``, after checking the PATCH may go there,
    and the key its bytes are encrypted under."""
    with transaction(sessions) as session:
        upload = _own_upload(session, donor, upload_id)
        donation = session.get(Donation, upload.donation_id)
        assert donation is not None
        clip_key = vault.clip_key(session, donation)
        if upload.completed_at is not None:
            raise Conflict("upload_complete", "this upload is already complete")
        if offset != upload.offset:
            raise Conflict(
                "offset_mismatch", f"Upload-Offset is {offset}; the upload is at {upload.offset}"
            )
        return upload.length - upload.offset, clip_key


def _record_part(
    sessions: sessionmaker[Session],
    jobs: JobQueue,
    upload_id: str,
    offset: int,
    size: int,
    key: str,
    ends_upload: bool = False,
) -> UploadState:
    end = offset + size
    with transaction(sessions) as session:
        values = {"offset": end, "length": end} if ends_upload else {"offset": end}
        moved = rows_matched(
            session,
            update(Upload).where(Upload.id == upload_id, Upload.offset == offset).values(**values),
        )
        if not moved:
            raise Conflict("offset_mismatch", "another request moved this upload meanwhile")
        session.add(UploadPart(upload_id=upload_id, offset=offset, size=size, key=key))
        upload = session.get(Upload, upload_id)
        assert upload is not None
        session.refresh(upload)
        if upload.offset == upload.length:
            upload.completed_at = utcnow()
            donation = session.get(Donation, upload.donation_id)
            assert donation is not None
            donation.source_size = upload.length
            transition(session, donation, DonationStatus.received, actor_id=upload.donor_id)
            jobs.enqueue(session, PROCESS_JOB, {"donation_id": donation.id})
        state = _state(upload)
    if state.completed:
        jobs.wake()
    return state


def terminate(
    sessions: sessionmaker[Session],
    store: BlobStore,
    donor: User,
    upload_id: str,
    *,
    missing_ok: bool = False,
) -> None:
    """tus termination: the donor cancels; the donation and its bytes are gone.

    ``missing_ok``: an upload already removed (a refusal removes its own) is no error,
    so cleaning up after a failure never hides the failure's reason.
    """
    with transaction(sessions) as session:
        if missing_ok and session.get(Upload, upload_id) is None:
            return
        upload = _own_upload(session, donor, upload_id)
        if upload.completed_at is not None:
            raise Conflict(
                "upload_complete", "a complete upload cannot be terminated; withdraw the clip"
            )
        donation = session.get(Donation, upload.donation_id)
        delete_upload(session, store, upload)
        if donation is not None:
            session.delete(donation)


async def _discard(uploads: Uploads, donor: User, upload_id: str) -> None:
    """Remove what a failed upload left (if anything), off the event loop."""
    await to_thread.run_sync(
        lambda: terminate(uploads.sessions, uploads.store, donor, upload_id, missing_ok=True)
    )


def expire_uploads(sessions: sessionmaker[Session], store: BlobStore) -> int:
    """Remove the bytes of unfinished uploads past their expiry; their donations fail."""
    expired = 0
    with transaction(sessions) as session:
        uploads = session.scalars(
            select(Upload).where(Upload.completed_at.is_(None), Upload.expires_at <= utcnow())
        )
        for upload in list(uploads):
            donation = session.get(Donation, upload.donation_id)
            delete_upload(session, store, upload)
            if donation is not None:
                transition(session, donation, DonationStatus.failed, reason="upload_expired")
            expired += 1
    return expired


async def upload_whole(
    uploads: Uploads,
    donor: User,
    metadata: dict[str, str],
    at_most: int,
    body: AsyncIterator[bytes],
) -> UploadState:
    """Create and fill an upload from one stream whose exact length shows only at its end
    (the web form): ``at_most`` bounds it for the size and quota checks. On any failure
    nothing remains, and the failure's own reason is what the caller sees."""
    state = await to_thread.run_sync(create_upload, uploads, donor, at_most, metadata)
    try:
        state = await append(uploads, donor, state.id, 0, body, ends_upload=True)
    except BaseException:
        await _discard(uploads, donor, state.id)
        raise
    return state
