"""Upload throughput: tus over loopback against ``cp`` of the same file.

What it measures, all in one run so the numbers compare on a noisy machine:

* ``cp``: the real ``cp SRC DST`` of the file, once before and once after the uploads;
  the summary uses the mean of the two (both are shown).
* tus: the project's own client, ``vidonate.client.Api.upload`` (tuspy, fixed-size chunks,
  an sha256 ``Upload-Checksum`` on each PATCH), timed end to end: creation plus every PATCH.
* single PATCH: one tus creation POST and then one streaming PATCH of the whole file with
  httpx (1 MiB reads, no checksum). It shows what the protocol and the server cost without
  tuspy reading each chunk into memory and hashing it.

The server is ``vidonate serve`` in its own process (so client and server do not share a
GIL) on a fresh SQLite database and blob directory in a temporary directory under /tmp, with
the background workers off (``VIDONATE_WORKER_THREADS=0``) so no processing runs meanwhile.
``os.sync()`` runs before each timed step; page caches are not dropped (that needs root).
After each upload the stored parts are checked: their sizes must add up to the file's size
and their bytes, in offset order, must hash to the file's sha256; otherwise it exits 1.

MB is 10^6 bytes (``--size-mb 500`` is 500,000,000 bytes); chunk sizes are in MiB, like the
CLI's default ``vidonate.client.CHUNK_SIZE``.

Progress goes to stderr; stdout gets exactly one summary line. Run it with ``make bench``,
which runs ``.venv/bin/python bench/upload.py``, or with options::

    .venv/bin/python bench/upload.py --size-mb 50 --chunk-mb 8 --keep
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console

from vidonate.client import CHUNK_SIZE, Api

MB = 10**6
MIB = 1024**2
BLOCK = 4 * MIB
STREAM_READ = MIB
CAMPAIGN = "porch-and-car-2026"
CATEGORY = "package_theft"

err = Console(stderr=True, highlight=False)


@dataclass(frozen=True)
class Donor:
    token: str
    camera_id: int
    consent_sha256: str


@dataclass(frozen=True)
class Stored:
    parts: int
    size: int
    sha256: str


def mb_per_s(size: int, seconds: float) -> float:
    return size / MB / seconds


# An MP4 file-type box: the server refuses files that start like no video container.
# The rest is random bytes; the bench never processes what it uploads.
MP4_HEAD = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"


def make_source(path: Path, size: int) -> str:
    """Write ``size`` bytes (an MP4 type box, then random) to ``path``; returns their sha256."""
    digest = hashlib.sha256()
    left = size
    with path.open("wb") as f:
        first = True
        while left > 0:
            block = os.urandom(min(BLOCK, left))
            if first:
                block, first = MP4_HEAD + block[len(MP4_HEAD) :], False
            f.write(block)
            digest.update(block)
            left -= len(block)
    return digest.hexdigest()


def time_cp(src: Path, dst: Path) -> float:
    """Seconds for ``cp src dst``; the copy is removed afterwards."""
    os.sync()
    start = time.perf_counter()
    subprocess.run(["cp", str(src), str(dst)], check=True)
    seconds = time.perf_counter() - start
    dst.unlink()
    return seconds


def bench_env(var_dir: Path, size: int) -> dict[str, str]:
    """The environment of the server and of this process: ours, without foreign VIDONATE_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDONATE_")}
    env.update(
        VIDONATE_VAR_DIR=str(var_dir),
        VIDONATE_WORKER_THREADS="0",
        VIDONATE_TUS_MAX_SIZE=str(2 * size),
        # Two finished uploads of the file stay "received" (no worker), so both count.
        VIDONATE_DONOR_QUOTA_BYTES=str(4 * size + 2**30),
    )
    return env


def set_up_donor() -> Donor:
    """Migrate and seed the database, then make a donor, a token and a camera directly."""
    from vidonate.accounts.cameras import add_camera
    from vidonate.accounts.users import create_user, issue_token
    from vidonate.campaigns.service import consent_in_force, get_campaign
    from vidonate.config import Settings
    from vidonate.db.engine import transaction
    from vidonate.server import prepare

    rt = prepare(Settings()).runtime
    try:
        with transaction(rt.sessions) as session:
            donor = create_user(session, "bench", "bench-password", ["donor"])
            token = issue_token(session, donor, name="bench")
            camera = add_camera(session, donor, "bench cam", "porch")
            campaign = get_campaign(session, CAMPAIGN)
            consent = consent_in_force(session, campaign).content_sha256
            return Donor(token, camera.id, consent)
    finally:
        rt.close()


def start_server(port: int, env: dict[str, str], log: Path, *extra: str) -> subprocess.Popen[bytes]:
    """``vidonate serve`` on a loopback port (``extra``: more options, e.g. --no-worker)."""
    vidonate = Path(sys.executable).with_name("vidonate")
    command = [str(vidonate), "serve", "--host", "127.0.0.1", "--port", str(port), *extra]
    with log.open("wb") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)


def wait_until_up(server: subprocess.Popen[bytes], url: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited ({server.returncode}):\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/openapi.json", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"the server did not answer in {timeout:.0f} s:\n{log.read_text()}")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def metadata_for(donor: Donor, filename: str) -> dict[str, str]:
    return {
        "campaign": CAMPAIGN,
        "category": CATEGORY,
        "camera": str(donor.camera_id),
        "consent": donor.consent_sha256,
        "filename": filename,
    }


def time_tus(url: str, donor: Donor, src: Path, chunk_size: int) -> tuple[float, str]:
    """Seconds for ``Api.upload`` (creation and every PATCH); returns them and the upload id."""
    api = Api(url, donor.token)
    try:
        os.sync()
        start = time.perf_counter()
        location = api.upload(src, metadata_for(donor, "bench.bin"), chunk_size=chunk_size)
        seconds = time.perf_counter() - start
    finally:
        api.close()
    return seconds, location.rstrip("/").rsplit("/", 1)[-1]


def _file_body(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(STREAM_READ):
            yield chunk


def time_single_patch(url: str, donor: Donor, src: Path, size: int) -> tuple[float, str]:
    """Seconds for a tus creation POST plus one streaming PATCH of the whole file."""
    encoded = ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}"
        for key, value in metadata_for(donor, "bench-single.bin").items()
    )
    tus_headers = {"Tus-Resumable": "1.0.0", "Authorization": f"Bearer {donor.token}"}
    timeout = httpx.Timeout(30, read=600)
    with httpx.Client(base_url=f"{url}/api/v1", headers=tus_headers, timeout=timeout) as http:
        os.sync()
        start = time.perf_counter()
        created = http.post(
            "/uploads", headers={"Upload-Length": str(size), "Upload-Metadata": encoded}
        )
        if created.status_code != 201:
            raise SystemExit(f"tus creation failed: {created.status_code} {created.text}")
        location = created.headers["Location"]
        patched = http.patch(
            location,
            headers={
                "Content-Type": "application/offset+octet-stream",
                "Upload-Offset": "0",
                # With a length httpx sends the stream as is, not chunked.
                "Content-Length": str(size),
            },
            content=_file_body(src),
        )
        seconds = time.perf_counter() - start
    if patched.status_code != 204 or patched.headers.get("Upload-Offset") != str(size):
        raise SystemExit(f"the PATCH failed: {patched.status_code} {patched.text}")
    return seconds, location.rstrip("/").rsplit("/", 1)[-1]


def stored_upload(var_dir: Path, upload_id: str) -> Stored:
    """The parts of one upload in the blob directory, in offset (= name) order."""
    folder = var_dir / "blobs" / "uploads" / upload_id
    parts = sorted(p for p in folder.iterdir() if p.is_file() and ".part-" not in p.name)
    digest = hashlib.sha256()
    size = 0
    for part in parts:
        with part.open("rb") as f:
            while block := f.read(BLOCK):
                digest.update(block)
                size += len(block)
    return Stored(len(parts), size, digest.hexdigest())


def verify(name: str, stored: Stored, size: int, sha256: str) -> None:
    if stored.size != size or stored.sha256 != sha256:
        err.print(
            f"[red]FAIL[/] {name}: the {stored.parts} stored parts hold {stored.size} bytes "
            f"with sha256 {stored.sha256}; the source has {size} bytes, sha256 {sha256}"
        )
        raise SystemExit(1)
    err.print(f"  verified: {stored.parts} parts, {stored.size} bytes, sha256 matches")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=500, help="file size in MB (10^6 B)")
    parser.add_argument(
        "--chunk-mb",
        "--chunk-mib",
        dest="chunk_mib",
        type=float,
        default=CHUNK_SIZE / MIB,
        help="tus chunk size in MiB, like the CLI's (default %(default)g)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    size = args.size_mb * MB
    chunk_size = int(args.chunk_mib * MIB)
    if size <= 0 or chunk_size <= 0:
        parser.error("sizes must be positive")

    tmp = Path(tempfile.mkdtemp(prefix="vidonate-bench-", dir="/tmp"))
    var_dir = tmp / "var"
    src, dst = tmp / "source.bin", tmp / "copy.bin"
    log = tmp / "server.log"
    server: subprocess.Popen[bytes] | None = None
    try:
        err.print(f"bench in {tmp}")
        err.print(f"writing {args.size_mb} MB of random bytes")
        sha256 = make_source(src, size)

        env = bench_env(var_dir, size)
        os.environ.clear()
        os.environ.update(env)  # the same settings here as in the server
        donor = set_up_donor()

        from vidonate.server import free_port

        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = start_server(port, env, log)
        wait_until_up(server, url, log, timeout=60)
        err.print(f"server up at {url} (log: {log})")

        cp_before = time_cp(src, dst)
        err.print(f"cp (before):   {cp_before:7.2f} s  {mb_per_s(size, cp_before):8.1f} MB/s")

        tus_s, tus_id = time_tus(url, donor, src, chunk_size)
        err.print(f"tus (tuspy):   {tus_s:7.2f} s  {mb_per_s(size, tus_s):8.1f} MB/s")
        verify("tus", stored_upload(var_dir, tus_id), size, sha256)

        single_s, single_id = time_single_patch(url, donor, src, size)
        err.print(f"single PATCH:  {single_s:7.2f} s  {mb_per_s(size, single_s):8.1f} MB/s")
        verify("single PATCH", stored_upload(var_dir, single_id), size, sha256)

        cp_after = time_cp(src, dst)
        err.print(f"cp (after):    {cp_after:7.2f} s  {mb_per_s(size, cp_after):8.1f} MB/s")
    finally:
        if server is not None:
            stop_server(server)
        if args.keep:
            err.print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    cp_rates = (mb_per_s(size, cp_before), mb_per_s(size, cp_after))
    cp_rate = sum(cp_rates) / 2
    tus_rate, single_rate = mb_per_s(size, tus_s), mb_per_s(size, single_s)
    print(
        f"upload: tus (tuspy, {args.chunk_mib:g} MiB chunks, sha256) {tus_rate:.1f} MB/s, "
        f"single PATCH {single_rate:.1f} MB/s, cp {cp_rate:.1f} MB/s "
        f"(before {cp_rates[0]:.1f}, after {cp_rates[1]:.1f}); "
        f"ratio tus/cp {tus_rate / cp_rate:.2f}, single/cp {single_rate / cp_rate:.2f} "
        f"({args.size_mb} MB over loopback, MB = 10^6 B)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
