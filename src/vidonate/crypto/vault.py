"""Donor content in the blob store, encrypted: the key hierarchy wired to the store.

::

    master key      (a KeyProvider: the file var/master.key by default, or a KMS)
     └ wraps each donor's data key          table donor_keys, one row a donor
        └ wraps each clip's own key         donations.wrapped_key
           └ encrypts every object of the clip: upload parts as they arrive, the
             processed video, the thumbnail, the frame-hash signature
             (vidonate.crypto.stream; the blob key is the associated data)

Withdrawing one clip deletes its wrapped key; withdrawing everything deletes the donor's
data key as well. Either way the clip's objects can no longer be decrypted, wherever
copies of them remain and whoever holds the master key, from the moment the transaction
commits; the background job that deletes the blobs only tidies up.

Plaintext exists only in the memory of the process doing the work: ``writer`` encrypts
as bytes arrive and ``read`` decrypts as they leave, a chunk at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from vidonate.crypto.keys import (
    KeyRing,
    KeyUnwrapError,
    WrappedKey,
    new_data_key,
    open_key,
    seal_key,
)
from vidonate.crypto.stream import (
    HEADER_LEN,
    TAG_LEN,
    ChunkOpener,
    DecryptionError,
    Encryptor,
    decrypt_iter,
    encrypt_iter,
)
from vidonate.db.models import Donation, DonorKey, utcnow
from vidonate.db.models_rewards import GiftCardCode
from vidonate.db.upsert import insert_unless_present
from vidonate.errors import Gone
from vidonate.storage.base import BlobStore, BlobWriter, copy_into

_CLIP_KEY_AAD = b"vidonate/clip-key/v1|"


class ContentShredded(Gone):
    """The key that opened this content was destroyed (a withdrawal)."""

    def __init__(self) -> None:
        super().__init__(
            "content_destroyed",
            "this clip's key is destroyed (it was withdrawn, or its retention period ended): "
            "its content can no longer be read",
        )


class EncryptedBlobWriter:
    """A ``BlobWriter`` that encrypts on the way in; nothing is visible until ``commit``."""

    def __init__(self, inner: BlobWriter, clip_key: bytes, key: str) -> None:
        self._inner = inner
        self._encryptor = Encryptor(clip_key, aad=key.encode())
        self.plaintext_size = 0

    def write(self, data: bytes) -> None:
        sealed = self._encryptor.update(data)
        if sealed:
            self._inner.write(sealed)
        self.plaintext_size += len(data)

    def commit(self) -> int:
        """Store the object; returns its plaintext size."""
        self._inner.write(self._encryptor.finalize())
        self._inner.commit()
        return self.plaintext_size

    def abort(self) -> None:
        self._inner.abort()


@dataclass(frozen=True)
class StoredObject:
    """One encrypted object whose header has been read and checked."""

    vault: Vault
    key: str
    opener: ChunkOpener
    ciphertext_size: int

    @property
    def size(self) -> int:
        return self.opener.plaintext_size(self.ciphertext_size)

    def read(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        end = self.size if end is None else min(end, self.size)
        return self.vault._read_chunks(
            self.opener, self.key, self.ciphertext_size, max(start, 0), end
        )


@dataclass
class Vault:
    """Encrypted access to donor content: every byte of it goes through here."""

    store: BlobStore
    ring: KeyRing
    # Where the ring came from: re-read when a row names a master key the ring lacks
    # (another process rotated the master key since this one started).
    key_file: Path | None = None

    # -- the key hierarchy ------------------------------------------------------------

    def donor_key(self, session: Session, donor_id: int, *, create: bool = False) -> bytes:
        """The donor's data key; with ``create``, made on first use.

        Two first uploads at once may both try to create it: the insert yields to an
        existing row (ON CONFLICT DO NOTHING) and both then use the one that won. The row
        is locked (PostgreSQL) so a concurrent withdrawal of everything waits its turn;
        SQLite's write lock does the same.
        """
        query = select(DonorKey).where(DonorKey.user_id == donor_id)
        if create:
            _, fresh = self.ring.new_key()
            insert_unless_present(
                session,
                DonorKey,
                {
                    "user_id": donor_id,
                    "key_id": fresh.key_id,
                    "wrapped": fresh.wrapped,
                    "created_at": utcnow(),
                },
                ["user_id"],
            )
            query = query.with_for_update()
        row = session.scalar(query.execution_options(populate_existing=True))
        if row is None:
            raise ContentShredded()
        wrapped = WrappedKey(row.key_id, row.wrapped)
        try:
            return self.ring.data_key(str(donor_id), wrapped)
        except KeyUnwrapError:
            if self.key_file is None:
                raise
            self.ring = open_key_ring(self.key_file)
            return self.ring.data_key(str(donor_id), wrapped)

    def new_clip_key(self, session: Session, donation: Donation) -> bytes:
        """Give ``donation`` its own key, wrapped by its donor's data key."""
        donor_key = self.donor_key(session, donation.donor_id, create=True)
        clip_key = new_data_key()
        donation.wrapped_key = seal_key(AESGCM(donor_key), clip_key, _clip_aad(donation.id))
        session.flush()
        return clip_key

    def clip_key(self, session: Session, donation: Donation) -> bytes:
        """The key of ``donation``'s objects; ContentShredded once it was withdrawn."""
        if donation.wrapped_key is None:
            raise ContentShredded()
        donor_key = self.donor_key(session, donation.donor_id)
        try:
            return open_key(AESGCM(donor_key), donation.wrapped_key, _clip_aad(donation.id))
        except KeyUnwrapError:
            # The donor withdrew everything and donated again: a new data key, old clips
            # stay unreadable.
            raise ContentShredded() from None

    def shred_clip(self, donation: Donation) -> None:
        """Destroy one clip's key (the caller's transaction commits it)."""
        donation.wrapped_key = None

    def shred_donor(self, session: Session, donor_id: int) -> None:
        """Destroy the donor's data key: every clip key it wrapped is then useless."""
        session.scalar(
            select(DonorKey.user_id).where(DonorKey.user_id == donor_id).with_for_update()
        )
        session.execute(delete(DonorKey).where(DonorKey.user_id == donor_id))
        self.ring.forget(str(donor_id))

    # -- objects in the store ----------------------------------------------------------

    def writer(self, clip_key: bytes, key: str) -> EncryptedBlobWriter:
        return EncryptedBlobWriter(self.store.writer(key), clip_key, key)

    def put_file(self, clip_key: bytes, key: str, path: Path) -> int:
        return copy_into(self.writer(clip_key, key), path)

    def open_object(self, clip_key: bytes, key: str) -> StoredObject:
        """The object at ``key``, its header checked: plaintext size and ranged reads,
        without fetching the header again for each read."""
        header = b"".join(self.store.read(key, start=0, end=HEADER_LEN))
        opener = ChunkOpener(clip_key, header, key.encode())
        return StoredObject(self, key, opener, self.store.size(key))

    def size(self, clip_key: bytes, key: str) -> int:
        """The plaintext size of the object at ``key``."""
        return self.open_object(clip_key, key).size

    def read(
        self, clip_key: bytes, key: str, start: int = 0, end: int | None = None
    ) -> Iterator[bytes]:
        """Plaintext bytes ``start`` to ``end`` (exclusive; None: the end) of the object.

        Only the chunks covering the range are fetched and opened, each checked at its own
        position; a whole read also proves the object was not cut short. The header is
        checked before this returns, so a wrong key fails before any response starts.
        """
        return self.open_object(clip_key, key).read(start, end)

    def _read_chunks(
        self, opener: ChunkOpener, key: str, ciphertext_size: int, start: int, end: int
    ) -> Iterator[bytes]:
        chunk = opener.chunk_size
        sealed = chunk + TAG_LEN
        chunks = opener.chunks_in(ciphertext_size)
        if start >= end:
            if start == 0 and chunks == 1:  # an empty object: still prove it is whole
                tail = b"".join(self.store.read(key, start=HEADER_LEN))
                opener.open(0, True, tail)
            return
        first, last = start // chunk, (end - 1) // chunk
        for index, plaintext in enumerate(
            opener.open_in_order(
                self._sealed_chunks(key, sealed, chunks, ciphertext_size, first, last)
            ),
            start=first,
        ):
            offset = index * chunk
            yield plaintext[max(start - offset, 0) : end - offset]

    def _sealed_chunks(
        self, key: str, sealed: int, chunks: int, ciphertext_size: int, first: int, last: int
    ) -> Iterator[tuple[int, bool, bytes]]:
        """``(index, final, sealed chunk)`` of chunks ``first`` to ``last`` from the store."""
        index = first
        buffer = bytearray()
        begin = HEADER_LEN + first * sealed
        stop = min(ciphertext_size, HEADER_LEN + (last + 1) * sealed)
        for piece in self.store.read(key, chunk_size=sealed, start=begin, end=stop):
            buffer += piece
            while index <= last:
                need = sealed if index < chunks - 1 else ciphertext_size - begin
                if len(buffer) < need:
                    break
                yield index, index == chunks - 1, bytes(buffer[:need])
                del buffer[:need]
                begin += need
                index += 1
        if index <= last:
            raise DecryptionError("truncated: the store returned fewer bytes than it holds")

    # -- small values kept in the database ----------------------------------------------

    def seal(self, clip_key: bytes, purpose: str, data: bytes) -> bytes:
        """``data`` encrypted under the clip key, bound to ``purpose`` (e.g. a column)."""
        return b"".join(encrypt_iter([data], clip_key, purpose.encode()))

    def open(self, clip_key: bytes, purpose: str, sealed: bytes) -> bytes:
        return b"".join(decrypt_iter([sealed], clip_key, purpose.encode()))


def _clip_aad(donation_id: int) -> bytes:
    return _CLIP_KEY_AAD + str(donation_id).encode()


def rewrap_donor_keys(session: Session, ring: KeyRing) -> int:
    """Re-wrap every donor key (and every stocked gift-card code's key) not yet under
    ``ring``'s current master key; no blob changes.

    Returns how many rows changed. Runs in the caller's transaction, so a failure leaves
    every row as it was.
    """
    changed = 0
    for row in session.scalars(
        select(DonorKey).where(DonorKey.key_id != ring.current.key_id).with_for_update()
    ):
        wrapped = ring.rewrap(WrappedKey(row.key_id, row.wrapped))
        row.key_id, row.wrapped, row.rewrapped_at = wrapped.key_id, wrapped.wrapped, utcnow()
        changed += 1
    # Gift-card codes in stock have keys of their own under the master key too.
    for code in session.scalars(
        select(GiftCardCode)
        .where(GiftCardCode.key_id.is_not(None), GiftCardCode.key_id != ring.current.key_id)
        .with_for_update()
    ):
        assert code.key_id is not None and code.wrapped_key is not None
        wrapped = ring.rewrap(WrappedKey(code.key_id, code.wrapped_key))
        code.key_id, code.wrapped_key = wrapped.key_id, wrapped.wrapped
        changed += 1
    session.flush()
    return changed


@dataclass(frozen=True)
class Rotation:
    old_key_id: str
    new_key_id: str
    rewrapped: int
    retired_file: Path


def _next_key_file(key_file: Path) -> Path:
    return key_file.with_name(key_file.name + ".next")


def open_key_ring(key_file: Path | None, master_key: str = "") -> KeyRing:
    """The master key given base64-encoded (``master_key``, from the environment), or
    the one in ``key_file`` (created at first start) plus the next one if a rotation was
    cut off: rows it already re-wrapped must still open."""
    from vidonate.crypto.keys import FileKeyProvider

    if master_key:
        return KeyRing(FileKeyProvider.from_base64(master_key))
    assert key_file is not None, "a master key file or the master key itself"
    current = FileKeyProvider.load_or_create(key_file)
    pending = _next_key_file(key_file)
    older = [FileKeyProvider.load_or_create(pending)] if pending.exists() else []
    return KeyRing(current, *older)


def rotate_master_key(sessions: sessionmaker[Session], key_file: Path) -> Rotation:
    """Replace the master key: re-wrap every donor key in one transaction, then swap files.

    No blob is rewritten. The old key file is kept beside the new one as
    ``<name>.retired-<id>``: delete it, and every backup of it, once no database backup
    wrapped under it needs restoring. A crash before the swap leaves ``<name>.next``, which
    ``open_key_ring`` still reads; running the rotation again finishes it.
    """
    from vidonate.crypto.keys import FileKeyProvider
    from vidonate.db.engine import transaction

    old = FileKeyProvider.load_or_create(key_file)
    pending = _next_key_file(key_file)
    new = FileKeyProvider.load_or_create(pending)
    ring = KeyRing(new, old)
    with transaction(sessions) as session:
        rewrapped = rewrap_donor_keys(session, ring)
    retired = key_file.with_name(f"{key_file.name}.retired-{old.key_id}")
    key_file.replace(retired)
    pending.replace(key_file)
    return Rotation(old.key_id, new.key_id, rewrapped, retired)
