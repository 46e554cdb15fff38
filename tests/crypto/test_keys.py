"""Donor data keys: wrapping, the master key file, rotation and crypto-shredding."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from vidonate.crypto.keys import (
    FileKeyProvider,
    KeyProvider,
    KeyRing,
    KeyUnwrapError,
    WrappedKey,
    new_data_key,
    rotate,
    wrap_key,
)
from vidonate.crypto.stream import DecryptionError, decrypt_iter, encrypt_iter


def test_wrap_unwrap() -> None:
    provider = FileKeyProvider.generate()
    assert isinstance(provider, KeyProvider)
    key = new_data_key()
    assert len(key) == 32 and key != new_data_key()
    wrapped = provider.wrap(key)
    assert key not in wrapped
    assert provider.unwrap(wrapped) == key
    assert provider.wrap(key) != wrapped  # random nonce


def test_unwrap_under_another_master_key_fails() -> None:
    a, b = FileKeyProvider.generate(), FileKeyProvider.generate()
    assert a.key_id != b.key_id
    wrapped = a.wrap(new_data_key())
    with pytest.raises(KeyUnwrapError):
        b.unwrap(wrapped)
    bad = bytearray(wrapped)
    bad[-1] ^= 1
    with pytest.raises(KeyUnwrapError):
        a.unwrap(bytes(bad))
    with pytest.raises(KeyUnwrapError):
        a.unwrap(wrapped[:-1])


def test_master_key_file_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "var" / "keys" / "master.key"
    first = FileKeyProvider.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.stat().st_size == 32
    assert [p.name for p in path.parent.iterdir()] == ["master.key"]  # no temp left
    again = FileKeyProvider.load_or_create(path)
    assert again.key_id == first.key_id
    wrapped = first.wrap(new_data_key())
    assert again.unwrap(wrapped) == first.unwrap(wrapped)


def test_master_key_file_concurrent_first_start(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    ids: list[str] = []
    threads = [
        threading.Thread(target=lambda: ids.append(FileKeyProvider.load_or_create(path).key_id))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 1 and len(ids) == 8


def test_bad_master_key_file(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    path.write_bytes(b"too short")
    with pytest.raises(ValueError):
        FileKeyProvider.load_or_create(path)


def test_rotation_rewraps_without_touching_ciphertext(tmp_path: Path) -> None:
    old = FileKeyProvider.load_or_create(tmp_path / "old.key")
    data_key = new_data_key()
    wrapped = wrap_key(old, data_key)
    plaintext = os.urandom(100_000)
    blob = b"".join(encrypt_iter([plaintext], data_key, b"k"))

    new = FileKeyProvider.load_or_create(tmp_path / "new.key")
    rotated = rotate(wrapped, old, new)
    assert rotated.key_id == new.key_id and rotated.wrapped != wrapped.wrapped

    # The old master key is no longer needed: destroy it, then read the old blob.
    (tmp_path / "old.key").unlink()
    del old
    ring = KeyRing(new)
    key = ring.data_key("donor-1", rotated)
    assert key == data_key
    assert b"".join(decrypt_iter([blob], key, b"k")) == plaintext

    with pytest.raises(KeyUnwrapError):
        rotate(wrapped, new, FileKeyProvider.generate())  # key id mismatch


def test_keyring_resolves_older_master_keys_and_rewraps() -> None:
    old, new = FileKeyProvider.generate(), FileKeyProvider.generate()
    data_key = new_data_key()
    wrapped = wrap_key(old, data_key)
    ring = KeyRing(new, old)
    assert ring.data_key("d", wrapped) == data_key
    rewrapped = ring.rewrap(wrapped)
    assert rewrapped.key_id == new.key_id
    assert ring.rewrap(rewrapped) is rewrapped
    assert KeyRing(new).data_key("d", rewrapped) == data_key
    with pytest.raises(KeyUnwrapError):
        KeyRing(new).data_key("d", wrapped)  # old master key gone: not resolvable


def test_keyring_cache_expires_and_forget() -> None:
    calls: list[bytes] = []

    class CountingProvider:
        def __init__(self) -> None:
            self.inner = FileKeyProvider.generate()
            self.key_id = self.inner.key_id

        def wrap(self, data_key: bytes) -> bytes:
            return self.inner.wrap(data_key)

        def unwrap(self, wrapped: bytes) -> bytes:
            calls.append(wrapped)
            return self.inner.unwrap(wrapped)

    now = [0.0]
    ring = KeyRing(CountingProvider(), ttl=10, clock=lambda: now[0])
    data_key, wrapped = ring.new_key()
    assert ring.data_key("d", wrapped) == data_key
    assert ring.data_key("d", wrapped) == data_key
    assert len(calls) == 1  # cached
    now[0] = 11
    ring.data_key("d", wrapped)
    assert len(calls) == 2  # expired, unwrapped again
    ring.forget("d")
    ring.data_key("d", wrapped)
    assert len(calls) == 3
    other_key, other = ring.new_key()
    assert ring.data_key("d", other) == other_key  # a different wrapped key is a cache miss


def test_shredding_makes_ciphertext_unreadable() -> None:
    master = FileKeyProvider.generate()
    ring = KeyRing(master)
    data_key, wrapped = ring.new_key()
    table: dict[str, WrappedKey] = {"donor-1": wrapped}  # stands in for the DB table
    blob = b"".join(encrypt_iter([b"clip bytes" * 1000], ring.data_key("donor-1", wrapped)))
    del data_key

    # Withdraw everything: delete the wrapped key row, drop the cached copy.
    del table["donor-1"]
    ring.forget("donor-1")

    assert "donor-1" not in table
    assert ring._cache == {}
    # With the data key gone, no key the service can produce opens the blob.
    _, fresh = ring.new_key()
    with pytest.raises(DecryptionError):
        b"".join(decrypt_iter([blob], ring.data_key("donor-1", fresh)))
