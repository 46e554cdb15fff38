"""What the cluster tests share: starting a cluster for a module, the CLI against it,
donors, reviewers and clips, and watching donations through nginx."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from vidonate.client import Api
from vidonate.ingest.samples import write_clip
from vidonate.ops.cluster import Cluster, missing_binaries
from vidonate.seed import DEMO_SLUG

SRC = Path(__file__).resolve().parents[2] / "src"
# A dead worker's job is given back once its heartbeat is this old: seconds, not a minute.
FAULT_SETTINGS = {"VIDONATE_JOB_LEASE_SECONDS": "4"}


def start_cluster(settings: dict[str, str] | None = None) -> Iterator[Cluster]:
    """A cluster up for a module, in a private directory under /tmp (the `postgres`
    account, which PostgreSQL runs as under root, cannot enter pytest's tmp dirs); down
    and removed after it. Without nginx or PostgreSQL's server binaries: a skip, unless
    VIDONATE_REQUIRE_CLUSTER=1 says it must run."""
    missing = missing_binaries()
    if missing:
        reason = f"the cluster needs {', '.join(missing)}"
        if os.environ.get("VIDONATE_REQUIRE_CLUSTER") == "1":
            pytest.fail(f"{reason} (VIDONATE_REQUIRE_CLUSTER=1)")
        pytest.skip(reason)
    root = Path(tempfile.mkdtemp(prefix="vidonate-cluster-"))
    root.chmod(0o711)  # entered (not listed) by the `postgres` account under root
    started = Cluster(root / "cluster", settings=settings)
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
        timeout=300,
    )


def admin_token(cluster: Cluster) -> str:
    assert cluster.admin_password is not None
    api = Api(cluster.url)
    try:
        return api.login("admin", cluster.admin_password)
    finally:
        api.close()


def new_user(cluster: Cluster, role: str = "donor", admin: str | None = None) -> str:
    """A new account with `role`, made through the admin API (or, without an admin
    token, the CLI), signed in through nginx; its token."""
    username = f"{role}-" + secrets.token_hex(4)
    password = secrets.token_urlsafe(12)
    if admin is None:
        made = vidonate(cluster, "user", "create", username, "--role", role, "--password", password)
        assert made.returncode == 0, made.stdout + made.stderr
    else:
        body = {"username": username, "password": password, "roles": [role]}
        with httpx.Client(base_url=cluster.url, timeout=60) as http:
            answer = http.post("/api/v1/users", json=body, headers=bearer(admin))
            assert answer.status_code == 201, answer.text
    api = Api(cluster.url)
    try:
        return api.login(username, password)
    finally:
        api.close()


def donor_token(cluster: Cluster) -> str:
    return new_user(cluster, "donor")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def donation_metadata(
    http: httpx.Client, token: str, filename: str = "clip.mp4", campaign: str = DEMO_SLUG
) -> dict[str, str]:
    """Metadata for a donation to `campaign` (the demo's) from a new camera of the donor's."""
    camera = http.post(
        "/api/v1/cameras",
        json={"label": f"porch {secrets.token_hex(3)}", "placement": "porch"},
        headers=bearer(token),
    )
    assert camera.status_code == 201, camera.text
    terms = http.get(f"/api/v1/campaigns/{campaign}", headers=bearer(token)).json()
    return {
        "campaign": campaign,
        "category": "package_theft",
        "camera": str(camera.json()["id"]),
        "consent": terms["consent"]["content_sha256"],
        "filename": filename,
    }


def small_clip(path: Path, seed: int = 0) -> bytes:
    """Two seconds of a moving gradient: a real H.264 clip, quick to process. Clips of
    other seeds differ in every frame, so dedupe never takes one for another."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 255, 160, dtype=np.uint8)
    noise = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    frames = [
        np.dstack([np.roll(np.tile(ramp, (120, 1)), 4 * i, axis=1)] * 3) // 2 + noise // 2
        for i in range(20)
    ]
    write_clip(path, frames, fps=10)
    return path.read_bytes()


def wait_for_status(
    http: httpx.Client, token: str, donation_id: int, within_s: float = 240
) -> dict[str, Any]:
    """The donation once it left uploading/received/processing (or at the deadline)."""
    deadline = time.monotonic() + within_s
    while True:
        donation: dict[str, Any] = http.get(
            f"/api/v1/donations/{donation_id}", headers=bearer(token)
        ).json()
        if donation["status"] not in ("uploading", "received", "processing"):
            return donation
        if time.monotonic() > deadline:
            return donation
        time.sleep(0.5)


def upstreams(cluster: Cluster) -> set[str]:
    """The servers nginx passed requests to, from its access log."""
    log = (cluster.root / "nginx" / "logs" / "access.log").read_text()
    return set(re.findall(r"upstream=(\S+)", log))


def fsck(cluster: Cluster) -> str:
    """`vidonate fsck` against the cluster: asserts it found nothing; its output."""
    done = vidonate(cluster, "fsck")
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout
