"""Near-duplicate index speed: 1,000,000 clips, query latency against a 20 ms target.

The data is synthetic: uniformly random 256-bit hashes, not hashes of real video.

* Indexed clips: 1,000,000 clips with 8 hashes each (`VideoSignature.representative`
  indexes 4 frames, whole and central crop), 8,000,000 hashes, built with one
  ``HashIndex.add_many``.
* Planted near-duplicates: for each of 1,000 query clips, a new clip is added afterwards with
  ``HashIndex.add`` (the incremental path: buffer, then small sorted segments). It holds 8 of
  the query clip's 64 hashes with k random bits flipped, k cycling through 8, 16, 24 and 32
  (nine in ten frames of the measured re-encoded, scaled, cropped, trimmed and mirrored
  copies are within 22 bits of the original, watermarked ones 27-52), and every other
  planted clip is stored mirrored, so the query finds it only through ``include_mirrored``.
  Recall is also printed per k to stderr, per clip and per planted hash.
* A query is one clip: 64 hashes (32 sampled frames, whole and central crop; a real clip
  gives about 2.5 frames a second), each also searched mirrored: 128 lookups.
* Recall: the fraction of queries whose planted clip is in the answer. False: clips in the
  answers other than the planted one (random hashes, so there should be none).
* Timing: each `query` call alone (perf_counter), the progress display not refreshing
  meanwhile; build: the `add_many` call.

Uniformly random hashes spread evenly over the substring buckets; real ones cluster (a fixed
camera's clips share a background), which puts more candidates in some buckets.

Progress goes to stderr; stdout gets exactly one summary line::

    .venv/bin/python bench/dedupe.py [--clips 1000000] [--queries 1000]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
from rich.console import Console
from rich.progress import Progress

from vidonate.dedupe.index import HashIndex
from vidonate.dedupe.phash import HASH_BYTES, mirrored

TARGET_MS = 20.0
PER_CLIP = 8
QUERY_HASHES = 64
PLANTED_HASHES = 8
FLIPS = (8, 16, 24, 32)

err = Console(stderr=True, highlight=False)


def flip_bits(hashes: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Copy of `hashes` with k distinct random bits flipped in each row."""
    bits = np.unpackbits(hashes, axis=1)
    for row in bits:
        row[rng.choice(bits.shape[1], k, replace=False)] ^= 1
    return np.packbits(bits, axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    n_hashes = args.clips * PER_CLIP
    index = HashIndex()

    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("random hashes", total=n_hashes)
        hashes = np.empty((n_hashes, HASH_BYTES), dtype=np.uint8)
        for start in range(0, n_hashes, 1_000_000):
            stop = min(n_hashes, start + 1_000_000)
            hashes[start:stop] = rng.integers(0, 256, (stop - start, HASH_BYTES), np.uint8)
            progress.update(task, completed=stop)
    clip_ids = np.repeat(np.arange(args.clips, dtype=np.int64), PER_CLIP)
    started = time.perf_counter()
    with err.status(f"building the index over {n_hashes:,} hashes"):
        index.add_many(clip_ids, hashes)
    build_s = time.perf_counter() - started
    del hashes, clip_ids
    err.print(f"built in {build_s:.1f} s")

    queries = rng.integers(0, 256, (args.queries, QUERY_HASHES, HASH_BYTES), np.uint8)
    planted_ids = args.clips + np.arange(args.queries)
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("planting near-duplicates", total=args.queries)
        for i, clip in enumerate(planted_ids):
            rows = rng.choice(QUERY_HASHES, PLANTED_HASHES, replace=False)
            copy = flip_bits(queries[i, rows], FLIPS[i % len(FLIPS)], rng)
            index.add(int(clip), mirrored(copy) if i % 2 else copy)
            progress.advance(task)

    times_ms = np.empty(args.queries)
    found = np.zeros(args.queries, dtype=bool)
    rows_found = np.zeros(args.queries)  # of the PLANTED_HASHES query rows with a copy
    false = 0
    # No refresh thread while timing: it would take the GIL in the middle of queries.
    with Progress(console=err, transient=True, auto_refresh=False) as progress:
        task = progress.add_task("querying", total=args.queries)
        for i in range(args.queries):
            started = time.perf_counter()
            answer = index.query(queries[i])
            times_ms[i] = (time.perf_counter() - started) * 1000
            found[i] = int(planted_ids[i]) in answer
            rows_found[i] = answer.get(int(planted_ids[i]), 0) / PLANTED_HASHES
            false += len(answer) - int(found[i])
            progress.advance(task)
            if i % 50 == 0:
                progress.refresh()

    p50, p99 = np.percentile(times_ms, [50, 99])
    by_k = ", ".join(
        f"k={k}: clips {found[i :: len(FLIPS)].mean():.3f}, "
        f"hashes {rows_found[i :: len(FLIPS)].mean():.3f}"
        for i, k in enumerate(FLIPS)
    )
    rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    err.print(f"recall by bits flipped, {by_k}; peak RSS {rss_gb:.2f} GB")
    print(
        f"dedupe: {args.clips:,} clips ({n_hashes:,} synthetic random frame hashes), "
        f"query ({QUERY_HASHES} hashes + mirrors) p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
        f"target {TARGET_MS:.0f} ms, ratio p99/target {p99 / TARGET_MS:.2f}, "
        f"recall {found.mean():.3f} on {args.queries:,} planted duplicates "
        f"({PLANTED_HASHES} hashes, {FLIPS[0]}-{FLIPS[-1]} bits flipped, half mirrored), "
        f"{false} false clips, build {build_s:.1f} s"
    )


if __name__ == "__main__":
    main()
