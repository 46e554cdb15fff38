"""Recognise a video container from its first bytes, so a PDF or a photo is refused
at the first PATCH instead of after the whole upload. Decoding decides the rest."""

from __future__ import annotations

SNIFF_BYTES = 512
_MP4_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid"}


def container_of(head: bytes) -> str | None:
    """The container family of a file that starts with ``head``, or None if none fits."""
    if len(head) >= 8 and head[4:8] in _MP4_BOXES:
        return "mp4"
    if head[:4] == b"RIFF" and head[8:12] in {b"AVI ", b"AVIX"}:
        return "avi"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "matroska"
    if head[:1] == b"\x47" and head[188:189] == b"\x47":  # two 188-byte packets
        return "mpegts"
    if head[:4] == b"\x00\x00\x01\xba":
        return "mpegps"
    if head[:3] == b"FLV":
        return "flv"
    if head[:4] == b"\x30\x26\xb2\x75":
        return "asf"
    if head[:4] == b"\x00\x00\x00\x01" or head[:3] == b"\x00\x00\x01":
        return "annexb"  # raw H.264/H.265 elementary stream, as some NVRs export
    return None
