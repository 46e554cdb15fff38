"""Probe, transcode and thumbnail uploaded clips with PyAV (no ffmpeg CLI).

``probe`` raises :class:`~vidonate.errors.UnsupportedMedia` with one of these codes:
``unreadable``, ``not_video``, ``too_short``, ``too_long``, ``resolution_too_large``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from av.container import InputContainer
from av.stream import Disposition
from av.video.frame import VideoFrame
from av.video.stream import VideoStream
from PIL import Image

from vidonate.errors import UnsupportedMedia

# Demuxers that read still images; a "video" from them is one photo, not a clip.
_IMAGE_DEMUXERS = frozenset({"image2", "image2pipe", "gif_pipe", "apng"})
_DEFAULT_FPS = Fraction(25)
# Time-lapse cameras go down to a frame every few seconds; nothing real exceeds 240 fps.
_MIN_FPS, _MAX_FPS = Fraction(1, 10), Fraction(240)
# How many packets the duration fallback may read before giving up on counting.
_MAX_COUNTED_PACKETS = 200_000
_AV_TIME_BASE = 1_000_000

# Errors from opening or decoding media that the uploader, not the server, caused.
# UnicodeDecodeError: junk metadata bytes; EOFError: truncated files in some demuxers.
_MEDIA_ERRORS = (av.FFmpegError, OSError, EOFError, UnicodeDecodeError)


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


def _open(path: Path) -> InputContainer:
    try:
        # "replace": metadata in a foreign encoding must not make a clip unreadable.
        return av.open(str(path), "r", metadata_errors="replace")
    except _MEDIA_ERRORS as exc:
        raise UnsupportedMedia("unreadable", f"the file cannot be read as media ({exc})") from exc


def _video_stream(container: InputContainer) -> VideoStream | None:
    """The first real video stream; cover art in audio files is a still, not video."""
    for stream in container.streams.video:
        if not stream.disposition & Disposition.attached_pic:
            return stream
    return None


def _is_image_demuxer(name: str) -> bool:
    return any(part in _IMAGE_DEMUXERS or part.endswith("_pipe") for part in name.split(","))


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
    """Describe `path` if it is an acceptable clip; otherwise raise UnsupportedMedia."""
    with _open(path) as container:
        fmt = container.format.name
        stream = _video_stream(container)
        if _is_image_demuxer(fmt):
            raise UnsupportedMedia("not_video", f"this is a still image ({fmt}), not a video")
        if stream is None:
            kinds = ", ".join(s.type for s in container.streams) or "no streams"
            raise UnsupportedMedia("not_video", f"the file has no video stream ({kinds})")
        width, height = stream.width, stream.height
        # Checked before decoding when the header knows the size, so a huge frame is never
        # allocated; re-checked on the decoded frame below.
        _check_resolution(width, height, limits)

        stream.thread_type = "AUTO"
        frames_seen = 0
        try:
            for frame in _decode_frames(container, stream):
                frames_seen += 1
                if frames_seen == 1:
                    width, height = frame.width, frame.height
                if frames_seen == 2:
                    break
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
) -> TranscodeResult:
    """Re-encode the first video stream of `src` to an H.264 MP4 at `dst`, dropping the rest.

    Audio, subtitles, data and all metadata tags stay behind. Every frame passes through
    ``stage`` (if given) before it is encoded. Raises UnsupportedMedia ("unreadable") when
    decoding fails; a partial `dst` is removed.
    """
    dst = Path(dst)
    try:
        return _transcode(src, dst, crf=crf, preset=preset, stage=stage)
    except BaseException:
        dst.unlink(missing_ok=True)
        raise


def _decoded(container: InputContainer, stream: VideoStream) -> Iterator[VideoFrame]:
    """Frames of `stream`; a decoding error becomes the uploader's "unreadable" problem.

    Only decoding is wrapped, so a full disk while writing stays a server error.
    """
    count = 0
    try:
        for frame in _decode_frames(container, stream):
            count += 1
            yield frame
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
    src: Path, dst: Path, *, crf: int, preset: str, stage: FrameStage | None
) -> TranscodeResult:
    with _open(src) as container:
        stream = _video_stream(container)
        if stream is None:
            raise UnsupportedMedia("not_video", "the file has no video stream")
        stream.thread_type = "AUTO"
        rate = _frame_rate(stream) or _DEFAULT_FPS
        stated = _stated_duration(container, stream)
        seen = _Span()
        frames_in = _uniform(_decoded(container, stream), seen)
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
