"""Probe, transcode and thumbnail uploaded clips with PyAV (no ffmpeg CLI).

Uploads are hostile until proven otherwise, so every input is opened through
:func:`vidonate.ingest.inputs.open_upload` (demuxer and protocol whitelists, no nested
opens). Run these functions inside :mod:`vidonate.ingest.sandbox` to bound CPU, memory
and time as well.

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
from vidonate.ingest.inputs import MEDIA_ERRORS, open_upload, refuse_references

_DEFAULT_FPS = Fraction(25)
# Time-lapse cameras go down to a frame every few seconds; nothing real exceeds 240 fps.
_MIN_FPS, _MAX_FPS = Fraction(1, 10), Fraction(240)
# A measured rate may overshoot a little from rounding in the timestamps.
_FPS_SLACK = 1.05
# How many packets the duration fallback may read before giving up on counting.
_MAX_COUNTED_PACKETS = 200_000
_AV_TIME_BASE = 1_000_000




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
    with open_upload(path) as container:
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
    refuse_references(path)
    with open_upload(path) as container:
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
        except MEDIA_ERRORS as exc:
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
    except MEDIA_ERRORS as exc:
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
    except MEDIA_ERRORS as exc:
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
    with open_upload(src) as container:
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
    with open_upload(src) as container:
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
        except MEDIA_ERRORS as exc:
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
