"""Numbers in request headers, and a bound on the size of the headers themselves.

``str.isdigit()`` accepts "²" and "٣", which ``int()`` then refuses or reads as
another number, and a 5,000-digit length costs a big-integer parse and overflows the
database's BIGINT. Header numbers are therefore ASCII digits, at most 18 of them.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from vidonate.errors import InvalidInput

# On tus answers: the donation an upload fills, so a client can follow its processing.
DONATION_HEADER = "Vidonate-Donation-Id"
MAX_DIGITS = 18  # every 18-digit number fits a signed 64-bit integer (a BIGINT column)


def decimal(text: str | None) -> int | None:
    """``text`` as a non-negative integer, if it is 1 to 18 ASCII digits; else None."""
    if text is None:
        return None
    text = text.strip()
    if not (0 < len(text) <= MAX_DIGITS and text.isascii() and text.isdigit()):
        return None
    return int(text)


def header_count(value: str | None, header: str) -> int:
    """A required header holding a byte count or offset (``Upload-Length``, ``Upload-Offset``)."""
    number = decimal(value)
    if number is None:
        raise InvalidInput(
            f"bad_{header.lower().replace('-', '_')}",
            f"{header} must be a non-negative integer of at most {MAX_DIGITS} ASCII digits",
        )
    return number


OVERRIDABLE = frozenset({"PATCH", "DELETE", "HEAD"})


def method_overridden(request: Request) -> str | None:
    """The method a POST stands for through ``X-HTTP-Method-Override`` (tus allows it for
    proxies that block PATCH), if it names one that may be overridden."""
    if request.method != "POST":
        return None
    method = (request.headers.get("x-http-method-override") or "").strip().upper()
    return method if method in OVERRIDABLE else None


class HeaderSizeLimit:
    """ASGI middleware: a request whose header lines total more than ``max_bytes`` gets
    431 before any route runs. (The HTTP server buffers headers before the app sees
    them; ``vidonate serve`` bounds that buffer too.)"""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            size = sum(len(name) + len(value) + 4 for name, value in scope["headers"])
            if size > self.max_bytes:
                await _refuse(send, size, self.max_bytes)
                return
        await self.app(scope, receive, send)


def headers_too_large(message: str) -> bytes:
    """The JSON body of a 431 answer, from the app or from the HTTP protocol itself."""
    return json.dumps({"error": {"code": "headers_too_large", "message": message}}).encode()


async def _refuse(send: Send, size: int, limit: int) -> None:
    body = headers_too_large(
        f"the request's headers are {size} bytes; at most {limit} are accepted"
    )
    await send(
        {
            "type": "http.response.start",
            "status": 431,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
