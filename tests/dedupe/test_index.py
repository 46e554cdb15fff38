"""HashIndex: exact, near and far queries; removal; incremental adds; mirrors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vidonate.dedupe.index import HashIndex
from vidonate.dedupe.phash import HASH_BYTES, hamming, mirrored, video_signature
from vidonate.ingest.samples import generate_clip

PER_CLIP = 8


def random_hashes(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 256, (n, HASH_BYTES), dtype=np.uint8)


def flip_bits(hashes: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Copy with k distinct random bits flipped in every row."""
    bits = np.unpackbits(np.atleast_2d(hashes), axis=1)
    for row in bits:
        row[rng.choice(bits.shape[1], k, replace=False)] ^= 1
    return np.packbits(bits, axis=1)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


@pytest.fixture
def built(rng: np.random.Generator) -> tuple[HashIndex, np.ndarray]:
    """An index of 2,000 random clips (8 hashes each), bulk built; and those hashes."""
    hashes = random_hashes(rng, 2000 * PER_CLIP).reshape(2000, PER_CLIP, HASH_BYTES)
    index = HashIndex()
    index.add_many(np.repeat(np.arange(2000), PER_CLIP), hashes.reshape(-1, HASH_BYTES))
    return index, hashes


def test_exact_match_counts_every_query_row(built: tuple[HashIndex, np.ndarray]) -> None:
    index, hashes = built
    assert len(index) == 2000
    assert index.hash_count == 2000 * PER_CLIP
    assert index.query(hashes[123]) == {123: PER_CLIP}
    assert index.query(hashes[5, 2]) == {5: 1}  # a single hash, 1-D


def test_near_matches_within_pigeonhole_radius_are_always_found(
    built: tuple[HashIndex, np.ndarray], rng: np.random.Generator
) -> None:
    index, hashes = built
    for clip in range(0, 2000, 40):
        query = flip_bits(hashes[clip], 15, rng)  # 16 substrings: <= 15 flips leave one clean
        assert index.query(query, include_mirrored=False).get(clip) == PER_CLIP


def test_threshold_bounds_the_answer(rng: np.random.Generator) -> None:
    stored = random_hashes(rng, 1)
    index = HashIndex(threshold=40)
    index.add_many(np.array([1]), stored)

    def flipped_outside_first_substring(k: int) -> np.ndarray:
        # The first 16 bits stay equal, so the stored hash is always a candidate and the
        # popcount check alone decides.
        bits = np.unpackbits(stored, axis=1)
        bits[0, 16 + rng.choice(240, k, replace=False)] ^= 1
        return np.packbits(bits, axis=1)

    assert index.query(flipped_outside_first_substring(40), include_mirrored=False) == {1: 1}
    assert index.query(flipped_outside_first_substring(41), include_mirrored=False) == {}
    far = flipped_outside_first_substring(100)
    assert int(hamming(far, stored)[0]) == 100
    assert index.query(far, include_mirrored=False) == {}


def test_far_hashes_find_nothing(
    built: tuple[HashIndex, np.ndarray], rng: np.random.Generator
) -> None:
    index, _ = built
    assert index.query(random_hashes(rng, 200)) == {}
    assert index.query(np.zeros((0, HASH_BYTES), np.uint8)) == {}
    assert HashIndex().query(random_hashes(rng, 3)) == {}


def test_remove_from_sorted_tables_and_from_buffer(
    built: tuple[HashIndex, np.ndarray], rng: np.random.Generator
) -> None:
    index, hashes = built
    index.remove(42)
    assert index.query(hashes[42]) == {}
    assert len(index) == 1999
    extra = random_hashes(rng, 4)
    index.add(5000, extra)  # stays in the buffer
    assert index.query(extra) == {5000: 4}
    index.remove(5000)
    assert index.query(extra) == {}
    assert len(index) == 1999
    index.remove(123456)  # unknown: no-op
    assert index.query(hashes[43]) == {43: PER_CLIP}


def test_incremental_adds_after_bulk_build(
    built: tuple[HashIndex, np.ndarray], rng: np.random.Generator
) -> None:
    index, hashes = built
    index.buffer_rows = 64  # force flushes into segments and merges between them
    added = {}
    for clip in range(3000, 3100):
        added[clip] = random_hashes(rng, PER_CLIP)
        index.add(clip, added[clip])
    assert len(index._segments) > 1  # the buffer really turned into sorted segments
    assert len(index) == 2100
    for clip, own in added.items():
        assert index.query(flip_bits(own, 10, rng)) == {clip: PER_CLIP}
    assert index.query(hashes[1999]) == {1999: PER_CLIP}
    index.remove(3050)
    index.add(3200, random_hashes(rng, 200))  # triggers merges that drop the dead rows
    assert index.query(added[3050]) == {}
    assert index.query(added[3051]) == {3051: PER_CLIP}
    assert index.hash_count == 2000 * PER_CLIP + 99 * PER_CLIP + 200


def test_mirrored_query(built: tuple[HashIndex, np.ndarray], rng: np.random.Generator) -> None:
    index, _ = built
    frames = random_hashes(rng, 6)
    index.add(777, mirrored(flip_bits(frames, 5, rng)))
    assert index.query(frames) == {777: 6}
    assert index.query(frames, include_mirrored=False) == {}


def test_add_many_validates_shapes() -> None:
    index = HashIndex()
    with pytest.raises(ValueError, match="clip ids"):
        index.add_many(np.arange(3), np.zeros((2, HASH_BYTES), np.uint8))
    with pytest.raises(ValueError, match="shape"):
        index.add(1, np.zeros((2, 16), np.uint8))


def test_real_signature_round_trip(tmp_path: Path) -> None:
    """Index a clip's representative hashes; the clip's own query hashes find it."""
    clip = video_signature(generate_clip(tmp_path / "a.mp4", seconds=4, seed=1))
    assert len(clip)
    index = HashIndex()
    index.add(1, clip.representative())
    assert index.query(clip.query_hashes()).get(1, 0) >= 1
