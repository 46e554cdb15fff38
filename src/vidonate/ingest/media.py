"""Probe, transcode and thumbnail uploaded clips with PyAV (no ffmpeg CLI).

Uploads are hostile until proven otherwise, so every input is opened through :func:`_open`:
FFmpeg reads the upload through a Python file object, may use only the demuxers in
:data:`ALLOWED_DEMUXERS`, and any attempt to open a second file or URL (a playlist segment, a
concat entry, an external track) is refused and reported. Run these functions inside
:mod:`vidonate.ingest.sandbox` to bound CPU, memory and time as well.

They raise :class:`~vidonate.errors.UnsupportedMedia` with one of these codes:

``unreadable``
    not a media file, damaged, or decoding fails
``truncated``
    an MP4/MOV that is cut off: a box runs past the end, or the index (moov) is missing
``disallowed_format``
    a playlist, concat script, SDP or other reference file, or a file that embeds one or
    tries to open another file or URL
``not_video``
    audio only, a still image, or a single frame
``bad_timing``
    timestamps that make no sense: less than one frame every 10 s
``too_many_frames``
    more than 240 frames per second, declared or decoded
``too_short`` / ``too_long`` / ``resolution_too_large``
    outside :class:`MediaLimits`
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import av
from av.container import InputContainer
from av.stream import Disposition
from av.video.frame import VideoFrame
from av.video.stream import VideoStream
from PIL import Image

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
_OPEN_OPTIONS = {
    "format_whitelist": ",".join(ALLOWED_DEMUXERS),
    # Nested opens go through _open's refusing io_open anyway; this is the second lock.
    "protocol_whitelist": "file",
    # mov: never follow a data reference ("alias") to another file; off by default, pinned.
    "enable_drefs": "0",
    "use_absolute_path": "0",
}
_DEFAULT_FPS = Fraction(25)
# Time-lapse cameras go down to a frame every few seconds; nothing real exceeds 240 fps.
_MIN_FPS, _MAX_FPS = Fraction(1, 10), Fraction(240)
# A measured rate may overshoot a little from rounding in the timestamps.
_FPS_SLACK = 1.05
# How many packets the duration fallback may read before giving up on counting.
_MAX_COUNTED_PACKETS = 200_000
_AV_TIME_BASE = 1_000_000
_HEAD_BYTES = 64
_SCAN_CHUNK = 1 << 20

# Errors from opening or decoding media that the uploader, not the server, caused.
# UnicodeDecodeError: junk metadata bytes; EOFError: truncated files in some demuxers.
# MemoryError (av.error.MemoryError is one) is not among them: it is caught first and
# re-raised, so that the sandbox reports it as the memory limit it is.
_MEDIA_ERRORS = (av.FFmpegError, OSError, EOFError, UnicodeDecodeError)

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


@dataclass(frozen=True)
class MediaLimits:
    """What a donated clip may be."""

    min_duration_s: float = 1.0
    max_duration_s: float = 300.0
    max_width: int = 3840
    max_height: int = 2160


@dataclass(frozen=True)
class ProbeResult:
    """What probe measured about an acceptable clip."""

    container: str
    codec: str
    width: int
    height: int
    duration_s: float
    fps: float
    stream_kinds: tuple[str, ...]


@dataclass(frozen=True)
class TranscodeResult:
    """The re-encoded clip's video stream."""

    width: int
    height: int
    frames: int
    duration_s: float


@contextmanager
def _open(path: Path, *, demuxers: tuple[str, ...] = ALLOWED_DEMUXERS) -> Iterator[InputContainer]:
    """The one way to open an upload (`demuxers` exists for tests of the other safeguards).

    FFmpeg gets a Python file object, not a path, so the name is never parsed as a URL
    (``concat:``, ``subfile,``); every nested open is refused and turns into
    ``disallowed_format``, even when the demuxer would have coped without it.
    """
    refused: list[str] = []

    def refuse(url: str, flags: int, options: dict[str, str]) -> BinaryIO:
        refused.append(url)
        raise PermissionError(f"opening {url!r} from inside an upload is not allowed")

    options = dict(_OPEN_OPTIONS, format_whitelist=",".join(demuxers))
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
        except _MEDIA_ERRORS as exc:
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


def _refuse_references(path: Path) -> None:
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


def _video_stream(container: InputContainer) -> VideoStream | None:
    """The first real video stream; cover art in audio files is a still, not video."""
    for stream in container.streams.video:
        if not stream.disposition & Disposition.attached_pic:
            return stream
    return None


def _frame_rate(stream: VideoStream) -> Fraction | None:
    """The first plausible of the rates FFmpeg offers; broken timestamps give absurd ones."""
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate and _MIN_FPS <= rate <= _MAX_FPS:
            return Fraction(rate)
    return None


def _decode_frames(container: InputContainer, stream: VideoStream) -> Iterator[VideoFrame]:
    """Frames of one stream, demuxing only that stream's packets."""
    for packet in container.demux(stream):
        yield from packet.decode()


def _fmt(value: float, limit: float) -> str:
    """One decimal, unless that would print the same number as the limit it violates."""
    text = f"{value:.1f}"
    return f"{value:.3f}" if text == f"{limit:.1f}" else text


def _counted_duration(path: Path, cap_s: float) -> float:
    """Duration from the packets themselves, reading no further than just past `cap_s`.

    Prefers the timestamp span, then the sum of packet durations (raw H.264 has no
    timestamps but does have durations), then packet count / frame rate.
    """
    with _open(path) as container:
        stream = _video_stream(container)
        if stream is None:  # cannot happen after probe found one; keeps the types honest
            return 0.0
        rate = _frame_rate(stream) or _DEFAULT_FPS
        tb = stream.time_base or Fraction(1, 1)
        first: int | None = None
        end = 0
        summed = 0
        count = 0

        def measured() -> float:
            if first is not None and end > first:
                return float((end - first) * tb)
            if summed > 0:
                return float(summed * tb)
            return float(count / rate)

        for packet in container.demux(stream):
            if packet.size == 0:  # the empty packet that flushes the decoder at the end
                continue
            count += 1
            summed += packet.duration or 0
            if packet.pts is not None:
                first = packet.pts if first is None else min(first, packet.pts)
                end = max(end, packet.pts + (packet.duration or 0))
            if count >= _MAX_COUNTED_PACKETS or (count % 64 == 0 and measured() > cap_s):
                break
        return measured()


def probe(path: Path, limits: MediaLimits = MediaLimits()) -> ProbeResult:
    """Describe `path` if it is an acceptable clip; otherwise raise UnsupportedMedia.

    Everything that can be refused from the headers is refused before a frame is decoded.
    """
    _refuse_references(path)
    with _open(path) as container:
        fmt = container.format.name
        stream = _video_stream(container)
        if stream is None:
            kinds = ", ".join(s.type for s in container.streams) or "no streams"
            raise UnsupportedMedia("not_video", f"the file has no video stream ({kinds})")
        width, height = stream.width, stream.height
        # Checked before decoding when the header knows the size, so a huge frame is never
        # allocated; re-checked on the decoded frame below.
        _check_resolution(width, height, limits)
        _check_timing(stream)

        stream.thread_type = "AUTO"
        frames_seen = 0
        try:
            for frame in _decode_frames(container, stream):
                frames_seen += 1
                if frames_seen == 1:
                    width, height = frame.width, frame.height
                if frames_seen == 2:
                    break
        except MemoryError:
            raise
        except _MEDIA_ERRORS as exc:
            if frames_seen == 0:
                raise UnsupportedMedia(
                    "unreadable", f"the video stream cannot be decoded ({exc})"
                ) from exc
        if frames_seen == 0:
            raise UnsupportedMedia("unreadable", "the video stream holds no decodable frame")
        if frames_seen == 1:
            raise UnsupportedMedia("not_video", "the file holds a single picture, not a video")
        _check_resolution(width, height, limits)

        duration = _duration(path, container, stream, limits)
        _check_frame_count(stream, duration)
        if duration < limits.min_duration_s:
            raise UnsupportedMedia(
                "too_short",
                f"clip is {_fmt(duration, limits.min_duration_s)} s long; "
                f"the minimum is {limits.min_duration_s:.1f} s",
            )
        if duration > limits.max_duration_s:
            raise UnsupportedMedia(
                "too_long",
                f"clip is {_fmt(duration, limits.max_duration_s)} s long; "
                f"the maximum is {limits.max_duration_s:.1f} s",
            )
        rate = _frame_rate(stream)
        return ProbeResult(
            container=fmt,
            # codec.name can be a decoder like "libdav1d"; the descriptor name is the format.
            codec=stream.codec_context.codec.canonical_name,
            width=width,
            height=height,
            duration_s=duration,
            fps=float(rate) if rate else 0.0,
            stream_kinds=tuple(s.type for s in container.streams),
        )


def _check_timing(stream: VideoStream) -> None:
    """Refuse a stream whose every rate is a frame less often than every 10 s.

    Such rates come from a patched time base or sample durations, never from a camera;
    a stream with no rate at all is left to the duration fallback.
    """
    rates = [Fraction(r) for r in (stream.average_rate, stream.guessed_rate, stream.base_rate) if r]
    if rates and max(rates) < _MIN_FPS:
        raise UnsupportedMedia(
            "bad_timing",
            f"the stream's timing is implausible: one frame every {float(1 / max(rates)):.0f} s",
        )


def _check_frame_count(stream: VideoStream, duration: float) -> None:
    """Refuse more than 240 frames per second, from the declared count or the measured rate.

    Catches 100,000 tiny frames before any is decoded. A few frames with broken timestamps
    (a short clip that claims 450 fps) are left to the duration checks.
    """
    frames = stream.frames or round(float(stream.average_rate or 0) * duration)
    per_second = frames / max(duration, 1e-3)
    if frames > _MAX_FPS and per_second > _MAX_FPS * _FPS_SLACK:
        raise UnsupportedMedia(
            "too_many_frames",
            f"the clip has {frames} frames in {duration:.1f} s ({per_second:.0f} per second); "
            f"at most {_MAX_FPS} per second are accepted",
        )


def frame_cap(duration_s: float) -> int:
    """The most frames a clip of `duration_s` may decode to (for transcode's `max_frames`)."""
    return math.ceil(max(duration_s, 1.0) * _MAX_FPS * _FPS_SLACK)


def _check_resolution(width: int, height: int, limits: MediaLimits) -> None:
    if width > limits.max_width or height > limits.max_height:
        raise UnsupportedMedia(
            "resolution_too_large",
            f"clip is {width}×{height}; the maximum is {limits.max_width}×{limits.max_height}",
        )


def _duration(
    path: Path, container: InputContainer, stream: VideoStream, limits: MediaLimits
) -> float:
    """Container duration, else stream duration, else counted from packets (bounded)."""
    if container.duration and container.duration > 0:
        return container.duration / _AV_TIME_BASE
    if stream.duration and stream.duration > 0 and stream.time_base:
        return float(stream.duration * stream.time_base)
    try:
        # A fresh container, because seeking back is unreliable in exactly the raw and
        # streamed formats that lack a duration.
        return _counted_duration(path, limits.max_duration_s)
    except MemoryError:
        raise
    except _MEDIA_ERRORS as exc:
        raise UnsupportedMedia("unreadable", f"the file is damaged ({exc})") from exc


def _even(frame: VideoFrame) -> VideoFrame:
    """yuv420p at even dimensions (H.264 4:2:0 cannot encode an odd row or column)."""
    width, height = frame.width - frame.width % 2, frame.height - frame.height % 2
    return frame.reformat(width=max(2, width), height=max(2, height), format="yuv420p")


FrameStage = Callable[[Iterator[VideoFrame]], Iterator[VideoFrame]]
"""A stage between decoding and encoding (redaction): it receives yuv420p frames of even
size in display order and yields the same number of frames of the same size, in order.
It may hold some frames back (to look ahead) as long as it yields them all in the end."""


def transcode(
    src: Path,
    dst: Path,
    *,
    crf: int = 23,
    preset: str = "veryfast",
    stage: FrameStage | None = None,
    max_frames: int | None = None,
) -> TranscodeResult:
    """Re-encode the first video stream of `src` to an H.264 MP4 at `dst`, dropping the rest.

    Audio, subtitles, data and all metadata tags stay behind. Every frame passes through
    ``stage`` (if given) before it is encoded. Raises UnsupportedMedia ("unreadable") when
    decoding fails, ("too_many_frames") when more than `max_frames` frames decode (see
    :func:`frame_cap`); a partial `dst` is removed.
    """
    dst = Path(dst)
    try:
        return _transcode(src, dst, crf=crf, preset=preset, stage=stage, max_frames=max_frames)
    except BaseException:
        dst.unlink(missing_ok=True)
        raise


def _decoded(
    container: InputContainer, stream: VideoStream, max_frames: int | None
) -> Iterator[VideoFrame]:
    """Frames of `stream`; a decoding error becomes the uploader's "unreadable" problem.

    Only decoding is wrapped, so a full disk while writing stays a server error.
    """
    count = 0
    try:
        for frame in _decode_frames(container, stream):
            count += 1
            if max_frames is not None and count > max_frames:
                raise UnsupportedMedia(
                    "too_many_frames",
                    f"the video holds more than {max_frames} frames, more than its stated "
                    "length allows",
                )
            yield frame
    except MemoryError:
        raise
    except _MEDIA_ERRORS as exc:
        raise UnsupportedMedia(
            "unreadable", f"decoding failed after {count} frames ({exc})"
        ) from exc


def _stated_duration(container: InputContainer, stream: VideoStream) -> float | None:
    """What the headers claim, preferring the video stream's own length."""
    if stream.duration and stream.duration > 0 and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration and container.duration > 0:
        return container.duration / _AV_TIME_BASE
    return None


@dataclass
class _Span:
    """First and last timestamp seen, and the first frame's display rotation."""

    first_t: float | None = None
    last_t: float | None = None
    rotation: int | None = None


def _uniform(frames: Iterator[VideoFrame], span: _Span) -> Iterator[VideoFrame]:
    """yuv420p frames, all of the first frame's even size; records timestamps on the way."""
    size: tuple[int, int] | None = None
    for frame in frames:
        if frame.time is not None:
            span.first_t = frame.time if span.first_t is None else min(span.first_t, frame.time)
            span.last_t = frame.time if span.last_t is None else max(span.last_t, frame.time)
        if span.rotation is None:
            # Read before _even: reformat returns a frame without the source's side data.
            span.rotation = frame.rotation
        frame = _even(frame)
        if size is None:
            size = (frame.width, frame.height)
        elif (frame.width, frame.height) != size:
            # Mid-stream size changes: keep the first size for the whole clip.
            frame = frame.reformat(width=size[0], height=size[1])
        yield frame


def _transcode(
    src: Path,
    dst: Path,
    *,
    crf: int,
    preset: str,
    stage: FrameStage | None,
    max_frames: int | None,
) -> TranscodeResult:
    with _open(src) as container:
        stream = _video_stream(container)
        if stream is None:
            raise UnsupportedMedia("not_video", "the file has no video stream")
        stream.thread_type = "AUTO"
        rate = _frame_rate(stream) or _DEFAULT_FPS
        stated = _stated_duration(container, stream)
        seen = _Span()
        frames_in = _uniform(_decoded(container, stream, max_frames), seen)
        # "+bitexact" stops the muxer from writing its own "encoder" tag and a creation time.
        options = {"movflags": "+faststart", "fflags": "+bitexact"}
        with av.open(str(dst), "w", format="mp4", container_options=options) as out:
            video: VideoStream | None = None
            frames = 0
            for frame in stage(frames_in) if stage else frames_in:
                if video is None:
                    video = _add_h264(out, frame, rate, crf, preset, stream)
                    if seen.rotation:
                        # Phones store portrait video as rotated landscape plus this hint;
                        # without it the donated clip would play sideways.
                        video.set_display_rotation(seen.rotation)
                # Source timestamps may be missing, repeated or out of order: restamp at a
                # constant rate so the encoder and muxer always see a clean sequence.
                frame.pts = frames
                frame.time_base = video.codec_context.time_base
                out.mux(video.encode(frame))
                frames += 1
            if video is None:
                raise UnsupportedMedia("unreadable", "the video stream holds no decodable frame")
            out.mux(video.encode())
        first_t, last_t = seen.first_t, seen.last_t
        # Demuxers treat a damaged or cut-off file as a quiet end of file, so compare what
        # was decoded with what the headers promised.
        span = float(frames / rate)
        if first_t is not None and last_t is not None:
            span = max(span, last_t - first_t + float(1 / rate))
        if stated is not None and stated - span > 1.0 and span < 0.5 * stated:
            raise UnsupportedMedia(
                "unreadable",
                f"the video breaks off after {span:.1f} s of its stated {stated:.1f} s",
            )
        return TranscodeResult(
            width=video.width, height=video.height, frames=frames, duration_s=float(frames / rate)
        )


def _add_h264(
    out: av.container.OutputContainer,
    first: VideoFrame,
    rate: Fraction,
    crf: int,
    preset: str,
    source: VideoStream,
) -> VideoStream:
    """The output's only stream, sized from the first decoded frame (headers can lie)."""
    video = out.add_stream("libx264", rate=rate, options={"crf": str(crf), "preset": preset})
    video.width = first.width
    video.height = first.height
    video.pix_fmt = "yuv420p"
    video.codec_context.time_base = 1 / rate
    video.thread_type = "AUTO"
    if source.sample_aspect_ratio:
        video.codec_context.sample_aspect_ratio = source.sample_aspect_ratio
    return video


def thumbnail(src: Path, dst: Path, *, width: int = 320) -> None:
    """Write a JPEG of the frame at min(1 s, middle of the clip), `width` pixels wide."""
    with _open(src) as container:
        stream = _video_stream(container)
        if stream is None:
            raise UnsupportedMedia("not_video", "the file has no video stream")
        stream.thread_type = "AUTO"
        length = container.duration / _AV_TIME_BASE if container.duration else None
        target = min(1.0, length / 2) if length else 1.0
        rate = float(_frame_rate(stream) or _DEFAULT_FPS)
        start: float | None = None
        chosen: VideoFrame | None = None
        try:
            # Decoding from the start is cheap for a target of at most 1 s and avoids
            # seeking, which is unreliable in AVI and streams without an index.
            for index, frame in enumerate(_decode_frames(container, stream)):
                at = frame.time if frame.time is not None else index / rate
                start = at if start is None else start
                chosen = frame
                if at - start >= target:
                    break
        except MemoryError:
            raise
        except _MEDIA_ERRORS as exc:
            if chosen is None:
                raise UnsupportedMedia("unreadable", f"no frame can be decoded ({exc})") from exc
        if chosen is None:
            raise UnsupportedMedia("unreadable", "the video stream holds no decodable frame")
        image = chosen.to_image()
        rotation = chosen.rotation
    display_w = image.width * float(stream.sample_aspect_ratio or 1)
    image = image.resize((round(display_w), image.height)) if display_w != image.width else image
    if rotation:
        image = image.rotate(rotation, expand=True)  # both counter-clockwise degrees
    height = max(1, round(width * image.height / image.width))
    image.resize((width, height), Image.Resampling.LANCZOS).save(dst, format="JPEG", quality=85)
