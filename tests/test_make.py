"""The Makefile: what `make run` and `make test` do (checked as dry runs, nothing built)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def dry_run(*args: str) -> str:
    """The commands ``make`` would run, as if the venv were not set up yet."""
    done = subprocess.run(
        ["make", "--dry-run", "--always-make", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_make_run_serves_on_the_port_and_host_given() -> None:
    assert "vidonate serve --host 0.0.0.0 --port 8100" in dry_run(
        "run", "PORT=8100", "HOST=0.0.0.0"
    )


def test_make_run_serves_on_loopback_port_8000_by_default() -> None:
    assert "vidonate serve --host 127.0.0.1 --port 8000" in dry_run("run")
