"""Chunked AES-GCM streams: round trips, and every kind of tampering failing loudly."""

from __future__ import annotations

import os
import random

import pytest

from vidonate.crypto import stream
from vidonate.crypto.stream import (
    HEADER_LEN,
    TAG_LEN,
    DecryptionError,
    Decryptor,
    Encryptor,
    ciphertext_size,
    decrypt_iter,
    encrypt_iter,
)

CS = 64  # small chunks keep the tests fast while crossing many chunk boundaries
KEY = bytes(range(32))
AAD = b"blob:donor-1/clip-7/redacted.mp4"


def encrypt(data: bytes, key: bytes = KEY, aad: bytes = AAD, chunk_size: int = CS) -> bytes:
    enc = Encryptor(key, aad, chunk_size)
    return enc.update(data) + enc.finalize()


def decrypt(blob: bytes, key: bytes = KEY, aad: bytes = AAD) -> bytes:
    dec = Decryptor(key, aad)
    return dec.update(blob) + dec.finalize()


def split(blob: bytes) -> tuple[bytes, list[bytes]]:
    """Header and sealed chunks of a ciphertext made with chunk size CS."""
    body = blob[HEADER_LEN:]
    size = CS + TAG_LEN
    return blob[:HEADER_LEN], [body[i : i + size] for i in range(0, len(body), size)]


@pytest.mark.parametrize("n", [0, 1, CS - 1, CS, CS + 1, 2 * CS, 5 * CS + 7])
def test_round_trip_sizes(n: int) -> None:
    data = os.urandom(n)
    blob = encrypt(data)
    assert len(blob) == ciphertext_size(n, CS)
    assert decrypt(blob) == data


def test_round_trip_default_chunk_size() -> None:
    data = os.urandom(3 * stream.CHUNK + 12345)
    blob = b"".join(
        encrypt_iter([data[i : i + 300_000] for i in range(0, len(data), 300_000)], KEY, AAD)
    )
    assert len(blob) == ciphertext_size(len(data))
    assert b"".join(decrypt_iter([blob], KEY, AAD)) == data


def test_random_feed_sizes() -> None:
    rng = random.Random(1234)
    for _ in range(40):
        data = rng.randbytes(rng.randrange(0, 12 * CS))
        enc = Encryptor(KEY, AAD, CS)
        out = bytearray()
        pos = 0
        while pos < len(data):
            step = rng.randrange(0, 3 * CS)
            out += enc.update(data[pos : pos + step])
            pos += step
        out += enc.finalize()
        assert len(out) == ciphertext_size(len(data), CS)
        dec = Decryptor(KEY, AAD)
        plain = bytearray()
        pos = 0
        while pos < len(out):
            step = rng.randrange(0, 3 * CS)
            plain += dec.update(out[pos : pos + step])
            pos += step
        plain += dec.finalize()
        assert plain == data


@pytest.mark.parametrize("chunk_size", [CS, stream._PARALLEL_MIN_CHUNK])
def test_caller_may_reuse_its_buffer(chunk_size: int) -> None:
    """Plaintext is copied or sealed before update returns when the caller's buffer is mutable,
    also when sealing runs on the thread pool."""
    rng = random.Random(7)
    data = rng.randbytes(9 * chunk_size + 5)
    enc = Encryptor(KEY, AAD, chunk_size)
    out = bytearray()
    buf = bytearray(chunk_size + 3)
    for pos in range(0, len(data), len(buf)):
        piece = data[pos : pos + len(buf)]
        buf[: len(piece)] = piece
        out += enc.update(memoryview(buf)[: len(piece)])
        buf[:] = bytes(len(buf))  # scribble over it, as a reused read buffer would
    out += enc.finalize()
    assert decrypt(bytes(out)) == data


def test_accepts_non_byte_memoryview() -> None:
    words = memoryview(bytearray(range(200))).cast("I")  # 50 four-byte items
    blob = encrypt(words)  # type: ignore[arg-type]
    assert decrypt(blob) == bytes(range(200))


def test_parallel_sealing_keeps_order_with_bytes_input() -> None:
    cs = stream._PARALLEL_MIN_CHUNK
    data = os.urandom(13 * cs + 1)
    pieces = [data[i : i + 100_000] for i in range(0, len(data), 100_000)]
    pieces += [b"", data[:0]]
    blob = b"".join(encrypt_iter(pieces, KEY, AAD, cs))
    assert len(blob) == ciphertext_size(len(data), cs)
    assert decrypt(blob) == data


def test_encrypt_is_randomised_and_hides_plaintext() -> None:
    data = b"A" * (3 * CS)
    a, b = encrypt(data), encrypt(data)
    assert a != b  # fresh salt, so a fresh object key, every time
    assert data[:CS] not in a


def test_iter_helpers_stream_incrementally() -> None:
    pieces = [os.urandom(CS) for _ in range(6)]
    out = list(encrypt_iter(iter(pieces), KEY, AAD, CS))
    assert len(out) > 2  # ciphertext is produced before the input ends
    assert b"".join(decrypt_iter(out, KEY, AAD)) == b"".join(pieces)


def _fails(blob: bytes, key: bytes = KEY, aad: bytes = AAD) -> None:
    """Decrypting must raise, and yield nothing from the bad chunk or after it."""
    with pytest.raises(DecryptionError):
        decrypt(blob, key, aad)


DATA = bytes(range(256)) * 2  # 512 bytes: 8 full chunks of 64, last one final


@pytest.fixture
def blob() -> bytes:
    return encrypt(DATA)


def test_truncated_at_chunk_boundary(blob: bytes) -> None:
    header, chunks = split(blob)
    _fails(header + b"".join(chunks[:-1]))
    _fails(header + b"".join(chunks[:1]))
    _fails(header)


def test_truncated_mid_chunk(blob: bytes) -> None:
    _fails(blob[:-1])
    _fails(blob[: HEADER_LEN + CS + TAG_LEN + 10])
    _fails(blob[: HEADER_LEN - 1])
    _fails(b"")


def test_chunk_dropped(blob: bytes) -> None:
    header, chunks = split(blob)
    _fails(header + b"".join(chunks[:3] + chunks[4:]))


def test_chunks_swapped(blob: bytes) -> None:
    header, chunks = split(blob)
    chunks[2], chunks[3] = chunks[3], chunks[2]
    _fails(header + b"".join(chunks))


def test_chunk_duplicated(blob: bytes) -> None:
    header, chunks = split(blob)
    _fails(header + b"".join(chunks[:3] + chunks[2:]))


@pytest.mark.parametrize("where", ["magic", "version", "chunk_size", "salt", "body", "tag"])
def test_bit_flip(blob: bytes, where: str) -> None:
    pos = {
        "magic": 0,
        "version": 4,
        "chunk_size": 8,
        "salt": 20,
        "body": HEADER_LEN + 3 * (CS + TAG_LEN) + 5,
        "tag": len(blob) - 1,
    }[where]
    for bit in (0, 7):
        bad = bytearray(blob)
        bad[pos] ^= 1 << bit
        _fails(bytes(bad))


def test_every_single_bit_flip_fails() -> None:
    small = encrypt(b"hello world" * 10, chunk_size=16)
    for pos in range(len(small)):
        bad = bytearray(small)
        bad[pos] ^= 0x10
        _fails(bytes(bad))


def test_appended_chunk_from_other_object(blob: bytes) -> None:
    other_header, other_chunks = split(encrypt(DATA))
    header, chunks = split(blob)
    _fails(blob + other_chunks[0])
    _fails(blob + other_chunks[-1])
    _fails(blob + other_header + b"".join(other_chunks))
    # Same position, other object (same key and aad): the salt differs, so the key does.
    _fails(header + b"".join(chunks[:2] + other_chunks[2:3] + chunks[3:]))


def test_trailing_garbage(blob: bytes) -> None:
    _fails(blob + b"\x00")


def test_wrong_key(blob: bytes) -> None:
    _fails(blob, key=bytes(32))


def test_wrong_aad(blob: bytes) -> None:
    _fails(blob, aad=b"blob:donor-2/clip-7/redacted.mp4")
    _fails(blob, aad=b"")


def test_no_plaintext_from_a_bad_chunk(blob: bytes) -> None:
    header, chunks = split(blob)
    bad = bytearray(chunks[3])
    bad[0] ^= 1
    tampered = header + b"".join(chunks[:3]) + bytes(bad) + b"".join(chunks[4:])
    got = bytearray()
    with pytest.raises(DecryptionError):
        for piece in decrypt_iter(
            [tampered[i : i + 7] for i in range(0, len(tampered), 7)], KEY, AAD
        ):
            got += piece
    assert bytes(got) == DATA[: 3 * CS]  # the good chunks before it, nothing of chunk 3


def test_decryptor_refuses_use_after_failure(blob: bytes) -> None:
    dec = Decryptor(KEY, b"wrong")
    with pytest.raises(DecryptionError):
        dec.update(blob)
    with pytest.raises(DecryptionError):
        dec.update(b"")
    with pytest.raises(DecryptionError):
        dec.finalize()


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        Encryptor(b"short")
    with pytest.raises(ValueError):
        Encryptor(KEY, chunk_size=0)
    with pytest.raises(ValueError):
        Encryptor(KEY, chunk_size=stream.MAX_CHUNK + 1)
    enc = Encryptor(KEY)
    enc.finalize()
    with pytest.raises(ValueError):
        enc.update(b"x")


def test_forged_huge_chunk_size_is_rejected(blob: bytes) -> None:
    bad = bytearray(blob)
    bad[5:9] = (stream.MAX_CHUNK + 1).to_bytes(4, "big")
    _fails(bytes(bad))


# Objects over 2 GiB: tested through the nonce construction and a high starting index,
# without writing gigabytes.


def test_nonce_unique_for_large_indices() -> None:
    indices = [0, 1, 2047, 2048, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**32 + 1, 2**40, 2**64 - 1]
    nonces = {stream._nonce(i, final) for i in indices for final in (False, True)}
    assert len(nonces) == 2 * len(indices)
    assert all(len(n) == 12 for n in nonces)
    with pytest.raises(OverflowError):
        stream._nonce(2**64, False)


@pytest.mark.parametrize("first", [2**31 // stream.CHUNK + 1, 2**31, 2**32 - 2, 2**33 + 5])
def test_round_trip_at_high_chunk_index(first: int) -> None:
    data = os.urandom(4 * CS + 3)
    enc = Encryptor(KEY, AAD, CS, _first_index=first)
    blob = enc.update(data) + enc.finalize()
    dec = Decryptor(KEY, AAD, _first_index=first)
    assert dec.update(blob) + dec.finalize() == data
    # The index is authenticated: the same chunks read as if at another position fail.
    dec = Decryptor(KEY, AAD, _first_index=first + 1)
    with pytest.raises(DecryptionError):
        dec.update(blob)
        dec.finalize()


def test_ciphertext_size_beyond_2_gib() -> None:
    n = 5 * 2**30 + 123
    chunks = n // stream.CHUNK + 1
    assert ciphertext_size(n) == HEADER_LEN + n + chunks * TAG_LEN
    assert ciphertext_size(0) == HEADER_LEN + TAG_LEN
    assert ciphertext_size(stream.CHUNK) == HEADER_LEN + stream.CHUNK + TAG_LEN


# Chunks at least _PARALLEL_MIN_CHUNK large seal and open on the thread pool: the format
# is the same as the serial one, byte for byte, and failures stop at the same chunk.

PCS = stream._PARALLEL_MIN_CHUNK


def _by_the_spec(data: bytes, salt: bytes, chunk_size: int) -> bytes:
    """The format written out from the module docstring, with the cryptography primitives
    alone: what every ciphertext stored so far looks like."""
    import struct

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    header = b"VDN1" + bytes([1]) + struct.pack(">I", chunk_size) + salt
    key = HKDF(hashes.SHA256(), 32, salt, b"vidonate/stream/v1").derive(KEY)
    pieces = [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)] or [b""]
    out = [header]
    for i, piece in enumerate(pieces):
        final = i == len(pieces) - 1
        nonce = bytes(3) + struct.pack(">QB", i, final)
        aad = header + struct.pack(">QB", i, final) + AAD
        out.append(AESGCM(key).encrypt(nonce, piece, aad))
    return b"".join(out)


@pytest.mark.parametrize("chunk_size", [CS, PCS])
def test_the_format_is_the_documented_one_serial_and_parallel(
    chunk_size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(5 * chunk_size + 11)
    salt = os.urandom(stream.SALT_LEN)
    expected = _by_the_spec(data, salt, chunk_size)
    monkeypatch.setattr(stream.os, "urandom", lambda n: salt)
    pieces = [data[i : i + 70_001] for i in range(0, len(data), 70_001)]
    assert b"".join(encrypt_iter(pieces, KEY, AAD, chunk_size)) == expected
    assert b"".join(decrypt_iter([expected], KEY, AAD)) == data


def test_parallel_opening_returns_chunks_in_order_whatever_the_feed_sizes() -> None:
    rng = random.Random(11)
    data = rng.randbytes(11 * PCS + 3)
    blob = encrypt(data, chunk_size=PCS)
    dec = Decryptor(KEY, AAD)
    plain = bytearray()
    pos = 0
    while pos < len(blob):
        step = rng.randrange(1, 3 * PCS)
        plain += dec.update(blob[pos : pos + step])
        pos += step
    plain += dec.finalize()
    assert plain == data


@pytest.mark.parametrize("bad_chunk", [0, 5, 11])
def test_parallel_opening_gives_nothing_of_a_bad_chunk_or_after_it(bad_chunk: int) -> None:
    data = os.urandom(11 * PCS + 3)  # chunks 0..10 full, chunk 11 final
    blob = bytearray(encrypt(data, chunk_size=PCS))
    blob[HEADER_LEN + bad_chunk * (PCS + TAG_LEN) + 9] ^= 4
    got = bytearray()
    dec = Decryptor(KEY, AAD)
    with pytest.raises(DecryptionError, match=f"chunk {bad_chunk} failed"):
        for pos in range(0, len(blob), 100_000):
            got += dec.update(bytes(blob[pos : pos + 100_000]))
        got += dec.finalize()
    # Good chunks before the bad one may have come out; never a byte of it or later ones.
    assert len(got) % PCS == 0 and len(got) <= bad_chunk * PCS
    assert bytes(got) == data[: len(got)]
    with pytest.raises(DecryptionError):
        dec.update(b"")


def test_chunk_opener_opens_a_run_of_chunks_in_order_and_stops_at_a_bad_one() -> None:
    data = os.urandom(7 * PCS)
    blob = encrypt(data, chunk_size=PCS)
    opener = stream.ChunkOpener(KEY, blob[:HEADER_LEN], AAD)
    sealed = PCS + TAG_LEN
    chunks = [blob[HEADER_LEN + i * sealed : HEADER_LEN + (i + 1) * sealed] for i in range(7)]
    items = [(i, i == 6, c) for i, c in enumerate(chunks)]
    assert b"".join(opener.open_in_order(items)) == data
    items[4] = (4, False, chunks[5])  # a chunk in the wrong place
    got = []
    with pytest.raises(DecryptionError, match="chunk 4 failed"):
        for piece in opener.open_in_order(items):
            got.append(piece)
    assert got == [data[i * PCS : (i + 1) * PCS] for i in range(len(got))] and len(got) <= 4


def test_the_pool_holds_a_bounded_number_of_chunks_in_flight() -> None:
    """However large one update, at most _INFLIGHT chunks wait on the pool at once."""
    seen: list[int] = []
    queue = stream._InOrder(parallel=True)
    for i in range(5 * stream._INFLIGHT):
        queue.submit(lambda i=i: bytes([i % 256]))
        seen.append(queue._pending)
    assert max(seen) <= stream._INFLIGHT
    assert b"".join(queue.take(wait_all=True)) == bytes(range(5 * stream._INFLIGHT))
