"""The Makefile: what `make run` and `make test` do (checked as dry runs, nothing built)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FAST_MARKERS = re.search(  # type: ignore[union-attr]
    r"^FAST_MARKERS := (.+)$", (REPO / "Makefile").read_text(), re.MULTILINE
).group(1)

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
    assert FAST_MARKERS == "not slow and not training and not fuzz and not postgres"
    commands = dry_run("test-fast")
    assert f'pytest -n auto -m "{FAST_MARKERS}"' in commands
    assert "vidonate" not in commands.split("pytest", 1)[1]  # nothing but the tests


def test_the_fast_selection_drops_whole_training_fuzzing_and_slow_modules() -> None:
    """Markers come from tests/conftest.py by path: the modules need no decorators. The
    PostgreSQL half of a module's tests is left out too; its SQLite half stays."""
    modules = [
        "tests/detect/test_train.py",
        "tests/web/test_schemathesis.py",
        "tests/dedupe/test_finder.py",
        "tests/detect/test_manifest.py",
        "tests/db/test_engine.py",
    ]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         "-m", FAST_MARKERS, *modules],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    kept = [line for line in done.stdout.splitlines() if "::" in line]
    assert {line.split("::")[0] for line in kept} == {
        "tests/detect/test_manifest.py",
        "tests/db/test_engine.py",
    }
    assert not [line for line in kept if "postgres" in line]
    assert "deselected" in done.stdout


def test_make_cluster_starts_and_stops_the_one_machine_cluster() -> None:
    assert "vidonate cluster up --root var/cluster" in dry_run("cluster")
    assert "vidonate cluster down --root var/cluster" in dry_run("cluster-stop")
