"""Faults on the real cluster (2 servers behind nginx, 2 workers, PostgreSQL, SeaweedFS,
Redis): a worker or a server killed mid-work, the blob store stopped, the database
restarted. Each time the work completes, nothing is lost, and `vidonate fsck` finds the
store and the database in agreement.

The job lease is 4 s here (cluster_kit.FAULT_SETTINGS), so a killed worker's job comes
back within seconds.
"""

from __future__ import annotations

import hashlib
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest
from cluster_kit import (
    FAULT_SETTINGS,
    bearer,
    donation_metadata,
    donor_token,
    fsck,
    small_clip,
    wait_for_status,
)

from jobs.processes import children
from tus_helpers import auth, upload
from vidonate.client import Api
from vidonate.ingest.samples import generate_clip
from vidonate.ops.cluster import WORKERS, Cluster

pytestmark = [pytest.mark.slow, pytest.mark.cluster, pytest.mark.timeout(900)]
CLUSTER_SETTINGS = FAULT_SETTINGS
CHUNK = 16 * 1024  # small, so that a fault lands between PATCHes of a small clip


def _donation_id(http: httpx.Client, token: str, location: str) -> int:
    return int(http.head(location, headers=auth(token)).headers["Vidonate-Donation-Id"])


def _worker_running_media(cluster: Cluster, within_s: float = 120) -> str:
    """The worker whose media child (the sandbox decoding a clip) runs: it is mid-job."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        for name in WORKERS:
            pid = cluster.procs[name].pid
            if pid is not None and cluster.running(name) and children(pid):
                return name
        time.sleep(0.05)
    raise AssertionError("no worker started processing the clip")


def test_a_worker_killed_mid_job_has_its_job_redone_by_the_other(
    cluster: Cluster, tmp_path: Path
) -> None:
    token = donor_token(cluster)
    # Long enough to process for seconds: the kill lands mid-job.
    clip = generate_clip(tmp_path / "long.mp4", seconds=8, width=480, height=270)
    with httpx.Client(base_url=cluster.url, timeout=60) as http:
        location = upload(http, token, clip.read_bytes(), donation_metadata(http, token))
        donation_id = _donation_id(http, token, location)
        victim = _worker_running_media(cluster)
        cluster.kill(victim, signal.SIGKILL)
        try:
            donation = wait_for_status(http, token, donation_id, within_s=300)
        finally:
            cluster.start(victim)
    assert donation["status"] == "in_review", donation
    assert donation["source_sha256"] == hashlib.sha256(clip.read_bytes()).hexdigest()
    fsck(cluster)


def test_a_server_killed_mid_upload_is_left_behind_and_the_upload_resumes(
    cluster: Cluster, tmp_path: Path
) -> None:
    """The client (tuspy inside `vidonate donate`'s Api.upload) goes on through nginx,
    which sends it to the live server, from the offset the server holds."""
    token = donor_token(cluster)
    clip = generate_clip(tmp_path / "clip.mp4", seconds=6)
    with httpx.Client(base_url=cluster.url, timeout=60) as http:
        metadata = donation_metadata(http, token)
    killed: list[str] = []

    def kill_a_server_a_third_in(done: int, total: int) -> None:
        if not killed and done >= total // 3:
            cluster.kill("server-1", signal.SIGKILL)
            killed.append("server-1")

    api = Api(cluster.url, token)
    try:
        uploaded = api.upload(
            clip, metadata, chunk_size=CHUNK, on_progress=kill_a_server_a_third_in
        )
    finally:
        api.close()
        cluster.start("server-1")
    assert killed == ["server-1"]
    assert uploaded.donation_id is not None
    with httpx.Client(base_url=cluster.url, timeout=60) as http:
        donation = wait_for_status(http, token, uploaded.donation_id)
    assert donation["status"] == "in_review", donation
    assert donation["source_sha256"] == hashlib.sha256(clip.read_bytes()).hexdigest()
    fsck(cluster)


def test_the_blob_store_stopped_for_ten_seconds_delays_uploads_and_jobs_loses_nothing(
    cluster: Cluster, tmp_path: Path
) -> None:
    token = donor_token(cluster)
    with httpx.Client(base_url=cluster.url, timeout=60) as http:
        metadata = donation_metadata(http, token)
        # A clip uploaded whose job runs into the outage...
        queued = _donation_id(
            http, token, upload(http, token, small_clip(tmp_path / "a.mp4", seed=1), metadata)
        )
    clip = generate_clip(tmp_path / "b.mp4", seconds=6)
    outage = threading.Event()

    def stop_the_store_a_third_in(done: int, total: int) -> None:
        if not outage.is_set() and done >= total // 3:
            outage.set()
            cluster.stop("seaweed")
            threading.Timer(10, cluster.start, args=("seaweed",)).start()

    api = Api(cluster.url, token)
    try:
        # ...and one upload cut by it: its PATCHes answer 503 until the store is back.
        uploaded = api.upload(
            clip, metadata, chunk_size=CHUNK, on_progress=stop_the_store_a_third_in
        )
    finally:
        api.close()
    assert outage.is_set() and uploaded.donation_id is not None
    deadline = time.monotonic() + 30
    while not cluster.running("seaweed") and time.monotonic() < deadline:
        time.sleep(0.5)
    with httpx.Client(base_url=cluster.url, timeout=60) as http:
        for donation_id in (queued, uploaded.donation_id):
            donation = wait_for_status(http, token, donation_id, within_s=300)
            assert donation["status"] == "in_review", donation
        second = http.get(f"/api/v1/donations/{uploaded.donation_id}", headers=bearer(token))
    assert second.json()["source_sha256"] == hashlib.sha256(clip.read_bytes()).hexdigest()
    fsck(cluster)


def test_postgresql_restarted_servers_and_workers_reconnect_by_themselves(
    cluster: Cluster, tmp_path: Path
) -> None:
    token = donor_token(cluster)
    cluster.stop("postgres")
    cluster.start("postgres")
    with httpx.Client(base_url=cluster.url, timeout=60) as http:
        # The first request after the restart may meet a dead pooled connection: the
        # pool checks before use, so none of these fails.
        codes = [
            http.get("/api/v1/donations", headers=bearer(token)).status_code for _ in range(10)
        ]
        assert codes == [200] * 10
        location = upload(
            http, token, small_clip(tmp_path / "c.mp4", seed=3), donation_metadata(http, token)
        )
        donation = wait_for_status(http, token, _donation_id(http, token, location))
    assert donation["status"] == "in_review", "a worker took the new job after the restart"
    assert all(cluster.status().values()), cluster.status()
    fsck(cluster)
