"""A worker killed with kill -9 mid-job: its media child dies with it, and the plaintext it
left is swept at the next start-up."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from fastapi.testclient import TestClient
from processes import alive, children, start_worker, wait_for

from tus_helpers import upload
from vidonate.config import Settings
from vidonate.db.engine import transaction
from vidonate.db.models import Donation
from vidonate.ingest.samples import generate_clip
from vidonate.runtime import Runtime
from world import World


def _files_holding(needle: bytes, *roots: Path) -> list[Path]:
    found = []
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and needle in path.read_bytes():
                found.append(path)
    return found


def test_a_worker_killed_mid_job_leaves_no_plaintext_and_no_decoder_running(
    client: TestClient, world: World, settings: Settings, tmp_path: Path
) -> None:
    clip = generate_clip(tmp_path / "long.mp4", seconds=12, width=320, height=240)
    original = clip.read_bytes()
    needle = original[len(original) // 2 : len(original) // 2 + 64]
    clip.unlink()
    upload(client, world.tokens["alice"], original, world.metadata())
    worker_tmp = tmp_path / "worker-tmp"
    worker = start_worker(settings, worker_tmp)
    try:
        decoder = wait_for(lambda: children(worker.pid), "the media child to start")
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    (child,) = decoder  # type: ignore[misc]
    # Only the scratch space ever held the decrypted original: it is there now.
    var = settings.var_dir
    assert _files_holding(needle, var / "scratch"), "the test killed it mid-job"

    wait_for(lambda: not alive(child), "the media child to die with its parent", 10)
    restarted = Runtime.from_settings(settings)
    try:
        restarted.start()  # start-up sweeps what dead processes left
        everywhere = [p for p in var.iterdir() if p.name != "blobs"] + [worker_tmp]
        assert _files_holding(needle, *everywhere) == []
        assert _files_holding(needle, var / "blobs") == [], "the store holds ciphertext only"
        live = {world.rt.scratch.own.name, restarted.scratch.own.name}
        assert set(os.listdir(var / "scratch")) == live | {f"{name}.lock" for name in live}
    finally:
        restarted.close()
    with transaction(world.rt.sessions) as s:
        assert s.query(Donation).one().status == "processing", "its job is still to be redone"
