"""How uvicorn speaks HTTP for vidonate: httptools, with a bound on a request's head.

httptools (llhttp in C) parses a request several times faster than h11 in pure Python,
which on a small machine is a good share of what a page costs. It has no limit of its
own on the bytes of a request line and headers, though: it keeps a header value it has
not seen the end of in memory however long it grows. :class:`BoundedHttpTools` counts the
bytes that arrive while a request's head is incomplete and answers 431 and closes the
connection past ``max_header_bytes``, so an 8 MiB header never reaches memory whole.
(The app checks the complete headers again, ``web/headers.py``, for servers that do not
use this protocol, such as the test client.)

Both ways of serving (``vidonate serve`` and :class:`vidonate.server.BackgroundServer`)
take their options from :func:`uvicorn_options`, so tests run the protocol users do.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from vidonate.config import Settings
from vidonate.web.clientip import uvicorn_proxy_options
from vidonate.web.headers import headers_too_large


class BoundedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol, answering 431 to a request head over ``max_bytes``."""

    max_bytes = 64 * 1024  # set per server by bounded_httptools()

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._in_head = False  # a request has begun and its headers are not complete
        self._head_bytes = 0  # of the current request's head, so far
        self._parsed_bytes = 0  # of request line and headers, seen by the callbacks

    def data_received(self, data: bytes) -> None:
        began_in_head = self._in_head
        self._parsed_bytes = 0
        super().data_received(data)
        if not self._in_head or self.transport.is_closing():
            return
        # A chunk that began and ended inside the head is all head. In one where a request
        # began, what the callbacks saw counts (bytes before it were the last request's);
        # the header value it ends inside is at most one read long, so memory stays bounded.
        self._head_bytes += len(data) if began_in_head else self._parsed_bytes
        if self._head_bytes > self.max_bytes:
            self._refuse_head()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = self._parsed_bytes = 0

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        self._parsed_bytes += len(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        self._parsed_bytes += len(name) + len(value) + 4  # ": " and CRLF

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def _refuse_head(self) -> None:
        body = headers_too_large(f"the request's headers are more than {self.max_bytes} bytes")
        head = (
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: application/json\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n"
            b"connection: close\r\n\r\n"
        )
        self._in_head = False  # whatever else arrives is dropped with the connection
        self.transport.write(head + body)
        self.transport.close()


def bounded_httptools(max_bytes: int) -> type[BoundedHttpTools]:
    """The protocol class for one server's limit (uvicorn instantiates it per connection)."""
    return type("BoundedHttpTools", (BoundedHttpTools,), {"max_bytes": max_bytes})


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments every vidonate server passes to uvicorn."""
    return {
        "http": bounded_httptools(settings.max_header_bytes),
        **uvicorn_proxy_options(settings.trusted_proxies),
    }
