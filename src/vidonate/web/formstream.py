"""A multipart/form-data body read as it arrives, so a donated clip never touches disk
in plaintext.

Starlette's ``request.form()`` spools every file field to a temporary file (on disk past
1 MiB) before the route runs. The donate form instead parses the body with
``python_multipart``'s push parser: the text fields come first (the form puts the clip
last, and browsers send fields in document order), then the clip's bytes are handed on
chunk by chunk, straight into the encrypting upload path.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from vidonate.errors import InvalidInput
from vidonate.ingest.tus import ClientGone
from vidonate.web.deps import refuse_nul

if TYPE_CHECKING:
    # Defined for type checkers only (python_multipart declares it under TYPE_CHECKING).
    from python_multipart.multipart import MultipartCallbacks

MAX_FIELD_BYTES = 64 * 1024
MAX_FIELDS = 64
# After the clip only the closing boundary may follow; a few bytes, never kilobytes.
MAX_TRAILER_BYTES = 4096


def _bad_form(message: str) -> InvalidInput:
    return InvalidInput("bad_form", message)


@dataclass
class _Part:
    headers: dict[str, str] = field(default_factory=dict)
    name: str = ""
    filename: str | None = None


class StreamedForm:
    """One multipart body: :meth:`fields` reads the text fields up to the first file,
    :meth:`file_chunks` then streams that file and checks that nothing but the end follows.
    """

    def __init__(self, request: Request) -> None:
        content_type, params = parse_options_header(request.headers.get("content-type"))
        boundary = params.get(b"boundary")
        if content_type != b"multipart/form-data" or not boundary:
            raise _bad_form("the donate form is sent as multipart/form-data")
        declared = request.headers.get("content-length", "")
        if not (declared.isascii() and declared.isdigit() and len(declared) <= 19):
            raise _bad_form("the form must be sent with its Content-Length")
        self.content_length = int(declared)
        # The closing "\r\n--boundary--" always follows the file's last byte.
        self._closing = len(boundary) + 6
        self._stream = request.stream()
        self._events: deque[tuple[str, bytes, int]] = deque()
        self._fed = 0  # body bytes given to the parser before the current chunk
        try:
            self._parser = MultipartParser(boundary, self._callbacks())
        except FormParserError as exc:
            raise _bad_form(f"the form's boundary is unusable ({exc})") from None
        self.filename = ""
        self.file_start = 0

    def _callbacks(self) -> MultipartCallbacks:
        def mark(kind: str) -> Callable[[], None]:
            return lambda: self._events.append((kind, b"", 0))

        def data(kind: str) -> Callable[[bytes, int, int], None]:
            def on_data(chunk: bytes, start: int, end: int) -> None:
                self._events.append((kind, bytes(chunk[start:end]), self._fed + start))

            return on_data

        return {
            "on_part_begin": mark("begin"),
            "on_header_field": data("header_field"),
            "on_header_value": data("header_value"),
            "on_header_end": mark("header_end"),
            "on_headers_finished": mark("headers_done"),
            "on_part_data": data("data"),
            "on_part_end": mark("end"),
            "on_end": mark("finish"),
        }

    async def _feed(self) -> None:
        try:
            chunk = await self._stream.__anext__()
        except StopAsyncIteration:
            raise _bad_form("the form ends before its last boundary") from None
        except ClientDisconnect:
            raise ClientGone() from None
        try:
            self._parser.write(chunk)
        except FormParserError as exc:
            raise _bad_form(f"the form is not valid multipart data ({exc})") from None
        self._fed += len(chunk)

    async def _next(self) -> tuple[str, bytes, int]:
        while not self._events:
            await self._feed()
        return self._events.popleft()

    async def _peek(self) -> tuple[str, bytes, int]:
        while not self._events:
            await self._feed()
        return self._events[0]

    async def _headers(self) -> _Part:
        part = _Part()
        field_name, value = b"", b""
        while True:
            kind, data, _ = await self._next()
            if kind == "header_field":
                field_name += data
            elif kind == "header_value":
                value += data
            elif kind == "header_end":
                part.headers[field_name.decode("latin-1").lower()] = value.decode("latin-1")
                field_name, value = b"", b""
            elif kind == "headers_done":
                break
        _, options = parse_options_header(part.headers.get("content-disposition"))
        part.name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        part.filename = None if filename is None else filename.decode("utf-8", "replace")
        return part

    async def fields(self) -> dict[str, str]:
        """The text fields before the first file; afterwards ``filename`` names that file
        and ``file_start`` is where its bytes begin in the body."""
        values: dict[str, str] = {}
        while True:
            kind, _, _ = await self._next()
            if kind == "finish":
                raise _bad_form("the form holds no clip")
            if kind != "begin":
                continue
            part = await self._headers()
            if part.filename is not None:
                refuse_nul([part.name, part.filename])
                self.filename = part.filename
                kind, _, at = await self._peek()
                self.file_start = at if kind == "data" else self.content_length
                return values
            if len(values) >= MAX_FIELDS:
                raise _bad_form(f"the form has more than {MAX_FIELDS} fields")
            value = b""
            while (event := await self._next())[0] == "data":
                value += event[1]
                if len(value) > MAX_FIELD_BYTES:
                    raise _bad_form(f"the form field {part.name!r} is too long")
            values[part.name] = value.decode("utf-8", "replace")
            refuse_nul([part.name, values[part.name]])

    def file_bound(self) -> int:
        """The most bytes the file can have: what the body holds after its start."""
        return max(0, self.content_length - self.file_start - self._closing)

    async def file_chunks(self) -> AsyncIterator[bytes]:
        """The file's bytes as they arrive; ends only once the whole body is read."""
        while (event := await self._next())[0] == "data":
            if event[1]:
                yield event[1]
        after = self._fed
        while (kind := (await self._next())[0]) != "finish":
            if kind == "begin":
                raise _bad_form("the clip must be the form's last field")
            if self._fed - after > MAX_TRAILER_BYTES:
                raise _bad_form("the form goes on after its clip")
