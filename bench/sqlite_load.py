"""Read latency on SQLite under load: pages and API reads during an upload and a job.

Each run starts a real server (``vidonate serve`` in its own process, so it shares no GIL
with the clients; the in-process job worker on) on a fresh SQLite database and blob
directory in a temporary directory, with the test world (``tests/world.py``: a campaign,
two donors, two reviewers) and a few processed clips. Then, at once:

* one upload of ``--size-mb`` MB (default 500) through the tus API: 8 MiB PATCHes of an
  MP4 file-type box and random bytes (processing refuses it later; that does not matter);
* one processing job: a generated clip (``vidonate.ingest.samples``), redaction on;
* 200 reads from 10 concurrent clients, a mix of pages (``/``, ``/donations``,
  ``/transparency``, ...) and API GETs (``/api/v1/donations``, ``/api/v1/transparency``,
  ...), each timed from request to the last byte of its answer.

First the same reads run with nothing else going on: their latency is the floor that
ten clients queueing for one server on this machine give, which no lock change can lower.
The loaded reads start once the upload has sent its first chunks and the job is running; the
upload is cancelled when they are done (the bench measures reads, not the upload), and the
summary says whether the upload and the job were still running when the last read ended.

It runs three times in one process: with the old path (the setting
``sqlite_reads_take_write_lock``: every read begins IMMEDIATE, queueing behind writers and
behind each other, as before the change) and with the new one (reads begin DEFERRED and
never wait for the write lock), each on one server that also runs the jobs (the embedded
default, ``make run``); then the new path split as a deployment runs it on this 2-core
machine: two ``vidonate serve --no-worker`` processes, the clients spread over them as a
load balancer would, and one ``vidonate worker`` for the job. The upload goes to the
first server. Progress goes to stderr; stdout gets exactly one line.

    .venv/bin/python bench/sqlite_load.py            # 500 MB
    .venv/bin/python bench/sqlite_load.py --size-mb 50
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from upload import start_server, stop_server, wait_until_up  # bench/upload.py

from vidonate.config import Settings
from vidonate.db.migrate import upgrade
from vidonate.ingest.samples import generate_clip
from vidonate.runtime import Runtime
from vidonate.server import free_port
from vidonate.web.headers import DONATION_HEADER
from world import World, build_world

MB = 10**6
CHUNK = 8 * 1024**2
READS = 200
CLIENTS = 10
PROCESSED_CLIPS = 2
TARGET_P95_MS = 100.0
SPLIT_SERVERS = 2  # one per core of the machine the issue names
TUS = {"Tus-Resumable": "1.0.0"}
SECRET_KEY = "bench-secret-key-bench-secret-key"
# An MP4 file-type box: the server refuses files that start like no video container.
MP4_HEAD = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
PATHS = (
    "/",
    "/donations",
    "/transparency",
    "/leaderboard",
    "/api/v1/donations",
    "/api/v1/transparency",
    "/api/v1/campaigns",
    "/api/v1/balance",
    "/api/v1/me",
    "/api/v1/stats/redaction",
)

err = Console(stderr=True, highlight=False)


def _quantile(latencies_ms: list[float], q: int) -> float:
    """The q-th percentile."""
    return statistics.quantiles(latencies_ms, n=100, method="inclusive")[q - 1]


@dataclass(frozen=True)
class Run:
    latencies_ms: list[float]
    unloaded_ms: list[float]  # the same reads before the upload and the job began
    upload_running_at_end: bool
    job_running_at_end: bool

    def quantile(self, q: int) -> float:
        return _quantile(self.latencies_ms, q)

    def unloaded(self, q: int) -> float:
        return _quantile(self.unloaded_ms, q)


def _metadata(world: World, donor: str, filename: str) -> str:
    fields = {**world.metadata(donor), "filename": filename}
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in fields.items())


def _create(http: httpx.Client, world: World, donor: str, length: int, name: str) -> httpx.Response:
    headers = {
        **TUS,
        "Authorization": f"Bearer {world.tokens[donor]}",
        "Upload-Length": str(length),
        "Upload-Metadata": _metadata(world, donor, name),
    }
    created = http.post("/api/v1/uploads", headers=headers)
    if created.status_code != 201:
        raise SystemExit(f"sqlite_load: upload creation answered {created.status_code}")
    return created


def _patch(http: httpx.Client, token: str, location: str, offset: int, body: bytes) -> None:
    headers = {
        **TUS,
        "Authorization": f"Bearer {token}",
        "Upload-Offset": str(offset),
        "Content-Type": "application/offset+octet-stream",
    }
    answer = http.patch(location, headers=headers, content=body)
    if answer.status_code != 204:
        raise SystemExit(f"sqlite_load: a PATCH answered {answer.status_code}: {answer.text}")


def _donate(http: httpx.Client, world: World, donor: str, clip: bytes) -> int:
    """Upload ``clip`` whole; its donation's id (processing starts on the worker)."""
    created = _create(http, world, donor, len(clip), "clip.mp4")
    _patch(http, world.tokens[donor], created.headers["Location"], 0, clip)
    return int(created.headers[DONATION_HEADER])


def _status(http: httpx.Client, world: World, donor: str, donation_id: int) -> str:
    answer = http.get(
        f"/api/v1/donations/{donation_id}",
        headers={"Authorization": f"Bearer {world.tokens[donor]}"},
    )
    return str(answer.json()["status"])


def _wait_for(what: str, done: object, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise SystemExit(f"sqlite_load: timed out waiting for {what}")
        time.sleep(0.05)


class BigUpload(threading.Thread):
    """One upload of ``size`` bytes in 8 MiB PATCHes, until done or ``stop`` is set."""

    def __init__(self, base_url: str, world: World, size: int) -> None:
        super().__init__(name="bench-upload", daemon=True)
        self.base_url, self.world, self.size = base_url, world, size
        self.stop = threading.Event()
        self.sent = 0
        self.finished = False
        self.failure: BaseException | None = None

    def _chunks(self) -> Iterator[bytes]:
        block = os.urandom(CHUNK)
        first = MP4_HEAD + block[len(MP4_HEAD) :]
        offset = 0
        while offset < self.size:
            piece = (first if offset == 0 else block)[: self.size - offset]
            yield piece
            offset += len(piece)

    def run(self) -> None:
        try:
            with httpx.Client(base_url=self.base_url, timeout=120) as http:
                created = _create(http, self.world, "bob", self.size, "big.mp4")
                location = created.headers["Location"]
                for piece in self._chunks():
                    if self.stop.is_set():
                        http.delete(
                            location,
                            headers={**TUS, "Authorization": f"Bearer {self.world.tokens['bob']}"},
                        )
                        return
                    _patch(http, self.world.tokens["bob"], location, self.sent, piece)
                    self.sent += len(piece)
                self.finished = True
        except BaseException as exc:  # reported by the main thread
            self.failure = exc


def _reads(urls: list[str], token: str) -> list[float]:
    """READS reads from CLIENTS clients at once; each one's latency in ms. Client ``i``
    talks to server ``i mod len(urls)``, as a load balancer would spread them."""

    def client(index: int) -> list[float]:
        timings = []
        with httpx.Client(base_url=urls[index % len(urls)], timeout=120) as http:
            for n in range(READS // CLIENTS):
                path = PATHS[(index + n) % len(PATHS)]
                start = time.perf_counter()
                answer = http.get(path, headers={"Authorization": f"Bearer {token}"})
                timings.append((time.perf_counter() - start) * 1000)
                if answer.status_code != 200:
                    raise SystemExit(f"sqlite_load: GET {path} answered {answer.status_code}")
        return timings

    with ThreadPoolExecutor(CLIENTS) as pool:
        return [ms for timings in pool.map(client, range(CLIENTS)) for ms in timings]


def _one_at_a_time(http: httpx.Client, world: World, rounds: int = 10) -> str:
    """Each path's median latency with one client and nothing else running: what a read
    costs the server, before any queueing."""
    headers = {"Authorization": f"Bearer {world.tokens['alice']}"}
    medians = []
    for path in PATHS:
        timings = []
        for _ in range(rounds):
            start = time.perf_counter()
            http.get(path, headers=headers)
            timings.append((time.perf_counter() - start) * 1000)
        medians.append(f"{path} {statistics.median(timings):.1f} ms")
    return ", ".join(medians)


def _server_env(var_dir: Path, *, old_path: bool) -> dict[str, str]:
    """The server's environment: ours without foreign VIDONATE_*, plus the bench's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDONATE_")}
    env.update(
        VIDONATE_VAR_DIR=str(var_dir),
        VIDONATE_SECRET_KEY=SECRET_KEY,
        VIDONATE_WORKER_THREADS="1",
        VIDONATE_JOB_POLL_SECONDS="0.1",
        VIDONATE_RATE_LIMIT_REQUESTS_PER_MINUTE="0",
        VIDONATE_RATE_LIMIT_UPLOAD_CHUNKS_PER_MINUTE="0",
        VIDONATE_RATE_LIMIT_UPLOADS_PER_HOUR="0",
        VIDONATE_SQLITE_READS_TAKE_WRITE_LOCK="1" if old_path else "0",
    )
    return env


def _world(var_dir: Path) -> World:
    """Migrate a fresh database and build the test world in it (this process's runtime is
    closed again: the server is a process of its own)."""
    settings = Settings(var_dir=var_dir, secret_key=SECRET_KEY, worker_threads=0)
    upgrade(settings.database_url)
    rt = Runtime.from_settings(settings)
    try:
        return build_world(rt)
    finally:
        rt.close()


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    vidonate = Path(sys.executable).with_name("vidonate")
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(vidonate), "worker"], env=env, stdout=out, stderr=subprocess.STDOUT
        )


def run_once(
    workdir: Path, *, old_path: bool, servers: int, size: int, clip: bytes, job_clip: bytes
) -> Run:
    """One server that also runs the jobs (``servers=1``: the embedded default), or
    ``servers`` servers with ``--no-worker`` and one ``vidonate worker`` beside them."""
    layout = "1 server" if servers == 1 else f"{servers} servers + a worker"
    label = f"({'old' if old_path else 'new'} path, {layout})"
    var_dir = workdir / "var"
    world = _world(var_dir)
    env = _server_env(var_dir, old_path=old_path)
    urls: list[str] = []
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for index in range(servers):
            port = free_port()
            log = workdir / f"server{index}.log"
            extra = () if servers == 1 else ("--no-worker",)
            processes.append(start_server(port, env, log, *extra))
            urls.append(f"http://127.0.0.1:{port}")
            wait_until_up(processes[-1], urls[-1], log, timeout=60)
        if servers > 1:
            processes.append(_start_worker(env, workdir / "worker.log"))
        with httpx.Client(base_url=urls[0], timeout=120) as http:
            err.print(f"{label} {PROCESSED_CLIPS} clips through processing ...")
            ready = [_donate(http, world, "alice", clip) for _ in range(PROCESSED_CLIPS)]
            _wait_for(
                "the clips' processing",
                lambda: all(
                    _status(http, world, "alice", d) not in ("received", "processing")
                    for d in ready
                ),
            )
            alone = _one_at_a_time(http, world)
            err.print(f"{label} each path alone, nothing else running: {alone}")
            err.print(f"{label} {READS} reads from {CLIENTS} clients, nothing else running ...")
            unloaded = _reads(urls, world.tokens["alice"])
            upload = BigUpload(urls[0], world, size)
            upload.start()
            _wait_for(
                "the upload's first chunks", lambda: upload.sent >= 2 * CHUNK or upload.failure
            )
            job = _donate(http, world, "alice", job_clip)
            _wait_for(
                "the processing job", lambda: _status(http, world, "alice", job) != "received"
            )
            err.print(f"{label} {READS} reads from {CLIENTS} clients ...")
            latencies = _reads(urls, world.tokens["alice"])
            upload_running = upload.is_alive() and not upload.finished
            job_running = _status(http, world, "alice", job) == "processing"
            upload.stop.set()
            upload.join()
            if upload.failure is not None:
                raise SystemExit(f"sqlite_load: the upload failed: {upload.failure!r}")
    finally:
        for process in processes:
            stop_server(process)
    result = Run(latencies, unloaded, upload_running, job_running)
    err.print(
        f"{label} p50 {result.quantile(50):.1f} ms, p95 {result.quantile(95):.1f} ms, "
        f"max {max(latencies):.1f} ms (unloaded p50 {result.unloaded(50):.1f} ms, p95 "
        f"{result.unloaded(95):.1f} ms); upload running at the end: {upload_running}, "
        f"job running at the end: {job_running}"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=500, help="the upload's size in MB")
    args = parser.parse_args()
    size = args.size_mb * MB
    with tempfile.TemporaryDirectory(prefix="vidonate-bench-sqlite-") as tmp:
        root = Path(tmp)
        err.print("generating clips ...")
        clip = generate_clip(root / "clip.mp4", seconds=1.0).read_bytes()
        job_clip = generate_clip(root / "job.mp4", seconds=8.0).read_bytes()

        def run(name: str, *, old_path: bool, servers: int) -> Run:
            return run_once(
                root / name,
                old_path=old_path,
                servers=servers,
                size=size,
                clip=clip,
                job_clip=job_clip,
            )

        old = run("old", old_path=True, servers=1)
        new = run("new", old_path=False, servers=1)
        split = run("split", old_path=False, servers=SPLIT_SERVERS)
    runs = (old, new, split)
    during = (
        "during"
        if all(r.upload_running_at_end and r.job_running_at_end for r in runs)
        else "started during (not all still running at the end)"
    )

    def verdict(run: Run) -> str:
        return "met" if run.quantile(95) < TARGET_P95_MS else "MISSED"

    print(
        f"sqlite_load: 1 server: reads p50 {new.quantile(50):.1f} ms p95 "
        f"{new.quantile(95):.1f} ms (old path p50 {old.quantile(50):.1f} ms p95 "
        f"{old.quantile(95):.1f} ms, ratio {old.quantile(95) / new.quantile(95):.1f}), target "
        f"p95 < {TARGET_P95_MS:.0f} ms {verdict(new)}; {SPLIT_SERVERS} servers + a worker: "
        f"p50 {split.quantile(50):.1f} ms p95 {split.quantile(95):.1f} ms, target "
        f"{verdict(split)}; {READS} reads from {CLIENTS} clients {during} a {args.size_mb} MB "
        f"upload and a processing job; the same reads with nothing else running: p95 "
        f"{new.unloaded(95):.1f} ms (1 server), {split.unloaded(95):.1f} ms "
        f"({SPLIT_SERVERS} servers)"
    )


if __name__ == "__main__":
    main()
