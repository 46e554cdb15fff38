"""Donor data keys, the master key that wraps them, rotation and crypto-shredding.

* Every donor has one random 256-bit data key (``new_data_key``). Objects derived from the
  donor's clips are encrypted under it with ``vidonate.crypto.stream``.
* The data key is stored only wrapped (encrypted) by a master key, as a ``WrappedKey``
  (the id of the master key plus the wrapped bytes); the caller keeps it in a table.
* A ``KeyProvider`` wraps and unwraps. The default, ``FileKeyProvider``, holds a 32-byte
  master key from a file under ``var/`` created at first start (mode 0600), or given
  base64-encoded in the environment (``VIDONATE_MASTER_KEY``), which is how every node
  of a deployment gets the same key; a KMS-backed provider implements the same two
  methods (docs/deploy.md).
* Rotating the master key (``rotate``) re-wraps data keys only. Blobs are encrypted under
  the data keys, which do not change, so no blob is rewritten.
* Crypto-shredding: deleting a donor's ``WrappedKey`` row (and every backup of it) and
  calling ``KeyRing.forget`` for the donor destroys the data key; every blob encrypted under
  it is then unreadable, wherever copies of it remain. Python cannot reliably wipe the
  bytes of a forgotten key from memory; they are dropped and left to the allocator.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vidonate.secret_file import create_private_file

log = logging.getLogger(__name__)

DATA_KEY_LEN = 32
MASTER_KEY_LEN = 32
_WRAP_NONCE_LEN = 12
_WRAP_AAD = b"vidonate/data-key/v1|"
_KEY_ID_DOMAIN = b"vidonate/master-key-id/v1|"


class KeyUnwrapError(Exception):
    """A wrapped key did not open: another master key, or corrupt bytes."""


@runtime_checkable
class KeyProvider(Protocol):
    """Wraps and unwraps data keys under one master key; what a KMS client implements."""

    key_id: str

    def wrap(self, data_key: bytes) -> bytes: ...

    def unwrap(self, wrapped: bytes) -> bytes:
        """Raises KeyUnwrapError if ``wrapped`` was not made by this provider's key."""
        ...


@dataclass(frozen=True)
class WrappedKey:
    """A data key encrypted by the master key ``key_id``; safe to store in a database."""

    key_id: str
    wrapped: bytes


def new_data_key() -> bytes:
    """A fresh random 256-bit data key."""
    return secrets.token_bytes(DATA_KEY_LEN)


class FileKeyProvider:
    """A master key held in a local file; wraps with AES-256-GCM.

    Wrapped form: ``nonce (12) | ciphertext (32) | tag (16)``, with the key id as
    associated data, so a wrapped key names which master key it needs and cannot be
    passed off as another's. Random nonces are safe here: a master key wraps far fewer
    than 2^32 data keys.
    """

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != MASTER_KEY_LEN:
            raise ValueError(f"master key must be {MASTER_KEY_LEN} bytes")
        # The id is public (stored next to every wrapped key), so derive it one-way.
        self.key_id = hashlib.sha256(_KEY_ID_DOMAIN + master_key).hexdigest()[:16]
        self._aead = AESGCM(master_key)
        self._aad = _WRAP_AAD + self.key_id.encode()

    @classmethod
    def generate(cls) -> FileKeyProvider:
        """A provider with a new random master key, held in memory only."""
        return cls(secrets.token_bytes(MASTER_KEY_LEN))

    @classmethod
    def from_base64(cls, encoded: str) -> FileKeyProvider:
        """The master key given as text (an environment variable, a secret manager): the
        base64 of the key file's 32 bytes."""
        try:
            master_key = base64.b64decode(encoded.strip(), validate=True)
        except binascii.Error:
            raise ValueError("the master key is not valid base64") from None
        if len(master_key) != MASTER_KEY_LEN:
            raise ValueError(
                f"the master key must be {MASTER_KEY_LEN} bytes, base64-encoded "
                f"(`base64 -w0 master.key`); this one is {len(master_key)} bytes"
            )
        return cls(master_key)

    @classmethod
    def load_or_create(cls, path: Path) -> FileKeyProvider:
        """Load the master key file, creating it (mode 0600) if it does not exist yet."""
        path = Path(path)
        if not path.exists():
            _create_key_file(path)
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            log.warning("master key file %s is readable by others (mode %o)", path, mode)
        master_key = path.read_bytes()
        if len(master_key) != MASTER_KEY_LEN:
            raise ValueError(f"master key file {path} must hold exactly {MASTER_KEY_LEN} bytes")
        return cls(master_key)

    def wrap(self, data_key: bytes) -> bytes:
        return seal_key(self._aead, data_key, self._aad)

    def unwrap(self, wrapped: bytes) -> bytes:
        try:
            return open_key(self._aead, wrapped, self._aad)
        except KeyUnwrapError as exc:
            raise KeyUnwrapError(f"{exc}: not master key {self.key_id}") from None


def seal_key(kek: AESGCM, key: bytes, aad: bytes) -> bytes:
    """``key`` (32 bytes) encrypted by the key-encryption key ``kek``, bound to ``aad``.

    Wrapped form: ``nonce (12) | ciphertext (32) | tag (16)``. Random nonces are safe:
    one key-encryption key wraps far fewer than 2^32 keys.
    """
    if len(key) != DATA_KEY_LEN:
        raise ValueError(f"data key must be {DATA_KEY_LEN} bytes")
    nonce = os.urandom(_WRAP_NONCE_LEN)
    return nonce + kek.encrypt(nonce, key, aad)


def open_key(kek: AESGCM, wrapped: bytes, aad: bytes) -> bytes:
    """The key that ``seal_key`` wrapped; KeyUnwrapError for another kek, aad or bytes."""
    nonce, sealed = wrapped[:_WRAP_NONCE_LEN], wrapped[_WRAP_NONCE_LEN:]
    if len(sealed) != DATA_KEY_LEN + 16:
        raise KeyUnwrapError("wrapped key has the wrong length")
    try:
        return kek.decrypt(nonce, sealed, aad)
    except InvalidTag:
        raise KeyUnwrapError("wrapped key does not open") from None


def _create_key_file(path: Path) -> None:
    """A new random key, private from its first byte; a concurrent creator may win."""
    if create_private_file(path, secrets.token_bytes(MASTER_KEY_LEN)):
        log.info("created master key file %s", path)


def wrap_key(provider: KeyProvider, data_key: bytes) -> WrappedKey:
    return WrappedKey(provider.key_id, provider.wrap(data_key))


def rotate(wrapped: WrappedKey, old: KeyProvider, new: KeyProvider) -> WrappedKey:
    """Re-wrap a data key from master key ``old`` to ``new``; the data key stays the same."""
    if wrapped.key_id != old.key_id:
        raise KeyUnwrapError(f"key is wrapped by {wrapped.key_id}, not {old.key_id}")
    return wrap_key(new, old.unwrap(wrapped.wrapped))


class KeyRing:
    """Unwraps donors' data keys and caches them in memory for a short time.

    The first provider is current and wraps new keys; older ones still unwrap keys not yet
    rotated. Cached keys expire after ``ttl`` seconds so a key lives in memory only while
    its donor's objects are being worked on. Thread-safe.
    """

    def __init__(
        self,
        current: KeyProvider,
        *older: KeyProvider,
        ttl: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.current = current
        self._providers = {p.key_id: p for p in (*older, current)}
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[WrappedKey, bytes, float]] = {}

    def new_key(self) -> tuple[bytes, WrappedKey]:
        """A new data key and its wrapped form under the current master key."""
        data_key = new_data_key()
        return data_key, wrap_key(self.current, data_key)

    def rewrap(self, wrapped: WrappedKey) -> WrappedKey:
        """``wrapped`` re-wrapped under the current master key (unchanged if it already is)."""
        if wrapped.key_id == self.current.key_id:
            return wrapped
        return rotate(wrapped, self._provider(wrapped.key_id), self.current)

    def _provider(self, key_id: str) -> KeyProvider:
        try:
            return self._providers[key_id]
        except KeyError:
            raise KeyUnwrapError(f"no master key {key_id} available") from None

    def unwrap(self, wrapped: WrappedKey) -> bytes:
        """``wrapped``'s key, not cached: for a key used once and then dropped."""
        return self._provider(wrapped.key_id).unwrap(wrapped.wrapped)

    def data_key(self, owner_id: str, wrapped: WrappedKey) -> bytes:
        """The unwrapped data key of ``owner_id``, from the cache while fresh."""
        now = self._clock()
        with self._lock:
            hit = self._cache.get(owner_id)
            # A different WrappedKey (a new key after shredding, or a re-wrap) is a miss.
            if hit is not None and hit[0] == wrapped and hit[2] > now:
                return hit[1]
        data_key = self.unwrap(wrapped)
        with self._lock:
            self._cache[owner_id] = (wrapped, data_key, now + self._ttl)
            self._purge(now)
        return data_key

    def _purge(self, now: float) -> None:
        expired = [owner for owner, (_, _, until) in self._cache.items() if until <= now]
        for owner in expired:
            del self._cache[owner]

    def forget(self, owner_id: str) -> None:
        """Drop the owner's cached key; with its WrappedKey deleted, this shreds the data."""
        with self._lock:
            self._cache.pop(owner_id, None)

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()
