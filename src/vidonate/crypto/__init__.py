"""Encryption at rest: streaming AES-256-GCM objects under per-donor data keys.

``stream`` encrypts and decrypts one object in chunks; ``keys`` manages donor data keys,
the master key that wraps them, rotation and crypto-shredding.
"""

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
from vidonate.crypto.stream import (
    CHUNK,
    DecryptionError,
    Decryptor,
    Encryptor,
    ciphertext_size,
    decrypt_iter,
    encrypt_iter,
)

__all__ = [
    "CHUNK",
    "DecryptionError",
    "Decryptor",
    "Encryptor",
    "FileKeyProvider",
    "KeyProvider",
    "KeyRing",
    "KeyUnwrapError",
    "WrappedKey",
    "ciphertext_size",
    "decrypt_iter",
    "encrypt_iter",
    "new_data_key",
    "rotate",
    "wrap_key",
]
