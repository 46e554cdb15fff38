"""Cluster throughput: clips processed per minute by 1 worker and by 2, and upload speed
through nginx against a direct upload to one server, all in one run on one cluster.

The cluster is ``vidonate.ops.cluster`` (its own PostgreSQL with Procrastinate, SeaweedFS,
Redis, 2 servers behind nginx, 2 workers), started in a temporary directory under /tmp
and stopped at the end. Then:

* processing: the workers are stopped, ``--clips`` generated clips (``vidonate.ingest.
  samples.generate_clip``, 4 s of 320×240 at 15 fps, each of its own seed; redaction on)
  are uploaded, and worker-1 alone is started: the time from its start until every clip
  is ``in_review`` gives clips per minute. The same clips are uploaded again (new
  donations) with the workers stopped, and both workers started: clips per minute with 2.
  The ratio is 2 workers over 1; on this 2-core machine, which also runs the servers and
  the databases, it cannot reach 2.
* upload: one ``--upload-mb`` MB file (an MP4 file-type box and random bytes; processing
  refuses it later, which does not matter, the workers are stopped) uploaded with the
  project's client (``Api.upload``, 8 MiB chunks) through nginx, and the same file again
  straight to server-1: MB/s each, and the ratio nginx over direct.

Progress goes to stderr; stdout gets exactly one line::

    .venv/bin/python bench/cluster.py                 # 20 clips, 200 MB
    .venv/bin/python bench/cluster.py --clips 6 --upload-mb 50
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psycopg
from rich.console import Console
from rich.progress import Progress

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "cluster"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from cluster_kit import admin_token, donation_metadata, new_user  # tests/cluster

from vidonate.client import Api
from vidonate.ingest.samples import generate_clip
from vidonate.ops.cluster import WORKERS, Cluster

MB = 10**6
MIB = 1024**2
err = Console(stderr=True)


def _in_review(cluster: Cluster, donation_ids: list[int]) -> int:
    url = cluster.database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM donations WHERE id = ANY(%s)"
            " AND status NOT IN ('uploading', 'received', 'processing')",
            (donation_ids,),
        ).fetchone()
    return int(row[0]) if row else 0


def _upload_all(cluster: Cluster, token: str, clips: list[Path]) -> list[int]:
    api = Api(cluster.url, token)
    try:
        with httpx.Client(base_url=cluster.url, timeout=60) as http:
            metadata = donation_metadata(http, token)
        ids = []
        for clip in clips:
            uploaded = api.upload(clip, metadata)
            assert uploaded.donation_id is not None
            ids.append(uploaded.donation_id)
        return ids
    finally:
        api.close()


def clips_per_minute(cluster: Cluster, token: str, clips: list[Path], workers: int) -> float:
    for name in WORKERS:
        cluster.stop(name)
    ids = _upload_all(cluster, token, clips)
    started = time.perf_counter()
    for name in WORKERS[:workers]:
        cluster.start(name)
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task(f"{workers} worker(s) processing", total=len(ids))
        while (done := _in_review(cluster, ids)) < len(ids):
            progress.update(task, completed=done)
            time.sleep(0.5)
    seconds = time.perf_counter() - started
    err.print(f"  {workers} worker(s): {len(ids)} clips in {seconds:.1f} s")
    return len(ids) / seconds * 60


def upload_mb_per_s(server: str, token: str, source: Path, metadata: dict[str, str]) -> float:
    api = Api(server, token)
    try:
        started = time.perf_counter()
        api.upload(source, metadata, chunk_size=8 * MIB)
        return source.stat().st_size / MB / (time.perf_counter() - started)
    finally:
        api.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=20, help="clips per processing run")
    parser.add_argument("--upload-mb", type=int, default=200, help="upload size in MB")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="vidonate-bench-cluster-"))
    tmp.chmod(0o711)  # PostgreSQL's account (under root) must enter it
    cluster = Cluster(
        tmp / "cluster",
        progress=lambda line: err.print(f"[dim]{line}[/]"),
        # A donor's bytes waiting to be processed: both runs' clips and the big file.
        settings={"VIDONATE_DONOR_QUOTA_BYTES": str(4 * args.upload_mb * MB + 10**9)},
    )
    try:
        cluster.up()
        admin = admin_token(cluster)
        token = new_user(cluster, "donor", admin)
        clips = [generate_clip(tmp / f"clip-{n}.mp4", seconds=4, seed=n) for n in range(args.clips)]
        err.print(f"processing {args.clips} clips with 1 worker, then with 2")
        one = clips_per_minute(cluster, token, clips, 1)
        two = clips_per_minute(cluster, token, clips, 2)

        for name in WORKERS:
            cluster.stop(name)
        source = tmp / "big.mp4"
        with source.open("wb") as out:
            out.write(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2")
            for _ in range(args.upload_mb):
                out.write(os.urandom(MB))
        with httpx.Client(base_url=cluster.url, timeout=60) as http:
            metadata = donation_metadata(http, token, filename="big.mp4")
        err.print(f"uploading {args.upload_mb} MB through nginx, then straight to server-1")
        through_nginx = upload_mb_per_s(cluster.url, token, source, metadata)
        direct = upload_mb_per_s(cluster.server_urls[0], token, source, metadata)
    finally:
        cluster.down()
        shutil.rmtree(tmp, ignore_errors=True)

    print(
        f"cluster: processing {one:.1f} clips/min with 1 worker, {two:.1f} with 2 "
        f"(ratio {two / one:.2f}; {args.clips} clips of 4 s 320x240, redaction on); "
        f"upload through nginx {through_nginx:.1f} MB/s, direct to a server "
        f"{direct:.1f} MB/s (ratio {through_nginx / direct:.2f}; {args.upload_mb} MB, "
        "8 MiB chunks); 2 cores run every process"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
