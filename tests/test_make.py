"""The Makefile: what `make run` and `make test` do (checked as dry runs, nothing built)."""

from __future__ import annotations

import shutil
import subprocess
import sys
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


def test_make_test_fast_leaves_out_training_fuzzing_and_slow_runs() -> None:
    commands = dry_run("test-fast")
    assert 'pytest -m "not slow and not training and not fuzz"' in commands
    assert "vidonate" not in commands.split("pytest", 1)[1]  # nothing but the tests


def test_the_fast_selection_drops_whole_training_and_fuzzing_modules() -> None:
    """Markers come from tests/conftest.py by path: the modules need no decorators."""
    modules = [
        "tests/detect/test_train.py",
        "tests/web/test_schemathesis.py",
        "tests/detect/test_manifest.py",
    ]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         "-m", "not slow and not training and not fuzz", *modules],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    kept = [line for line in done.stdout.splitlines() if "::" in line]
    assert kept and all(line.startswith("tests/detect/test_manifest.py::") for line in kept)
    assert "deselected" in done.stdout
