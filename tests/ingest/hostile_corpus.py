"""A corpus of hostile and malformed uploads, generated in-process (no downloads, no CLI).

Every file must end ``failed`` with its ``expected_reason`` when processed through
:func:`vidonate.ingest.sandbox.process_media` under :data:`CORPUS_LIMITS`; none may make the
processing read a file outside the upload. :func:`build_controls` writes odd but valid files
(a valid video under the wrong extension) that must be accepted.

The playlist cases point at ``secret``, a file the caller may watch: if it is ever opened,
the safeguards failed. Also here: misbehaving workloads (:func:`burn_cpu` and friends) that
exercise the sandbox's limits.

It lives with the tests, not in the installed package: a server has no use for it. The
sandbox's child is a fresh interpreter, so tests that send it one of these functions put
this folder on its ``PYTHONPATH`` (see ``tests/ingest/test_hostile.py``).
"""

from __future__ import annotations

import io
import math
import os
import random
import signal
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image

from vidonate.ingest.media import FrameStage
from vidonate.ingest.samples import generate_clip, write_silent_audio
from vidonate.ingest.sandbox import SandboxLimits

SECRET_MARKER = b"VIDONATE-SECRET-5f1c0d: this file lives outside every upload\n"
# Tight enough that the decode bomb hits a limit within seconds, loose enough that every
# other case ends for its own reason first.
CORPUS_LIMITS = SandboxLimits(cpu_seconds=6, memory_bytes=3 << 30, wall_seconds=20.0)


@dataclass(frozen=True)
class HostileCase:
    """One corpus file and the reason code it must fail with."""

    name: str
    path: Path
    expected_reason: str
    description: str


@dataclass
class _Context:
    """What builders share: the secret they point at, seeded noise, cached clean clips."""

    dest: Path
    secret: Path
    rng: random.Random
    cache: dict[str, bytes]

    def clip(self, suffix: str, seconds: float = 2.0, **kwargs: object) -> bytes:
        """Bytes of a small clean clip (64×48, 15 fps), generated once per variant."""
        key = f"{suffix}-{seconds}-{sorted(kwargs.items())}"
        if key not in self.cache:
            path = self.dest / f".clean{len(self.cache)}{suffix}"
            generate_clip(path, seconds=seconds, width=64, height=48, **kwargs)  # type: ignore[arg-type]
            self.cache[key] = path.read_bytes()
            path.unlink()
        return self.cache[key]


_Builder = Callable[[Path, _Context], None]


@dataclass(frozen=True)
class _Spec:
    name: str
    filename: str
    expected_reason: str
    description: str
    build: _Builder


_SPECS: list[_Spec] = []


def _case(
    name: str, filename: str, reason: str, description: str
) -> Callable[[_Builder], _Builder]:
    def register(build: _Builder) -> _Builder:
        _SPECS.append(_Spec(name, filename, reason, description, build))
        return build

    return register


# --- MP4 and RIFF plumbing ------------------------------------------------------------------

_MP4_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"dinf", b"edts"}


def _mp4_boxes(
    data: bytes, start: int = 0, end: int | None = None
) -> Iterator[tuple[bytes, int, int]]:
    """(type, offset, size) of every box, depth first; the sample entries inside stsd too."""
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if size < 8:
            return
        yield kind, pos, size
        if kind in _MP4_CONTAINERS:
            yield from _mp4_boxes(data, pos + 8, pos + size)
        elif kind == b"stsd":
            yield from _mp4_boxes(data, pos + 16, pos + size)
        pos += size


def _box(data: bytes, kind: bytes) -> tuple[int, int]:
    """Offset and size of the first `kind` box."""
    for found, pos, size in _mp4_boxes(data):
        if found == kind:
            return pos, size
    raise ValueError(f"no {kind!r} box")


def _mp4_box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _riff_chunk(fourcc: bytes, data: bytes) -> bytes:
    return struct.pack("<4sI", fourcc, len(data)) + data + b"\0" * (len(data) % 2)


def _riff_list(kind: bytes, *chunks: bytes) -> bytes:
    body = kind + b"".join(chunks)
    return struct.pack("<4sI", b"LIST", len(body)) + body


def _avi(
    frames: list[bytes],
    *,
    width: int,
    height: int,
    fps: int = 10,
    compression: bytes = b"MJPG",
    subtitle: bytes | None = None,
) -> bytes:
    """A minimal AVI: one video stream (MJPEG, or raw BGR when `compression` is zeros) that
    declares `width`×`height` whatever the frames hold, plus an optional text stream."""
    streams = 2 if subtitle is not None else 1
    avih = struct.pack(
        "<14I", 1_000_000 // fps, 0, 0, 0x10, len(frames), 0, streams, 0, width, height, 0, 0, 0, 0
    )

    def strh(kind: bytes, handler: bytes, scale: int, rate: int, length: int) -> bytes:
        return struct.pack(
            "<4s4sIHHIIIIIIIIhhhh",
            kind, handler, 0, 0, 0, 0, scale, rate, 0, length, 0, 0xFFFFFFFF, 0,
            0, 0, min(width, 0x7FFF), min(height, 0x7FFF),
        )  # fmt: skip

    bitmap = struct.pack("<IiiHH4sIiiII", 40, width, height, 1, 24, compression, 0, 0, 0, 0, 0)
    header = [
        _riff_chunk(b"avih", avih),
        _riff_list(
            b"strl",
            _riff_chunk(b"strh", strh(b"vids", compression, 1, fps, len(frames))),
            _riff_chunk(b"strf", bitmap),
        ),
    ]
    chunks = [(b"00dc", frame) for frame in frames]
    if subtitle is not None:
        header.append(
            _riff_list(
                b"strl",
                _riff_chunk(b"strh", strh(b"txts", b"\0\0\0\0", 1, fps, 1)),
                _riff_chunk(b"strf", b""),  # what makes FFmpeg call it a subtitle stream
            )
        )
        chunks.insert(1, (b"01tx", subtitle))
    movi_body = b""
    index = b""
    for fourcc, data in chunks:
        # idx1 offsets count from the "movi" fourcc.
        index += struct.pack("<4sIII", fourcc, 0x10, 4 + len(movi_body), len(data))
        movi_body += _riff_chunk(fourcc, data)
    body = (
        b"AVI "
        + _riff_list(b"hdrl", *header)
        + struct.pack("<4sI", b"LIST", 4 + len(movi_body))
        + b"movi"
        + movi_body
        + _riff_chunk(b"idx1", index)
    )
    return struct.pack("<4sI", b"RIFF", len(body)) + body


def _jpeg_frames(count: int, width: int = 64, height: int = 48) -> list[bytes]:
    frames = []
    for i in range(count):
        out = io.BytesIO()
        Image.new("RGB", (width, height), (i * 12 % 256, 80, 160)).save(out, "JPEG", quality=70)
        frames.append(out.getvalue())
    return frames


def _playlist(ctx: _Context) -> bytes:
    """An HLS playlist whose segments are the secret and a path that does not exist."""
    return (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXT-X-MEDIA-SEQUENCE:0\n"
        f"#EXTINF:10.0,\nfile://{ctx.secret}\n"
        "#EXTINF:10.0,\nfile:/nonexistent/SECRET.ts\n"
        f"#EXTINF:10.0,\nconcat:{ctx.secret}|{ctx.secret}\n#EXT-X-ENDLIST\n"
    ).encode()


def _h264_packets(width: int, height: int, count: int) -> tuple[bytes, bytes]:
    """An IDR packet (Annex B, with SPS/PPS) and a P-skip packet of a flat grey frame."""
    encoder = av.CodecContext.create("libx264", "w")
    encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
    encoder.time_base = Fraction(1, 25)
    encoder.options = {"preset": "ultrafast", "tune": "zerolatency", "x264-params": "keyint=1000"}
    frame = av.VideoFrame(width, height, "yuv420p")
    for plane in frame.planes:
        plane.update(b"\x80" * plane.buffer_size)
    packets = []
    for pts in range(count):
        frame.pts = pts
        packets.extend(encoder.encode(frame))
    packets.extend(encoder.encode(None))
    return bytes(packets[0]), bytes(packets[-1])


def _mux_h264(path: Path, fmt: str, width: int, height: int, frames: int, rate: int) -> None:
    """`frames` copies of one skip frame after an IDR, muxed without encoding them all."""
    idr, skip = _h264_packets(width, height, 2)
    time_base = Fraction(1, rate)
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream("h264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = time_base
        for index in range(frames):
            packet = av.Packet(idr if index == 0 else skip)
            packet.stream = stream
            packet.pts = packet.dts = index
            packet.duration = 1
            packet.time_base = time_base
            packet.is_keyframe = index == 0
            out.mux(packet)


def _patch_u32(data: bytearray, offset: int, value: int) -> None:
    struct.pack_into(">I", data, offset, value)


# --- the corpus -----------------------------------------------------------------------------


@_case("empty", "empty.mp4", "unreadable", "zero bytes")
def _empty(path: Path, ctx: _Context) -> None:
    path.write_bytes(b"")


@_case("random_bytes", "random.mp4", "unreadable", "64 KiB of random bytes named .mp4")
def _random_bytes(path: Path, ctx: _Context) -> None:
    path.write_bytes(ctx.rng.randbytes(64_000))


@_case("ftyp_then_noise", "noise.mp4", "unreadable", "a valid ftyp box, then random bytes")
def _ftyp_then_noise(path: Path, ctx: _Context) -> None:
    path.write_bytes(_mp4_box(b"ftyp", b"isom\0\0\2\0isomiso2avc1mp41") + ctx.rng.randbytes(50_000))


@_case("truncated_moov", "truncated_moov.mp4", "truncated", "an MP4 cut off halfway through moov")
def _truncated_moov(path: Path, ctx: _Context) -> None:
    data = ctx.clip(".mp4")  # the muxer writes moov after mdat
    pos, size = _box(data, b"moov")
    path.write_bytes(data[: pos + size // 2])


@_case("mdat_without_moov", "no_moov.mp4", "truncated", "ftyp and mdat, never finalised")
def _mdat_without_moov(path: Path, ctx: _Context) -> None:
    data = ctx.clip(".mp4")
    pos, size = _box(data, b"mdat")
    path.write_bytes(data[: pos + size])


@_case("cut_in_mdat", "cut_in_mdat.mp4", "unreadable", "moov first, then 30% of the samples")
def _cut_in_mdat(path: Path, ctx: _Context) -> None:
    whole = ctx.dest / ".faststart.mp4"
    whole.write_bytes(ctx.clip(".mp4", seconds=3.0))
    faststart = ctx.dest / ".faststart_out.mp4"
    with (
        av.open(str(whole)) as inp,
        av.open(str(faststart), "w", format="mp4", options={"movflags": "+faststart"}) as out,
    ):
        video = out.add_stream_from_template(inp.streams.video[0])
        for packet in inp.demux(inp.streams.video[0]):
            if packet.size:
                packet.stream = video
                out.mux(packet)
    data = faststart.read_bytes()
    whole.unlink()
    faststart.unlink()
    moov_pos, _ = _box(data, b"moov")
    mdat_pos, mdat_size = _box(data, b"mdat")
    assert moov_pos < mdat_pos
    path.write_bytes(data[: mdat_pos + mdat_size * 3 // 10])


@_case(
    "declared_65535x65535",
    "huge_65535.avi",
    "unreadable",
    "raw-video AVI whose headers declare 65535×65535 (FFmpeg refuses the size itself)",
)
def _declared_65535(path: Path, ctx: _Context) -> None:
    frames = [bytes(16 * 16 * 3)] * 20
    path.write_bytes(_avi(frames, width=65535, height=65535, compression=b"\0\0\0\0"))


@_case(
    "declared_16000x16000",
    "huge_16000.avi",
    "resolution_too_large",
    "raw-video AVI declaring 16000×16000 (768 MB a frame), refused before decoding",
)
def _declared_16000(path: Path, ctx: _Context) -> None:
    frames = [bytes(16 * 16 * 3)] * 20
    path.write_bytes(_avi(frames, width=16000, height=16000, compression=b"\0\0\0\0"))


@_case(
    "h264_8k_bomb",
    "bomb_8k.mp4",
    "resolution_too_large",
    "a few KB of H.264 that decode to 7680×4320 frames",
)
def _h264_8k(path: Path, ctx: _Context) -> None:
    _mux_h264(path, "mp4", 7680, 4320, frames=30, rate=15)


@_case(
    "absurd_duration",
    "duration.mkv",
    "bad_timing",
    "Matroska whose Duration element claims 31,700 years",
)
def _absurd_duration(path: Path, ctx: _Context) -> None:
    data = bytearray(ctx.clip(".mkv"))
    at = data.find(b"\x44\x89\x88")  # Duration, an 8-byte float (in TimecodeScale units)
    struct.pack_into(">d", data, at + 3, 1e15)
    path.write_bytes(data)


@_case(
    "absurd_timebase",
    "timescale1.mp4",
    "bad_timing",
    "MP4 whose media timescale is patched to 1: one frame every 1024 s",
)
def _absurd_timebase(path: Path, ctx: _Context) -> None:
    data = bytearray(ctx.clip(".mp4"))
    pos, _ = _box(data, b"mdhd")
    assert data[pos + 8] == 0  # version 0: timescale after two 32-bit times
    _patch_u32(data, pos + 8 + 4 + 8, 1)
    path.write_bytes(data)


@_case(
    "absurd_sample_durations",
    "stts.mp4",
    "bad_timing",
    "MP4 whose every sample lasts 2^31 ticks (39 hours) per the stts table",
)
def _absurd_sample_durations(path: Path, ctx: _Context) -> None:
    data = bytearray(ctx.clip(".mp4"))
    pos, _ = _box(data, b"stts")
    _patch_u32(data, pos + 8 + 4 + 4 + 4, 0x7FFFFFFF)  # the first entry's sample delta
    path.write_bytes(data)


@_case(
    "100k_frames_mp4",
    "frames100k.mp4",
    "too_many_frames",
    "100,000 16×16 frames in 100 s (1000 fps), frame count declared in the header",
)
def _many_frames_mp4(path: Path, ctx: _Context) -> None:
    _mux_h264(path, "mp4", 16, 16, frames=100_000, rate=1000)


@_case(
    "100k_frames_mkv",
    "frames100k.mkv",
    "too_many_frames",
    "100,000 16×16 frames at 1000 fps in Matroska, which declares no frame count",
)
def _many_frames_mkv(path: Path, ctx: _Context) -> None:
    _mux_h264(path, "matroska", 16, 16, frames=100_000, rate=1000)


@_case(
    "hls_named_mp4",
    "playlist.mp4",
    "disallowed_format",
    "an HLS playlist named .mp4 whose segments are a local file, a missing path and concat:",
)
def _hls_named_mp4(path: Path, ctx: _Context) -> None:
    path.write_bytes(_playlist(ctx))


@_case(
    "hls_m3u8",
    "playlist.m3u8",
    "disallowed_format",
    "the same playlist under its own extension, which FFmpeg would open as HLS",
)
def _hls_m3u8(path: Path, ctx: _Context) -> None:
    path.write_bytes(_playlist(ctx))


@_case(
    "concat_script",
    "concat.mp4",
    "disallowed_format",
    "an ffconcat script that lists a local file",
)
def _concat_script(path: Path, ctx: _Context) -> None:
    path.write_bytes(
        f"ffconcat version 1.0\nfile '{ctx.secret}'\nfile 'file:{ctx.secret}'\n".encode()
    )


@_case("sdp", "stream.mp4", "disallowed_format", "an SDP description (would open RTP sockets)")
def _sdp(path: Path, ctx: _Context) -> None:
    path.write_bytes(
        b"v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        b"m=video 5004 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
    )


@_case(
    "hls_in_avi",
    "gab2.avi",
    "disallowed_format",
    "an MJPEG AVI with a GAB2 subtitle stream that carries the HLS playlist (the classic "
    "local-file-read trick)",
)
def _hls_in_avi(path: Path, ctx: _Context) -> None:
    title = "x".encode("utf-16-le") + b"\0\0"
    playlist = _playlist(ctx)
    gab2 = (
        b"GAB2\0"
        + struct.pack("<HI", 2, len(title))
        + title
        + struct.pack("<HI", 4, len(playlist))
        + playlist
    )
    path.write_bytes(_avi(_jpeg_frames(20), width=64, height=48, subtitle=gab2))


@_case(
    "external_reference",
    "dref.mov",
    "unreadable",
    "a MOV whose video samples live in another file (a 'alis' data reference to the secret)",
)
def _external_reference(path: Path, ctx: _Context) -> None:
    data = bytearray(ctx.clip(".mp4"))
    pos, size = _box(data, b"dref")
    target = str(ctx.secret).encode()
    # A Macintosh alias record as FFmpeg's mov_read_dref parses it: fixed fields, then
    # tagged entries; type 2 is the absolute path.
    record = (
        bytes(10)
        + bytes([5])
        + b"disk1".ljust(27, b"\0")
        + bytes(12)
        + bytes([len(ctx.secret.name)])
        + ctx.secret.name.encode()[:63].ljust(63, b"\0")
        + bytes(16)
        + struct.pack(">hh", 1, 1)
        + bytes(16)
        + struct.pack(">hH", 2, len(target))
        + target
        + b"\0" * (len(target) % 2)
        + struct.pack(">hH", -1, 0)
    )
    alis = _mp4_box(b"alis", b"\0\0\0\0" + record)
    dref = _mp4_box(b"dref", b"\0\0\0\0" + struct.pack(">I", 1) + alis)
    patched = bytes(data[:pos]) + dref + bytes(data[pos + size :])
    grown = len(dref) - size
    # Every box that encloses dref grows; stco offsets into mdat (before moov) do not move.
    out = bytearray(patched)
    for kind, at, box_size in _mp4_boxes(bytes(data)):
        if kind in (b"moov", b"trak", b"mdia", b"minf", b"dinf") and at < pos < at + box_size:
            _patch_u32(out, at, box_size + grown)
    path.write_bytes(out)


@_case("audio_only_m4a", "tone.m4a", "not_video", "AAC audio in MP4, no video stream")
def _audio_m4a(path: Path, ctx: _Context) -> None:
    write_silent_audio(path, "mp4", "aac")


@_case("audio_only_wav", "tone.mp4", "not_video", "a WAV file named .mp4")
def _audio_wav(path: Path, ctx: _Context) -> None:
    write_silent_audio(path, "wav", "pcm_s16le")


@_case("png_named_mp4", "still.mp4", "not_video", "a PNG image named .mp4")
def _png(path: Path, ctx: _Context) -> None:
    Image.new("RGB", (64, 48), (200, 30, 30)).save(path, format="PNG")


@_case("jpeg_named_avi", "photo.avi", "not_video", "a JPEG photo named .avi")
def _jpeg(path: Path, ctx: _Context) -> None:
    path.write_bytes(_jpeg_frames(1)[0])


@_case("animated_gif", "anim.mp4", "not_video", "a 20-frame animated GIF named .mp4")
def _gif(path: Path, ctx: _Context) -> None:
    frames = [Image.new("P", (32, 32), i) for i in range(20)]
    frames[0].save(path, format="GIF", save_all=True, append_images=frames[1:], duration=100)


@_case("single_frame", "one_frame.mp4", "not_video", "a valid H.264 MP4 with one frame")
def _single_frame(path: Path, ctx: _Context) -> None:
    path.write_bytes(ctx.clip(".mp4", seconds=0.05))


@_case("too_short", "short.mp4", "too_short", "a valid clip of 0.4 s")
def _too_short(path: Path, ctx: _Context) -> None:
    path.write_bytes(ctx.clip(".mp4", seconds=0.4))


@_case(
    "corrupt_nal_units",
    "corrupt_nal.mp4",
    "unreadable",
    "MP4 whose every NAL unit, SPS and PPS included, is random bytes (lengths intact)",
)
def _corrupt_nal(path: Path, ctx: _Context) -> None:
    data = bytearray(ctx.clip(".mp4"))
    for kind, pos, size in _mp4_boxes(bytes(data)):
        if kind == b"mdat":
            _scramble_nals(data, pos + 8, pos + size, ctx.rng, lengths=False)
        if kind == b"avcC":
            # Past the 6-byte header and the 2-byte SPS length; keeps the box's own size.
            data[pos + 16 : pos + size] = ctx.rng.randbytes(size - 16)
    path.write_bytes(data)


@_case(
    "huge_nal_lengths",
    "nal_lengths.mp4",
    "unreadable",
    "MP4 whose NAL length prefixes all claim 2 GiB",
)
def _huge_nal_lengths(path: Path, ctx: _Context) -> None:
    data = bytearray(ctx.clip(".mp4"))
    pos, size = _box(data, b"mdat")
    _scramble_nals(data, pos + 8, pos + size, ctx.rng, lengths=True)
    path.write_bytes(data)


def _scramble_nals(
    data: bytearray, start: int, end: int, rng: random.Random, *, lengths: bool
) -> None:
    """Walk the 4-byte length-prefixed NAL units; randomise their bodies or their lengths."""
    pos = start
    while pos + 4 <= end:
        length = struct.unpack(">I", data[pos : pos + 4])[0]
        if length == 0 or pos + 4 + length > end:
            return
        if lengths:
            _patch_u32(data, pos, 0x7FFFFFFF)
        else:
            data[pos + 4 : pos + 4 + length] = rng.randbytes(length)
        pos += 4 + length


@_case(
    "ts_sync_noise",
    "noise.ts",
    "unreadable",
    "MPEG-TS sync bytes every 188 bytes around random payloads: no programme, no stream",
)
def _ts_noise(path: Path, ctx: _Context) -> None:
    path.write_bytes(b"".join(b"\x47" + ctx.rng.randbytes(187) for _ in range(400)))


@_case(
    "decode_bomb_4k",
    "bomb_4k.mp4",
    "decode_limit_exceeded",
    "299 s of 3840×2160 at 60 fps in 300 KB: legal per the headers, far too costly for "
    "CORPUS_LIMITS (a CPU or wall-clock limit ends it)",
)
def _decode_bomb(path: Path, ctx: _Context) -> None:
    _mux_h264(path, "mp4", 3840, 2160, frames=299 * 60, rate=60)


# --- API ------------------------------------------------------------------------------------


def case_names() -> list[str]:
    """Names of the corpus cases, in build order (for test parametrisation)."""
    return [spec.name for spec in _SPECS]


def build_corpus(dest: Path, *, secret: Path | None = None, seed: int = 1) -> list[HostileCase]:
    """Write every hostile file into `dest`; playlists point at `secret`.

    `secret` defaults to ``dest/outside/secret.ts`` (a name HLS would accept as a segment),
    created with :data:`SECRET_MARKER`. Takes about 2 s and 4 MB.
    """
    ctx = _context(Path(dest), secret, seed)
    return [_build(spec, ctx) for spec in _SPECS]


def build_case(name: str, dest: Path, *, secret: Path | None = None, seed: int = 1) -> HostileCase:
    """Write one corpus file (see :func:`build_corpus`)."""
    specs = {spec.name: spec for spec in _SPECS}
    if name not in specs:
        raise KeyError(f"no hostile case {name!r}; there are {', '.join(specs)}")
    return _build(specs[name], _context(Path(dest), secret, seed))


def _context(dest: Path, secret: Path | None, seed: int) -> _Context:
    dest.mkdir(parents=True, exist_ok=True)
    if secret is None:
        secret = dest / "outside" / "secret.ts"
        secret.parent.mkdir(exist_ok=True)
        secret.write_bytes(SECRET_MARKER)
    return _Context(dest=dest, secret=Path(secret).absolute(), rng=random.Random(seed), cache={})


def _build(spec: _Spec, ctx: _Context) -> HostileCase:
    path = ctx.dest / spec.filename
    spec.build(path, ctx)
    return HostileCase(spec.name, path, spec.expected_reason, spec.description)


def build_controls(dest: Path) -> list[Path]:
    """Valid clips under misleading extensions; processing must accept every one."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    made = []
    for real, named in ((".mkv", "matroska.mp4"), (".avi", "avi.mov"), (".mp4", "mp4.mkv")):
        source = generate_clip(dest / f".control{real}", seconds=1.5, width=96, height=64)
        target = dest / named
        source.rename(target)
        made.append(target)
    mjpeg = dest / "mjpeg.mp4"
    mjpeg.write_bytes(_avi(_jpeg_frames(15), width=64, height=48))
    made.append(mjpeg)
    return made


# --- workloads for the sandbox's own tests --------------------------------------------------


def stamping_stage(luma: int = 255, counts: dict[str, int] | None = None) -> FrameStage:
    """A FrameStage factory (module-level, so the sandbox can build it in the child) whose
    stage paints an 8×8 block of `luma` into the top-left corner of every frame and counts
    the frames in ``counts["frames"]``, the way a redaction report is filled in."""

    def stage(frames: Iterator[av.VideoFrame]) -> Iterator[av.VideoFrame]:
        for frame in frames:
            pixels = frame.to_ndarray()  # yuv420p: the Y plane's rows come first
            pixels[:8, :8] = luma
            stamped = av.VideoFrame.from_ndarray(pixels, format="yuv420p")
            stamped.pts, stamped.time_base = frame.pts, frame.time_base
            if counts is not None:
                counts["frames"] = counts.get("frames", 0) + 1
            yield stamped

    return stage


def burn_cpu(seconds: float = math.inf) -> None:
    """Spin until `seconds` of wall-clock time pass (forever by default)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def hog_memory(chunk_bytes: int = 64 << 20) -> None:
    """Allocate and touch memory until something gives."""
    hoard = []
    while True:
        hoard.append(bytearray(chunk_bytes))


def sleep_forever() -> None:
    """Use no CPU and never return: only the wall-clock limit ends it."""
    while True:
        time.sleep(60)


def crash() -> None:
    """Die the way a decoder bug does."""
    os.kill(os.getpid(), signal.SIGSEGV)


def write_forever(path: Path) -> None:
    """Grow a file until the file-size limit stops it."""
    block = bytes(1 << 20)
    with Path(path).open("wb") as out:
        while True:
            out.write(block)
            out.flush()
