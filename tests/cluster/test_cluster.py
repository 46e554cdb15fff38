"""The one-machine cluster (vidonate.ops.cluster): a donation through nginx, processed by a
worker process, with both servers taking requests; a dead server skipped; `down` ends all.

The cluster is started once for the module, in a private directory under /tmp (the
`postgres` account, which PostgreSQL runs as under root, cannot enter pytest's tmp dirs).
Without nginx or PostgreSQL's server binaries the tests skip, unless
VIDONATE_REQUIRE_CLUSTER=1 says they must run.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from tus_helpers import auth, upload
from vidonate.client import Api
from vidonate.ingest.samples import write_clip
from vidonate.ops.cluster import Cluster, missing_binaries
from vidonate.seed import DEMO_SLUG

pytestmark = [pytest.mark.slow, pytest.mark.cluster, pytest.mark.timeout(600)]
SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    missing = missing_binaries()
    if missing:
        reason = f"the cluster needs {', '.join(missing)}"
        if os.environ.get("VIDONATE_REQUIRE_CLUSTER") == "1":
            pytest.fail(f"{reason} (VIDONATE_REQUIRE_CLUSTER=1)")
        pytest.skip(reason)
    root = Path(tempfile.mkdtemp(prefix="vidonate-cluster-"))
    root.chmod(0o711)  # entered (not listed) by the `postgres` account under root
    started = Cluster(root / "cluster")
    try:
        started.up()
        yield started
    finally:
        started.down()  # stops only the processes its cluster.json records
        shutil.rmtree(root, ignore_errors=True)


def vidonate(cluster: Cluster, *args: str) -> subprocess.CompletedProcess[str]:
    """The ``vidonate`` CLI with the cluster's environment (and no other VIDONATE_ one)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDONATE_")}
    env.update(cluster.env(), PYTHONPATH=str(SRC))
    return subprocess.run(
        [sys.executable, "-m", "vidonate.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def donor_token(cluster: Cluster) -> str:
    """A new donor account (made by the CLI in the cluster's database), signed in
    through nginx."""
    username = "donor-" + secrets.token_hex(4)
    password = secrets.token_urlsafe(12)
    made = vidonate(cluster, "user", "create", username, "--role", "donor", "--password", password)
    assert made.returncode == 0, made.stdout + made.stderr
    api = Api(cluster.url)
    try:
        return api.login(username, password)
    finally:
        api.close()


def small_clip(path: Path) -> bytes:
    """Two seconds of a moving gradient: a real H.264 clip, quick to process."""
    ramp = np.linspace(0, 255, 160, dtype=np.uint8)
    frames = [np.dstack([np.roll(np.tile(ramp, (120, 1)), 4 * i, axis=1)] * 3) for i in range(20)]
    write_clip(path, frames, fps=10)
    return path.read_bytes()


def upstreams(cluster: Cluster) -> set[str]:
    """The servers nginx passed requests to, from its access log."""
    log = (cluster.root / "nginx" / "logs" / "access.log").read_text()
    return set(re.findall(r"upstream=(\S+)", log))


def test_a_donation_through_nginx_is_processed_by_a_worker(
    cluster: Cluster, tmp_path: Path
) -> None:
    token = donor_token(cluster)
    with httpx.Client(base_url=cluster.url, timeout=60) as http:
        headers = {"Authorization": f"Bearer {token}"}
        camera = http.post(
            "/api/v1/cameras", json={"label": "porch", "placement": "porch"}, headers=headers
        )
        assert camera.status_code == 201, camera.text
        campaign = http.get(f"/api/v1/campaigns/{DEMO_SLUG}", headers=headers).json()
        metadata = {
            "campaign": DEMO_SLUG,
            "category": "package_theft",
            "camera": str(camera.json()["id"]),
            "consent": campaign["consent"]["content_sha256"],
            "filename": "clip.mp4",
        }
        location = upload(http, token, small_clip(tmp_path / "clip.mp4"), metadata)
        assert location.startswith(cluster.url), "tus Location names the public URL"
        donation_id = int(http.head(location, headers=auth(token)).headers["Vidonate-Donation-Id"])

        deadline = time.monotonic() + 240
        status = ""
        while time.monotonic() < deadline:
            donation = http.get(f"/api/v1/donations/{donation_id}", headers=headers).json()
            status = donation["status"]
            if status not in ("uploading", "received", "processing"):
                break
            time.sleep(0.5)
        assert status == "in_review", donation

    served = upstreams(cluster)
    assert {url.removeprefix("http://") for url in cluster.server_urls} <= served, served


def test_nginx_skips_a_dead_server(cluster: Cluster) -> None:
    cluster.kill("server-2", signal.SIGKILL)
    assert not cluster.running("server-2")
    try:
        with httpx.Client(base_url=cluster.url, timeout=30) as http:
            answers = [http.get("/openapi.json").status_code for _ in range(8)]
        assert answers == [200] * 8
    finally:
        cluster.start("server-2")
    assert cluster.running("server-2")


def _sessions_alive(leaders: set[int]) -> list[str]:
    """Live processes (zombies aside) in a session one of ``leaders`` started: each part
    of the cluster leads its own, so this finds PostgreSQL's backends, nginx's workers
    and media children as well."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if fields[0] not in ("Z", "X") and int(fields[3]) in leaders:
            found.append(f"{entry.name}: {(entry / 'cmdline').read_bytes()[:120]!r}")
    return found


def test_cluster_down_leaves_no_process_running(cluster: Cluster) -> None:
    # Last in the module: it stops the module's cluster, from another process.
    leaders = {proc.pid for proc in cluster.procs.values() if proc.pid}
    assert len(leaders) == len(cluster.procs)
    assert _sessions_alive(leaders), "the cluster runs before"
    done = vidonate(cluster, "cluster", "down", "--root", str(cluster.root))
    assert done.returncode == 0, done.stdout + done.stderr
    assert not any(cluster.status().values()), cluster.status()  # reaps our children too
    assert _sessions_alive(leaders) == []
