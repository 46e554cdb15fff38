"""Opening an untrusted upload: the only door FFmpeg gets to it.

FFmpeg reads the upload through a Python file object (so the name is never parsed as a
URL), may use only the demuxers in :data:`ALLOWED_DEMUXERS` and the ``file`` protocol, and
every attempt to open a second file or URL (a playlist segment, a concat entry, an
external track) is refused and reported as ``disallowed_format``. Before FFmpeg runs,
:func:`refuse_references` turns away playlists, scripts and files that embed one.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import av
from av.container import InputContainer

from vidonate.errors import UnsupportedMedia

# FFmpeg's format_whitelist, matched against each comma-separated part of a demuxer's name:
# "mov" admits "mov,mp4,m4a,3gp,3g2,mj2", "matroska" admits "matroska,webm". Only
# self-contained containers and raw H.264/H.265 (what sniff.container_of lets in). Left out
# on purpose: hls, dash, concat (they open other files), image2 and the *_pipe image
# demuxers, sdp/rtp/rtsp, tee, and everything else.
ALLOWED_DEMUXERS = (
    "mov", "mp4", "m4a", "3gp", "3g2", "mj2",
    "avi", "matroska", "webm", "mpegts", "mpeg", "flv", "asf", "h264", "hevc",
)  # fmt: skip


OPEN_OPTIONS = {
    "format_whitelist": ",".join(ALLOWED_DEMUXERS),
    # Nested opens go through open_upload's refusing io_open anyway; this is the second lock.
    "protocol_whitelist": "file",
    # mov: never follow a data reference ("alias") to another file; off by default, pinned.
    "enable_drefs": "0",
    "use_absolute_path": "0",
}


_HEAD_BYTES = 64


_SCAN_CHUNK = 1 << 20


# Errors from opening or decoding media that the uploader, not the server, caused.
# UnicodeDecodeError: junk metadata bytes; EOFError: truncated files in some demuxers.
# MemoryError (av.error.MemoryError is one) is not among them: it is caught first and
# re-raised, so that the sandbox reports it as the memory limit it is.
MEDIA_ERRORS = (av.FFmpegError, OSError, EOFError, UnicodeDecodeError)


# Text that makes FFmpeg open other files or URLs, at the start of a file (after an optional
# BOM and blanks), compared in lower case: HLS, concat scripts, PLS/ASX/SMIL/DASH playlists,
# SDP (opens RTP sockets), and bare URLs.
_REFERENCE_HEADS = (
    b"#extm3u", b"#extinf", b"ffconcat", b"[playlist]", b"<?xml", b"<mpd", b"<smil",
    b"<asx", b"v=0", b"rtsp/", b"http://", b"https://", b"file:", b"concat:", b"subfile,",
)  # fmt: skip


# Anywhere in the file: an HLS playlist or concat script tucked inside another container
# (the AVI "GAB2" subtitle trick). 7+ exact bytes: never found by chance in real footage.
_EMBEDDED_REFERENCES = (b"#EXTM3U", b"ffconcat version")


_IMAGE_HEADS = (
    (b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"), (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"), (b"BM", "BMP"),
    (b"qoif", "QOI"), (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
)  # fmt: skip


_AUDIO_HEADS = (
    (b"ID3", "MP3"), (b"fLaC", "FLAC"), (b"#!AMR", "AMR"), (b"MThd", "MIDI"), (b".snd", "AU"),
)  # fmt: skip


# Top-level boxes of an ISO-BMFF (MP4/MOV) file; a walk that meets anything else is not
# looking at a cut-off MP4 but at noise.
_BMFF_TOP_BOXES = frozenset(
    {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid", b"moof",
     b"mfra", b"meta", b"styp", b"sidx", b"pdin", b"udta", b"junk", b"prfl"}
)  # fmt: skip


@contextmanager
def open_upload(
    path: Path, *, demuxers: tuple[str, ...] = ALLOWED_DEMUXERS
) -> Iterator[InputContainer]:
    """The one way to open an upload (`demuxers` exists for tests of the other safeguards).

    FFmpeg gets a Python file object, not a path, so the name is never parsed as a URL
    (``concat:``, ``subfile,``); every nested open is refused and turns into
    ``disallowed_format``, even when the demuxer would have coped without it.
    """
    refused: list[str] = []

    def refuse(url: str, flags: int, options: dict[str, str]) -> BinaryIO:
        refused.append(url)
        raise PermissionError(f"opening {url!r} from inside an upload is not allowed")

    options = dict(OPEN_OPTIONS, format_whitelist=",".join(demuxers))
    try:
        file = Path(path).open("rb")  # noqa: SIM115 (closed by the with below)
    except OSError as exc:
        raise UnsupportedMedia("unreadable", f"the file cannot be read ({exc})") from exc
    with file:
        try:
            # "replace": metadata in a foreign encoding must not make a clip unreadable.
            container = av.open(
                file,
                "r",
                container_options=options,
                io_open=refuse,
                metadata_errors="replace",
            )
        except MemoryError:
            raise
        except MEDIA_ERRORS as exc:
            raise _refused(refused) or _open_failure(file, exc) from exc
        try:
            with container:
                yield container
        except Exception as exc:
            # A refused open is the real cause of whatever error it led to.
            error = _refused(refused)
            if error is not None:
                raise error from exc
            raise
        error = _refused(refused)
        if error is not None:  # a demuxer that shrugged off the refusal still tried
            raise error


def _refused(urls: list[str]) -> UnsupportedMedia | None:
    if not urls:
        return None
    return UnsupportedMedia(
        "disallowed_format",
        f"the file tries to open another file or URL ({urls[0][:200]!r}); "
        "only self-contained video files are accepted",
    )


def _head_reference(head: bytes) -> str | None:
    """What kind of reference file `head` starts, if it is one."""
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    for marker in _REFERENCE_HEADS:
        if text.startswith(marker):
            return marker.decode()
    return None


def _head_kind(head: bytes) -> tuple[str, str] | None:
    """("image" | "audio", name) for a file whose first bytes say it is one."""
    for magic, name in _IMAGE_HEADS:
        if head.startswith(magic):
            return "image", name
    if head[8:12] == b"WEBP" and head[:4] == b"RIFF":
        return "image", "WebP"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio", "WAV"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "audio", "AIFF"
    for magic, name in _AUDIO_HEADS:
        if head.startswith(magic):
            return "audio", name
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "audio", "MPEG audio"  # MP3 or ADTS AAC frame sync; JPEG's FF D8 is not one
    return None


def _open_failure(file: BinaryIO, exc: Exception) -> UnsupportedMedia:
    """The most specific reason why FFmpeg could not open `file`."""
    file.seek(0)
    head = file.read(_HEAD_BYTES)
    if not head:
        return UnsupportedMedia("unreadable", "the file is empty")
    reference = _head_reference(head)
    if reference is not None:
        return UnsupportedMedia(
            "disallowed_format", f"the file is a playlist or reference ({reference}), not a video"
        )
    kind = _head_kind(head)
    if kind is not None and kind[0] == "image":
        return UnsupportedMedia("not_video", f"this is a still image ({kind[1]}), not a video")
    if kind is not None:
        return UnsupportedMedia("not_video", f"the file holds only audio ({kind[1]}), no video")
    damage = _bmff_damage(file)
    if damage is not None:
        return UnsupportedMedia("truncated", damage)
    return UnsupportedMedia("unreadable", f"the file cannot be read as media ({exc})")


def _bmff_damage(file: BinaryIO) -> str | None:
    """Why an MP4/MOV that FFmpeg refused looks cut off, or None if it is not one.

    Only a clean run of known top-level boxes counts: an MP4 header followed by noise is
    damaged, not cut off.
    """
    size = file.seek(0, 2)
    pos = 0
    seen: set[bytes] = set()
    while pos < size:
        file.seek(pos)
        header = file.read(16)
        if len(header) < 8:
            return "the file ends inside a box header" if seen else None
        box_size, kind = struct.unpack(">I4s", header[:8])
        if kind not in _BMFF_TOP_BOXES:
            return None
        if box_size == 1 and len(header) == 16:
            box_size = struct.unpack(">Q", header[8:])[0]
        elif box_size == 0:  # "runs to the end of the file"
            box_size = size - pos
        if box_size < 8:
            return None
        seen.add(kind)
        if pos + box_size > size:
            name = kind.decode("latin-1")
            return (
                f"the file is cut off inside its '{name}' box "
                f"({size - pos} of {box_size} bytes are there)"
            )
        pos += box_size
    if b"mdat" in seen and not seen & {b"moov", b"moof"}:
        return "the video has no index (moov box): the recording was never finished"
    return None


def refuse_references(path: Path) -> None:
    """Refuse playlists and scripts before FFmpeg sees a byte, and files that embed one.

    The demuxer whitelist already keeps hls and concat out; this also catches them inside
    containers that are allowed, whatever a future FFmpeg does with them.
    """
    with Path(path).open("rb") as file:
        head = file.read(_HEAD_BYTES)
        reference = _head_reference(head)
        if reference is not None:
            raise UnsupportedMedia(
                "disallowed_format",
                f"the file is a playlist or reference ({reference}), not a video",
            )
        overlap = max(len(m) for m in _EMBEDDED_REFERENCES) - 1
        file.seek(0)
        tail = b""
        offset = 0
        while chunk := file.read(_SCAN_CHUNK):
            window = tail + chunk
            for marker in _EMBEDDED_REFERENCES:
                at = window.find(marker)
                if at != -1:
                    raise UnsupportedMedia(
                        "disallowed_format",
                        f"the file embeds a playlist or script ({marker.decode()!r} at byte "
                        f"{offset - len(tail) + at}), a known attack on media decoders",
                    )
            tail = window[-overlap:]
            offset += len(chunk)

