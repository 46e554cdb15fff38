"""The HTTP server's own bound on a request's head (``web/protocol.py``), over real sockets."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from vidonate.runtime import Runtime
from vidonate.server import BackgroundServer
from vidonate.web.protocol import BoundedHttpTools, uvicorn_options


@pytest.fixture
def server(rt: Runtime) -> Iterator[BackgroundServer]:
    with BackgroundServer(rt, run_worker=False) as running:
        yield running


def _connect(server: BackgroundServer) -> socket.socket:
    url = urlsplit(server.url)
    return socket.create_connection((url.hostname, url.port), timeout=10)


def _answer(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_every_server_speaks_the_bounded_protocol(rt: Runtime) -> None:
    http = uvicorn_options(rt.settings)["http"]
    assert issubclass(http, BoundedHttpTools)
    assert http.max_bytes == rt.settings.max_header_bytes


def test_a_head_that_never_ends_is_refused_before_it_is_all_read(
    rt: Runtime, server: BackgroundServer
) -> None:
    """A header value of 8 MiB, sent in pieces with no end of line: the server answers 431
    and closes once the limit is passed, without waiting for (or keeping) the rest."""
    limit = rt.settings.max_header_bytes
    with _connect(server) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Filler: ")
        sent = 0
        try:
            while sent < 8 << 20:
                sock.sendall(b"a" * 65536)
                sent += 65536
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed the connection: what this test wants
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert b'"headers_too_large"' in answer
    assert sent < (8 << 20) - limit  # the server stopped reading: our writes failed


def test_a_head_just_under_the_limit_is_served(rt: Runtime, server: BackgroundServer) -> None:
    filler = "a" * (rt.settings.max_header_bytes - 1024)
    answer = httpx.get(f"{server.url}/docs", headers={"X-Filler": filler})
    assert answer.status_code == 200


def test_kept_alive_connections_count_each_request_afresh(
    rt: Runtime, server: BackgroundServer
) -> None:
    """Twenty requests of two thirds of the limit each on one connection: all are served."""
    filler = "a" * (rt.settings.max_header_bytes * 2 // 3)
    with httpx.Client(base_url=server.url) as client:
        statuses = {
            client.get("/docs", headers={"X-Filler": filler}).status_code for _ in range(20)
        }
    assert statuses == {200}


def test_a_body_in_the_same_read_as_its_head_does_not_count_as_head(
    server: BackgroundServer,
) -> None:
    """Two small-headed requests with 300 kB bodies, sent at once on one connection (the
    reads hold heads and bodies together): neither is taken for an oversized head."""
    body = b"x" * 300_000
    request = (
        b"POST /api/v1/uploads HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    with _connect(server) as sock:
        sock.sendall(request + request[: -len(body)] + body.replace(b"x", b"y"))
        sock.shutdown(socket.SHUT_WR)
        answer = _answer(sock)
    assert answer.count(b"HTTP/1.1 ") == 2
    assert b" 431 " not in answer
