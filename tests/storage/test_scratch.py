"""Scratch space: plaintext work files live only in registered directories, and those of
dead processes are swept while those of live ones are kept."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from vidonate.storage.scratch import ScratchSpace

_HOLDER = (
    "import sys; from pathlib import Path; from vidonate.storage.scratch import ScratchSpace; "
    "s = ScratchSpace(Path(sys.argv[1])); (s.own / 'source').write_bytes(b'plain'); "
    "print(s.own.name, flush=True); sys.stdin.read()"
)


def _holder(root: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def test_a_job_directory_is_private_and_gone_when_the_job_ends(tmp_path: Path) -> None:
    scratch = ScratchSpace(tmp_path / "scratch")
    with scratch.job_dir("donation-1") as workdir:
        (workdir / "source").write_bytes(b"plaintext")
        assert workdir.parent == scratch.own
        assert workdir.stat().st_mode & 0o077 == 0
    assert list(scratch.own.iterdir()) == []
    scratch.close()
    assert list((tmp_path / "scratch").iterdir()) == []


def test_sweep_removes_what_a_killed_process_left_and_keeps_a_live_ones(tmp_path: Path) -> None:
    root = tmp_path / "scratch"
    live, live_name = _holder(root)
    dead, dead_name = _holder(root)
    dead.send_signal(signal.SIGKILL)
    dead.wait()
    mine = ScratchSpace(root)
    try:
        assert mine.sweep() == 1
        assert not (root / dead_name).exists() and not (root / f"{dead_name}.lock").exists()
        assert (root / live_name / "source").read_bytes() == b"plain"
        assert mine.own.is_dir()
    finally:
        live.kill()
        live.wait()
        mine.close()
