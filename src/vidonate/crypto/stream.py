"""Chunked, streaming AES-256-GCM encryption of one object (a STREAM-style construction).

Format (all integers big-endian)::

    header  = b"VDN1" | version:u8 (=1) | chunk_size:u32 | salt:16 bytes      (25 bytes)
    body    = chunk_0 | chunk_1 | ... | chunk_last
    chunk_i = AES-GCM ciphertext of up to ``chunk_size`` plaintext bytes | tag:16 bytes

Every chunk but the last holds exactly ``chunk_size`` plaintext bytes; the last holds 0 to
``chunk_size`` (an empty object is one empty final chunk, so there is always a final chunk).

Keys and nonces:

* The object key is ``HKDF-SHA256(data_key, salt, info=b"vidonate/stream/v1")``. A donor's
  data key encrypts many objects; a fresh random salt per object gives each object its own
  key, so counter nonces never repeat across objects and no random-nonce birthday bound
  applies to the data key.
* ``nonce_i = 0x000000 | i:u64 | final:u8`` (12 bytes). The chunk index and final flag live
  in the nonce, so each chunk only opens at its own position and with its own finality.
* ``aad_i = header | i:u64 | final:u8 | caller aad``. The header (version, chunk size,
  salt) is authenticated by every chunk, and the caller's ``aad`` (e.g. the blob key and
  purpose) binds the ciphertext to where it belongs: copied under another key, it fails.

Hence reordered, dropped or duplicated chunks fail (wrong index), truncation at a chunk
boundary fails (the last chunk left was sealed as not final), appending fails (data after
a final chunk, or a final chunk that is not last), and any flipped bit fails the tag. A
chunk's plaintext is released only after its tag verifies.

The 64-bit index allows objects far beyond 2 GiB (2^64 chunks); sizes are Python ints.
"""

from __future__ import annotations

import os
import struct
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"VDN1"
VERSION = 1
CHUNK = 1 << 20
MIN_CHUNK = 1
# An upper bound keeps a forged header from making the decryptor buffer gigabytes.
MAX_CHUNK = 64 << 20
SALT_LEN = 16
TAG_LEN = 16
KEY_LEN = 32
_HEADER = struct.Struct(">4sBI16s")
HEADER_LEN = _HEADER.size  # 25
_NONCE = struct.Struct(">3xQB")
_POS = struct.Struct(">QB")
_MAX_INDEX = (1 << 64) - 1
_INFO = b"vidonate/stream/v1"
# Chunks this large are sealed on a thread pool; smaller ones are not worth the hand-off.
_PARALLEL_MIN_CHUNK = 256 << 10
# Chunks one Encryptor may have in flight on the pool: bounds memory to a few chunks.
_INFLIGHT = 4


class DecryptionError(Exception):
    """Ciphertext is corrupt, truncated, reordered, from another object, or the key is wrong."""


def ciphertext_size(plaintext_size: int, chunk_size: int = CHUNK) -> int:
    """Exact size of the encrypted form of ``plaintext_size`` bytes."""
    if plaintext_size < 0:
        raise ValueError("plaintext_size must be >= 0")
    _check_chunk_size(chunk_size)
    chunks = max(1, -(-plaintext_size // chunk_size))
    return HEADER_LEN + plaintext_size + chunks * TAG_LEN


def _check_chunk_size(chunk_size: int) -> None:
    if not MIN_CHUNK <= chunk_size <= MAX_CHUNK:
        raise ValueError(f"chunk_size must be in [{MIN_CHUNK}, {MAX_CHUNK}]")


def _check_data_key(data_key: bytes) -> None:
    if len(data_key) != KEY_LEN:
        raise ValueError(f"data key must be {KEY_LEN} bytes")


def _object_key(data_key: bytes, salt: bytes) -> AESGCM:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_LEN, salt=salt, info=_INFO)
    return AESGCM(hkdf.derive(data_key))


def _nonce(index: int, final: bool) -> bytes:
    """The 12-byte nonce of chunk ``index``; unique per (index, final) for any 64-bit index."""
    if not 0 <= index <= _MAX_INDEX:
        raise OverflowError("chunk index out of range")
    return _NONCE.pack(index, final)


class _InOrder:
    """Results of calls in the order they were submitted, the calls run on the shared pool.

    AES-GCM releases the GIL, so chunks seal and open on other cores while the caller
    reads and writes. At most ``_INFLIGHT`` calls are pending at once: ``submit`` waits for
    the oldest before adding more, which bounds memory to a few chunks. Without
    ``parallel`` every call runs at once in the caller's thread (small chunks are not worth
    the hand-off, nor is a single core).
    """

    def __init__(self, parallel: bool) -> None:
        self.parallel = parallel
        self._queue: deque[bytes | Future[bytes]] = deque()
        self._pending = 0  # futures in the queue

    def submit(self, fn: Callable[..., bytes], *args: object) -> None:
        if not self.parallel:
            self._queue.append(fn(*args))
            return
        if self._pending >= _INFLIGHT:
            self._settle_oldest()
        self._queue.append(_pool().submit(fn, *args))
        self._pending += 1

    def _settle_oldest(self) -> None:
        for i, item in enumerate(self._queue):
            if isinstance(item, Future):
                self._pending -= 1
                self._queue[i] = item.result()  # raises what the call raised
                return

    def take(self, wait_all: bool) -> list[bytes]:
        """The results at the head of the queue that are done (every one with ``wait_all``)."""
        out: list[bytes] = []
        queue = self._queue
        while queue:
            head = queue[0]
            if isinstance(head, Future):
                if not (wait_all or head.done()):
                    break
                queue.popleft()
                self._pending -= 1
                out.append(head.result())
            else:
                queue.popleft()
                out.append(head)
        return out

    def discard(self) -> None:
        """Forget every pending result (after a failure); running calls finish unseen."""
        for item in self._queue:
            if isinstance(item, Future):
                item.cancel()
        self._queue.clear()
        self._pending = 0


def _parallel(chunk_size: int) -> bool:
    return chunk_size >= _PARALLEL_MIN_CHUNK and (os.cpu_count() or 1) > 1


def _join(parts: list[bytes]) -> bytes:
    if not parts:
        return b""
    return parts[0] if len(parts) == 1 else b"".join(parts)


class Encryptor:
    """Encrypts one object incrementally: feed plaintext of any size, collect ciphertext.

    Holds back at most one chunk of plaintext, because a full chunk may turn out to be
    the final one only when ``finalize`` is called. With large chunks, sealing runs on a
    small shared thread pool (see ``_InOrder``), so the caller's reads and writes overlap
    with encryption; ``update`` then returns the chunks sealed so far, in order, and
    ``finalize`` returns the rest.
    """

    def __init__(
        self,
        data_key: bytes,
        aad: bytes = b"",
        chunk_size: int = CHUNK,
        *,
        _first_index: int = 0,
    ) -> None:
        _check_data_key(data_key)
        _check_chunk_size(chunk_size)
        salt = os.urandom(SALT_LEN)
        self._header = _HEADER.pack(MAGIC, VERSION, chunk_size, salt)
        self._aead = _object_key(data_key, salt)
        self._aad = bytes(aad)
        self._chunk = chunk_size
        self._index = _first_index  # non-zero only in tests of huge objects
        # Plaintext not yet sealed (at most one chunk): a bytearray we own, or a view of
        # the caller's immutable bytes.
        self._pending: bytes | bytearray | memoryview = b""
        self._parallel = _parallel(chunk_size)
        self._sealed = _InOrder(self._parallel)
        self._header_sent = False
        self._done = False

    def _seal_at(self, index: int, plaintext: bytes | bytearray | memoryview, final: bool) -> bytes:
        ad = self._header + _POS.pack(index, final) + self._aad
        return self._aead.encrypt(_nonce(index, final), plaintext, ad)

    def _submit(self, plaintext: bytes | bytearray | memoryview, final: bool) -> None:
        """Seal the next chunk, on the pool if parallel; ``plaintext`` must not change.

        AEAD objects keep no per-call state, so pool threads may share ``self._aead``.
        """
        index = self._index
        self._index = index + 1
        self._sealed.submit(self._seal_at, index, plaintext, final)

    def _collect(self, wait_all: bool) -> bytes:
        """Ciphertext of the sealed chunks at the head of the queue, with the header first."""
        parts = self._sealed.take(wait_all)
        if not self._header_sent:
            self._header_sent = True
            parts.insert(0, self._header)
        return _join(parts)

    def update(self, data: bytes | bytearray | memoryview) -> bytes:
        """Add plaintext; returns the ciphertext of the chunks sealed so far."""
        if self._done:
            raise ValueError("Encryptor already finalized")
        cs = self._chunk
        view = memoryview(data).cast("B")
        if len(self._pending) + len(view) <= cs:
            # Nothing can be sealed yet: these bytes may still become the final chunk.
            self._hold(view)
        else:
            if self._pending:
                # Complete the pending chunk; it is not final since more bytes follow it.
                fill = cs - len(self._pending)
                self._hold(view[:fill])
                self._submit(self._pending, final=False)
                self._pending = b""
                view = view[fill:]
            # Seal full chunks straight from the caller's buffer, keeping 1..cs bytes. On the
            # pool, a buffer the caller may change after we return must be copied first.
            copy = self._parallel and not _immutable(view)
            n = (len(view) - 1) // cs
            for i in range(n):
                chunk = view[i * cs : (i + 1) * cs]
                self._submit(bytes(chunk) if copy else chunk, final=False)
            self._hold(view[n * cs :])
        return self._collect(wait_all=False)

    def _hold(self, view: memoryview) -> None:
        """Keep not-yet-sealed plaintext, copying only what the caller could still change."""
        if not view:
            return
        pending = self._pending
        if not pending and _immutable(view):
            self._pending = view  # safe to keep without a copy
            return
        if not isinstance(pending, bytearray):
            pending = bytearray(pending)
        pending += view
        self._pending = pending

    def finalize(self) -> bytes:
        """Seal the remaining plaintext as the final chunk; returns the rest of the ciphertext."""
        if self._done:
            raise ValueError("Encryptor already finalized")
        self._done = True
        self._submit(self._pending, final=True)
        self._pending = b""
        return self._collect(wait_all=True)


def _immutable(view: memoryview) -> bool:
    """Whether ``view`` shows an immutable bytes object, which may be held without copying."""
    return view.readonly and isinstance(view.obj, bytes)


_pool_lock = threading.Lock()
_pool_instance: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _pool_instance
    with _pool_lock:
        if _pool_instance is None:
            workers = min(4, os.cpu_count() or 1)
            _pool_instance = ThreadPoolExecutor(workers, thread_name_prefix="vidonate-aead")
        return _pool_instance


class ChunkOpener:
    """Opens single chunks of one object, given its header: for reads of a byte range.

    ``Decryptor`` reads a whole object front to back; a range read opens only the chunks
    it needs, each at its own index and with its own finality, so it is just as safe.
    """

    def __init__(self, data_key: bytes, header: bytes, aad: bytes = b"") -> None:
        _check_data_key(data_key)
        if len(header) < HEADER_LEN:
            raise DecryptionError("truncated: incomplete header")
        magic, version, chunk_size, salt = _HEADER.unpack_from(header)
        if magic != MAGIC:
            raise DecryptionError("not a vidonate encrypted object (bad magic)")
        if version != VERSION:
            raise DecryptionError(f"unsupported encryption format version {version}")
        if not MIN_CHUNK <= chunk_size <= MAX_CHUNK:
            raise DecryptionError("corrupt header (chunk size)")
        self.header = bytes(header[:HEADER_LEN])
        self.chunk_size = chunk_size
        self._aead = _object_key(data_key, salt)
        self._aad = bytes(aad)

    def open(self, index: int, final: bool, sealed: bytes | memoryview) -> bytes:
        ad = self.header + _POS.pack(index, final) + self._aad
        try:
            return self._aead.decrypt(_nonce(index, final), sealed, ad)
        except InvalidTag:
            where = "final chunk" if final else "chunk"
            raise DecryptionError(
                f"{where} {index} failed authentication: wrong key or aad, tampered, "
                "reordered or truncated ciphertext"
            ) from None

    def chunks_in(self, ciphertext_size: int) -> int:
        """How many chunks an object of ``ciphertext_size`` bytes holds (at least one)."""
        body = ciphertext_size - HEADER_LEN
        sealed = self.chunk_size + TAG_LEN
        if body < TAG_LEN or 0 < body % sealed < TAG_LEN:
            raise DecryptionError("truncated: final chunk missing or cut")
        return -(-body // sealed)

    def plaintext_size(self, ciphertext_size: int) -> int:
        """The plaintext size of an object of ``ciphertext_size`` bytes with this header."""
        return ciphertext_size - HEADER_LEN - self.chunks_in(ciphertext_size) * TAG_LEN

    def open_in_order(self, sealed: Iterable[tuple[int, bool, bytes]]) -> Iterator[bytes]:
        """Open ``(index, final, sealed chunk)`` items, yielding their plaintexts in order.

        Large chunks open on the thread pool, a few at a time, while the caller fetches the
        next ones; the first chunk that fails raises DecryptionError, and nothing of it or
        after it is yielded.
        """
        opened = _InOrder(_parallel(self.chunk_size))
        try:
            for index, final, chunk in sealed:
                opened.submit(self.open, index, final, chunk)
                yield from opened.take(wait_all=False)
            yield from opened.take(wait_all=True)
        finally:
            opened.discard()


class Decryptor:
    """Decrypts one object incrementally: feed ciphertext of any size, collect plaintext.

    Each chunk's plaintext is returned only after its tag verifies. ``finalize`` must be
    called: only it proves the object was not cut short. Large chunks open on the thread
    pool, like ``Encryptor`` seals them: ``update`` returns the chunks opened so far.
    """

    def __init__(self, data_key: bytes, aad: bytes = b"", *, _first_index: int = 0) -> None:
        _check_data_key(data_key)
        self._data_key = data_key
        self._aad = bytes(aad)
        self._index = _first_index
        self._buf = bytearray()
        self._header: bytes | None = None
        self._opener: ChunkOpener | None = None
        self._opened = _InOrder(parallel=False)
        self._sealed = 0
        self._failed = False
        self._done = False

    def _fail(self, message: str) -> DecryptionError:
        self._failed = True
        self._buf = bytearray()
        self._opened.discard()
        return DecryptionError(message)

    def _read_header(self) -> None:
        try:
            self._opener = ChunkOpener(self._data_key, bytes(self._buf[:HEADER_LEN]), self._aad)
        except DecryptionError as exc:
            raise self._fail(str(exc)) from None
        self._header = self._opener.header
        self._sealed = self._opener.chunk_size + TAG_LEN
        self._opened = _InOrder(_parallel(self._opener.chunk_size))
        del self._buf[:HEADER_LEN]

    def _submit(self, sealed: bytes | memoryview, final: bool) -> None:
        """Open the next chunk, on the pool if parallel; ``sealed`` must not change."""
        assert self._opener is not None
        index = self._index
        self._index = index + 1
        try:
            self._opened.submit(self._opener.open, index, final, sealed)
        except DecryptionError as exc:
            raise self._fail(str(exc)) from None

    def _collect(self, wait_all: bool) -> bytes:
        try:
            return _join(self._opened.take(wait_all))
        except DecryptionError as exc:
            raise self._fail(str(exc)) from None

    def _check_open(self) -> None:
        if self._failed:
            raise DecryptionError("decryption already failed")
        if self._done:
            raise ValueError("Decryptor already finalized")

    def update(self, data: bytes | bytearray | memoryview) -> bytes:
        """Add ciphertext; returns the verified plaintext of every chunk now known not final."""
        self._check_open()
        buf = self._buf
        buf += data
        if self._header is None:
            if len(buf) < HEADER_LEN:
                return b""
            self._read_header()
        size = self._sealed
        if len(buf) > size:
            # A full sealed chunk is known not to be final only once a byte after it arrived.
            n = (len(buf) - 1) // size
            with memoryview(buf) as view:
                for i in range(n):
                    # The pool gets a copy: ``buf`` is cut below, before the chunk is opened.
                    self._submit(
                        bytes(view[i * size : (i + 1) * size])
                        if self._opened.parallel
                        else view[i * size : (i + 1) * size],
                        final=False,
                    )
            del buf[: n * size]
        return self._collect(wait_all=False)

    def finalize(self) -> bytes:
        """Open the final chunk; raises DecryptionError if the object was truncated."""
        self._check_open()
        self._done = True
        if self._header is None:
            raise self._fail("truncated: incomplete header")
        if len(self._buf) < TAG_LEN:
            raise self._fail("truncated: final chunk missing")
        self._submit(bytes(self._buf), final=True)
        self._buf = bytearray()
        return self._collect(wait_all=True)


def encrypt_iter(
    chunks: Iterable[bytes], data_key: bytes, aad: bytes = b"", chunk_size: int = CHUNK
) -> Iterator[bytes]:
    """Encrypt a stream of plaintext pieces; yields non-empty ciphertext pieces."""
    enc = Encryptor(data_key, aad, chunk_size)
    for piece in chunks:
        out = enc.update(piece)
        if out:
            yield out
    yield enc.finalize()


def decrypt_iter(chunks: Iterable[bytes], data_key: bytes, aad: bytes = b"") -> Iterator[bytes]:
    """Decrypt a stream of ciphertext pieces; yields verified plaintext pieces.

    Raises DecryptionError at the first bad chunk, and at the end if the stream was cut
    short; a consumer must treat what it got so far as unusable in that case.
    """
    dec = Decryptor(data_key, aad)
    for piece in chunks:
        out = dec.update(piece)
        if out:
            yield out
    last = dec.finalize()
    if last:
        yield last
