"""The server needs no training stack: without the [train] and [report] extras it imports,
serves and detects, and the commands that need an extra say which one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from vidonate import extras

# The extras' modules, made unimportable (``sys.modules[name] = None`` makes ``import``
# raise and ``importlib.util.find_spec`` answer None, as if they were not installed).
WITHOUT_EXTRAS = (
    "import sys; "
    "sys.modules.update(dict.fromkeys(['torch', 'onnxscript', 'matplotlib'])); "
    "from vidonate.cli import app; app()"
)


def vidonate_without_extras(*args: str, var: Path) -> list[str]:
    return [sys.executable, "-c", WITHOUT_EXTRAS, *args]


def env_for(var: Path) -> dict[str, str]:
    return {**os.environ, "VIDONATE_VAR_DIR": str(var), "VIDONATE_WORKER_THREADS": "0"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_server_and_the_detector_import_without_the_extras() -> None:
    code = (
        "import sys; sys.modules.update(dict.fromkeys(['torch', 'onnxscript', 'matplotlib']));"
        "import vidonate.web.app, vidonate.detect.infer, vidonate.detect.pipeline, "
        "vidonate.ingest.process, vidonate.cli; "
        "assert 'torch' not in [m for m, v in sys.modules.items() if v is not None]"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_vidonate_help_works_without_the_extras(tmp_path: Path) -> None:
    done = subprocess.run(
        vidonate_without_extras("--help", var=tmp_path),
        env=env_for(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "serve" in done.stdout and "train" in done.stdout


def test_vidonate_serve_answers_without_the_extras(tmp_path: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        vidonate_without_extras("serve", "--port", str(port), var=tmp_path),
        env=env_for(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.3)
        assert response.status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.parametrize(
    ("command", "extra"),
    [
        (["train", "--release", "latest"], "train"),
        (["evaluate", "--model", "latest", "--release", "latest"], "report"),
    ],
)
def test_a_command_that_needs_an_extra_names_it(
    command: list[str], extra: str, tmp_path: Path
) -> None:
    done = subprocess.run(
        vidonate_without_extras(*command, var=tmp_path),
        env=env_for(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    output = " ".join((done.stdout + done.stderr).split())
    assert f"needs the [{extra}] extra" in output and f"pip install -e '.[{extra}]'" in output
    assert "missing_extra" in output


def test_every_extra_is_installed_for_the_test_suite() -> None:
    """`make test` installs .[dev,train,report]: nothing here may skip for want of them."""
    assert extras.missing("train") == [] and extras.missing("report") == []
