"""The one-machine cluster (vidonate.ops.cluster): a donation through nginx, processed by a
worker process, with both servers taking requests; a dead server skipped; `down` ends all.

The cluster is started once for the module, in a private directory under /tmp (the
`postgres` account, which PostgreSQL runs as under root, cannot enter pytest's tmp dirs).
Without nginx or PostgreSQL's server binaries the tests skip, unless
VIDONATE_REQUIRE_CLUSTER=1 says they must run.
"""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest
from cluster_kit import (
    donation_metadata,
    donor_token,
    small_clip,
    upstreams,
    vidonate,
    wait_for_status,
)

from tus_helpers import auth, upload
from vidonate.ops.cluster import Cluster

pytestmark = [pytest.mark.slow, pytest.mark.cluster, pytest.mark.timeout(600)]


def test_a_donation_through_nginx_is_processed_by_a_worker(
    cluster: Cluster, tmp_path: Path
) -> None:
    token = donor_token(cluster)
    with httpx.Client(base_url=cluster.url, timeout=60) as http:
        metadata = donation_metadata(http, token)
        location = upload(http, token, small_clip(tmp_path / "clip.mp4"), metadata)
        assert location.startswith(cluster.url), "tus Location names the public URL"
        donation_id = int(http.head(location, headers=auth(token)).headers["Vidonate-Donation-Id"])
        donation = wait_for_status(http, token, donation_id)
        assert donation["status"] == "in_review", donation

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


def test_the_demo_loop_runs_against_the_cluster(cluster: Cluster, tmp_path: Path) -> None:
    """`vidonate demo --cluster`: donors upload through nginx, the cluster's workers
    process, reviewers accept, the ledger pays: every clip accepted and paid."""
    done = vidonate(
        cluster, "demo", "--workdir", str(tmp_path / "demo"), "--cluster", str(cluster.root)
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "demo completed" in done.stdout
    assert f"against {cluster.url}" in done.stdout


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
