"""The client's address: X-Forwarded-For is believed only from configured proxies, by the
app and by the uvicorn that ``vidonate serve`` starts."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from vidonate.server import free_port
from vidonate.web.clientip import TrustedProxies, uvicorn_proxy_options


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    none = TrustedProxies.parse("")
    assert none.client("127.0.0.1", ["192.0.2.1"]) == "127.0.0.1"


def test_a_trusted_proxys_header_is_read_from_the_right_past_our_own_proxies() -> None:
    proxies = TrustedProxies.parse("10.0.0.0/8, 127.0.0.1")
    # client-written part first, then what each of our proxies appended
    header = ["192.0.2.66, 203.0.113.5, 10.1.2.3"]
    assert proxies.client("127.0.0.1", header) == "203.0.113.5"
    assert proxies.client("203.0.113.9", header) == "203.0.113.9", "not from our proxy"
    assert proxies.client("127.0.0.1", []) == "127.0.0.1"
    assert proxies.client("127.0.0.1", ["10.0.0.7"]) == "10.0.0.7"


def test_a_trusted_proxies_entry_that_is_no_address_is_refused() -> None:
    with pytest.raises(ValueError, match="not-an-ip"):
        TrustedProxies.parse("10.0.0.1, not-an-ip")


def test_uvicorn_believes_forwarded_headers_only_from_the_configured_proxies() -> None:
    assert uvicorn_proxy_options("") == {"proxy_headers": False, "forwarded_allow_ips": ""}
    assert uvicorn_proxy_options("10.0.0.1, 192.168.0.0/16") == {
        "proxy_headers": True,
        "forwarded_allow_ips": "10.0.0.1/32,192.168.0.0/16",
    }


@pytest.mark.slow
def test_vidonate_serve_does_not_let_a_forged_header_reset_the_sign_in_limit(
    tmp_path: Path,
) -> None:
    """The real server, over real HTTP from loopback: uvicorn's default would believe the
    forged X-Forwarded-For and give every attempt a fresh budget."""
    port = free_port()
    env = {
        **os.environ,
        "VIDONATE_VAR_DIR": str(tmp_path / "var"),
        "VIDONATE_WORKER_THREADS": "0",
        "VIDONATE_RATE_LIMIT_SIGN_INS_PER_IP_PER_MINUTE": "3",
    }
    env.pop("VIDONATE_TRUSTED_PROXIES", None)
    log = tmp_path / "server.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "vidonate.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    try:
        url = f"http://127.0.0.1:{port}/api/v1/auth/token"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/login", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, log.read_text()[-2000:]
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        body = {"username": "admin", "password": "wrong-guess"}
        statuses = [
            httpx.post(url, json=body, headers={"X-Forwarded-For": f"192.0.2.{n}"}).status_code
            for n in range(4)
        ]
        assert statuses == [401, 401, 401, 429]
    finally:
        server.terminate()
        server.wait(30)
