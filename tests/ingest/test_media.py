"""Probe, transcode and thumbnail on generated clips, plus the real footage when present."""

from __future__ import annotations

import os
import random
from fractions import Fraction
from pathlib import Path

import av
import hostile_corpus as hostile
import pytest
from PIL import Image

from vidonate.errors import UnsupportedMedia
from vidonate.ingest import inputs, media
from vidonate.ingest.media import MediaLimits, TranscodeResult, probe, thumbnail, transcode
from vidonate.ingest.samples import (
    REAL_CLIPS,
    generate_clip,
    sample_clips,
    test_media_dir,
    write_silent_audio,
)

TAGS = {"location": "+52.37+004.89/", "make": "Acme", "model": "Cam 3", "title": "Our house"}
MEDIA = test_media_dir()
needs_media = pytest.mark.skipif(
    MEDIA is None, reason="real footage absent: set VIDONATE_TEST_MEDIA or add ../shared/media"
)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="module")
def tagged_clip(clips: Path) -> Path:
    """3 s, 320×240 at 15 fps, with an AAC track and identifying container tags."""
    return generate_clip(clips / "tagged.mp4", seconds=3, audio=True, metadata=TAGS)


def _reject(path: Path, limits: MediaLimits = MediaLimits()) -> UnsupportedMedia:
    with pytest.raises(UnsupportedMedia) as caught:
        probe(path, limits)
    assert caught.value.message, "every rejection needs a human-readable message"
    return caught.value


# --- probe accepts -------------------------------------------------------------------------


def test_probe_accepts_a_generated_clip_and_measures_it(tagged_clip: Path) -> None:
    result = probe(tagged_clip)
    assert result.container.split(",")[1] == "mp4"
    assert result.codec == "h264"
    assert (result.width, result.height) == (320, 240)
    assert result.duration_s == pytest.approx(3.0, abs=0.1)
    assert result.fps == pytest.approx(15.0)
    assert result.stream_kinds == ("video", "audio")


@pytest.mark.parametrize("suffix", [".avi", ".mkv"])
def test_probe_accepts_other_containers(clips: Path, suffix: str) -> None:
    result = probe(generate_clip(clips / f"other{suffix}", seconds=1.5, width=160, height=120))
    assert (result.width, result.height) == (160, 120)
    assert result.duration_s == pytest.approx(1.5, abs=0.1)


def test_probe_measures_a_raw_stream_that_has_no_stated_duration(clips: Path) -> None:
    # Raw H.264 has neither a container nor a stream duration, so the packets are counted.
    source = generate_clip(clips / "for_raw.mp4", seconds=2, width=160, height=120)
    raw = clips / "raw.h264"
    with av.open(str(source)) as inp, av.open(str(raw), "w", format="h264") as out:
        packets = inp.demux(inp.streams.video[0])
        video = out.add_stream_from_template(inp.streams.video[0])
        for packet in packets:
            if packet.size:
                packet.stream = video
                out.mux(packet)
    with av.open(str(raw)) as check:
        assert check.duration is None and check.streams.video[0].duration is None
    assert probe(raw).duration_s == pytest.approx(2.0, abs=0.25)
    assert _reject(raw, MediaLimits(max_duration_s=1)).code == "too_long"


# --- probe rejects -------------------------------------------------------------------------


def test_probe_rejects_an_empty_file_as_unreadable(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    assert _reject(empty).code == "unreadable"


def test_probe_rejects_random_bytes_named_mp4_as_unreadable(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(random.Random(7).randbytes(20_000))
    assert _reject(junk).code == "unreadable"


def test_probe_rejects_a_png_image_as_not_video(tmp_path: Path) -> None:
    png = tmp_path / "still.png"
    Image.new("RGB", (64, 48), (200, 30, 30)).save(png)
    assert _reject(png).code == "not_video"


@needs_media
@pytest.mark.parametrize("name", ["home.jpg", "box_in_scene.png"])
def test_probe_rejects_real_photos_as_not_video(name: str) -> None:
    assert MEDIA is not None
    photo = MEDIA / name
    if not photo.is_file():
        pytest.skip(f"{name} is not in {MEDIA}")
    assert _reject(photo).code == "not_video"


def test_probe_rejects_a_single_frame_video_as_not_video(clips: Path) -> None:
    one = generate_clip(clips / "one_frame.mp4", seconds=0.05, width=64, height=48)
    assert _reject(one).code == "not_video"


@pytest.mark.parametrize(
    ("name", "fmt", "codec"), [("tone.wav", "wav", "pcm_s16le"), ("tone.m4a", "mp4", "aac")]
)
def test_probe_rejects_audio_only_files_as_not_video(
    tmp_path: Path, name: str, fmt: str, codec: str
) -> None:
    error = _reject(write_silent_audio(tmp_path / name, fmt, codec))
    assert error.code == "not_video"
    assert "audio" in error.message


def test_probe_rejects_a_half_second_clip_as_too_short(clips: Path) -> None:
    short = generate_clip(clips / "short.mp4", seconds=0.5, width=64, height=48, fps=10)
    error = _reject(short)
    assert error.code == "too_short"
    assert error.message == "clip is 0.5 s long; the minimum is 1.0 s"


def test_probe_rejects_a_clip_over_the_maximum_duration_as_too_long(tagged_clip: Path) -> None:
    error = _reject(tagged_clip, MediaLimits(max_duration_s=2))
    assert error.code == "too_long"
    assert error.message == "clip is 3.0 s long; the maximum is 2.0 s"


def test_probe_rejects_width_over_the_limit_as_resolution_too_large(tagged_clip: Path) -> None:
    error = _reject(tagged_clip, MediaLimits(max_width=200))
    assert error.code == "resolution_too_large"
    assert "320×240" in error.message and "200×2160" in error.message


def test_probe_rejects_height_over_the_limit_as_resolution_too_large(tagged_clip: Path) -> None:
    assert _reject(tagged_clip, MediaLimits(max_height=200)).code == "resolution_too_large"


# --- transcode -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def transcoded(tagged_clip: Path, clips: Path) -> tuple[Path, TranscodeResult]:
    dst = clips / "tagged_out.mp4"
    return dst, transcode(tagged_clip, dst, preset="ultrafast")


def test_generated_clip_really_carries_audio_and_tags(tagged_clip: Path) -> None:
    # Guards the tests below: dropping what was never there would prove nothing.
    with av.open(str(tagged_clip)) as inp:
        assert len(inp.streams.audio) == 1
        assert {k: inp.metadata.get(k) for k in ("make", "model", "title")} == {
            "make": "Acme",
            "model": "Cam 3",
            "title": "Our house",
        }
        assert "location" in inp.metadata


def test_transcode_writes_one_h264_video_stream_in_mp4(
    transcoded: tuple[Path, TranscodeResult],
) -> None:
    dst, _ = transcoded
    with av.open(str(dst)) as out:
        assert "mp4" in out.format.name.split(",")
        assert [s.type for s in out.streams] == ["video"]
        video = out.streams.video[0]
        assert video.codec_context.name == "h264"
        assert video.codec_context.pix_fmt == "yuv420p"


def test_transcode_drops_input_metadata_tags(transcoded: tuple[Path, TranscodeResult]) -> None:
    dst, _ = transcoded
    with av.open(str(dst)) as out:
        # Only the brand atoms the mp4 muxer always writes; no encoder or creation time either.
        assert set(out.metadata) <= {"major_brand", "minor_version", "compatible_brands"}
        assert not set(out.streams.video[0].metadata) & {"location", "make", "model", "title"}
    data = dst.read_bytes()
    for value in ("Acme", "Cam 3", "Our house", "+52.37"):
        assert value.encode() not in data


def test_transcode_keeps_frame_count_rate_and_size(
    transcoded: tuple[Path, TranscodeResult],
) -> None:
    dst, result = transcoded
    with av.open(str(dst)) as out:
        frames = sum(1 for _ in out.decode(video=0))
        assert out.streams.video[0].average_rate == 15
    assert abs(frames - 45) <= 2
    assert result.frames == frames
    assert (result.width, result.height) == (320, 240)
    assert result.duration_s == pytest.approx(3.0, abs=0.15)


def test_transcode_puts_the_index_first_for_streaming(
    transcoded: tuple[Path, TranscodeResult],
) -> None:
    data = transcoded[0].read_bytes()
    assert 0 < data.find(b"moov") < data.find(b"mdat")


@pytest.mark.parametrize("suffix", [".mkv", ".avi"])
def test_transcode_drops_audio_from_other_containers(clips: Path, suffix: str) -> None:
    src = generate_clip(clips / f"audio{suffix}", seconds=1.2, width=96, height=64, audio=True)
    dst = clips / f"audio{suffix}.mp4"
    transcode(src, dst, preset="ultrafast")
    with av.open(str(dst)) as out:
        assert [s.type for s in out.streams] == ["video"]


def test_transcode_makes_odd_dimensions_even(clips: Path) -> None:
    src = generate_clip(clips / "odd.mkv", seconds=1.2, width=161, height=121)
    dst = clips / "odd_out.mp4"
    result = transcode(src, dst, preset="ultrafast")
    assert (result.width, result.height) == (160, 120)
    with av.open(str(dst)) as out:
        frames = list(out.decode(video=0))
    assert (frames[0].width, frames[0].height) == (160, 120)
    assert abs(len(frames) - 18) <= 2


def test_transcode_restamps_frames_that_lack_timestamps(clips: Path) -> None:
    # Encoded with pts=None, so the mp4 stores nonsense timing (every packet at 0).
    src = generate_clip(clips / "stamped.mp4", seconds=2, width=96, height=64)
    broken = clips / "no_pts.mp4"
    with av.open(str(src)) as inp, av.open(str(broken), "w") as out:
        video = out.add_stream("libx264", rate=15)
        video.width, video.height, video.pix_fmt = 96, 64, "yuv420p"
        for frame in inp.decode(video=0):
            frame.pts = None
            out.mux(video.encode(frame))
        out.mux(video.encode())
    dst = clips / "no_pts_out.mp4"
    result = transcode(broken, dst, preset="ultrafast")
    assert result.frames == 30
    with av.open(str(dst)) as out:
        pts = [frame.pts for frame in out.decode(video=0)]
        assert out.duration / 1e6 == pytest.approx(2.0, abs=0.15)
    assert pts == sorted(pts) and len(set(pts)) == 30


def test_transcode_of_a_cut_off_file_fails_as_unreadable_and_leaves_nothing(
    clips: Path,
) -> None:
    whole = generate_clip(clips / "whole.mkv", seconds=4, width=96, height=64)
    cut = clips / "cut.mkv"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 3 // 10])
    dst = clips / "cut_out.mp4"
    with pytest.raises(UnsupportedMedia) as caught:
        transcode(cut, dst, preset="ultrafast")
    assert caught.value.code == "unreadable"
    assert not dst.exists()


def test_transcode_of_garbage_fails_as_unreadable(tmp_path: Path) -> None:
    junk = tmp_path / "junk.avi"
    junk.write_bytes(random.Random(3).randbytes(10_000))
    with pytest.raises(UnsupportedMedia) as caught:
        transcode(junk, tmp_path / "out.mp4")
    assert caught.value.code == "unreadable"
    assert not (tmp_path / "out.mp4").exists()


# --- thumbnail -----------------------------------------------------------------------------


def test_thumbnail_is_a_jpeg_320_wide_keeping_aspect_ratio(
    tagged_clip: Path, tmp_path: Path
) -> None:
    dst = tmp_path / "thumb.jpg"
    thumbnail(tagged_clip, dst)
    with Image.open(dst) as image:
        assert image.format == "JPEG"
        assert image.size == (320, 240)
        image.load()


def test_thumbnail_honours_a_smaller_width(clips: Path, tmp_path: Path) -> None:
    src = generate_clip(clips / "wide.mp4", seconds=1.2, width=256, height=144)
    dst = tmp_path / "small.jpg"
    thumbnail(src, dst, width=128)
    with Image.open(dst) as image:
        assert image.size == (128, 72)


# --- samples -------------------------------------------------------------------------------


def test_sample_clips_are_generated_when_no_real_footage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIDONATE_TEST_MEDIA", str(tmp_path / "nowhere"))
    made = sample_clips(tmp_path / "work", count=2)
    assert len(made) == 2 and all(p.parent == tmp_path / "work" for p in made)
    sizes = {(probe(p).width, probe(p).height) for p in made}
    assert len(sizes) == 2


@needs_media
def test_sample_clips_prefer_the_real_footage_in_order(tmp_path: Path) -> None:
    assert MEDIA is not None
    expected = [MEDIA / n for n in REAL_CLIPS if (MEDIA / n).is_file()][:3]
    assert sample_clips(tmp_path, count=3) == expected
    assert not any(tmp_path.iterdir()), "real clips are used in place, never copied"


# --- real footage --------------------------------------------------------------------------


@needs_media
@pytest.mark.parametrize(
    ("name", "size"), [("bikes.mp4", (640, 272)), ("Megamind.avi", (720, 528))]
)
def test_real_clip_probes_and_transcodes(name: str, size: tuple[int, int], tmp_path: Path) -> None:
    assert MEDIA is not None
    src = MEDIA / name
    if not src.is_file():
        pytest.skip(f"{name} is not in {MEDIA}")
    info = probe(src)
    assert (info.width, info.height) == size
    assert 9.0 < info.duration_s < 12.0
    dst = tmp_path / "out.mp4"
    result = transcode(src, dst)
    assert (result.width, result.height) == size
    assert abs(result.frames - round(info.duration_s * info.fps)) <= 2
    with av.open(str(dst)) as out:
        assert [s.type for s in out.streams] == ["video"]
        assert out.streams.video[0].codec_context.name == "h264"


# --- hostile input: what FFmpeg may open ---------------------------------------------------


def _playlist(path: Path, target: Path) -> Path:
    path.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\nfile://{target}\n")
    return path


def test_every_allowed_demuxer_name_exists() -> None:
    # A typo would not fail loudly: it would quietly refuse that container.
    parts = {
        part
        for name in av.formats_available
        if av.format.ContainerFormat(name).is_input
        for part in name.split(",")
    }
    assert set(inputs.ALLOWED_DEMUXERS) <= parts


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("list.m3u8", "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\nfile:///etc/hostname\n"),
        ("list.ffconcat", "ffconcat version 1.0\nfile '/etc/hostname'\n"),
        (
            "stream.sdp",
            "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            "m=video 5004 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n",
        ),
    ],
)
def test_the_demuxer_whitelist_alone_refuses_playlists(
    tmp_path: Path, name: str, content: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    # Opened by path, where FFmpeg would recognise each of them (hls, concat, sdp): with the
    # options media uses it refuses them (EINVAL) before their demuxer reads a byte.
    with pytest.raises(av.error.ArgumentError):
        av.open(str(path), container_options=inputs.OPEN_OPTIONS)


def test_the_demuxer_whitelist_alone_refuses_images(tmp_path: Path) -> None:
    png = tmp_path / "still.png"
    Image.new("RGB", (16, 16)).save(png)
    with pytest.raises(av.error.ArgumentError):
        av.open(str(png), container_options=inputs.OPEN_OPTIONS)


@pytest.mark.slow  # probes a file under every allowed demuxer: make test, not test-fast
def test_a_nested_open_is_refused_even_where_a_demuxer_is_allowed(tmp_path: Path) -> None:
    secret = tmp_path / "secret.ts"
    secret.write_bytes(b"SECRET")
    before = os.stat(secret).st_atime_ns
    playlist = _playlist(tmp_path / "list.m3u8", secret)
    # Let hls through the whitelist: the refusing io_open still stops the segment.
    opened = inputs.open_upload(playlist, demuxers=("hls",))
    with pytest.raises(UnsupportedMedia) as caught, opened as c:
        for _ in c.demux():
            pass
    assert caught.value.code == "disallowed_format"
    assert str(secret) in caught.value.message
    assert os.stat(secret).st_atime_ns == before


def test_an_external_track_is_refused_even_if_drefs_were_enabled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = hostile.build_case("external_reference", tmp_path)
    # By default FFmpeg skips the reference (and the clip has no frames to decode)...
    assert _reject(case.path).code == "unreadable"
    # ...and were that ever switched on, the open is refused rather than followed.
    monkeypatch.setitem(inputs.OPEN_OPTIONS, "enable_drefs", "1")
    assert _reject(case.path).code == "disallowed_format"


def test_probe_refuses_a_playlist_named_mp4_before_ffmpeg_reads_it(tmp_path: Path) -> None:
    error = _reject(_playlist(tmp_path / "clip.mp4", tmp_path / "secret.ts"))
    assert error.code == "disallowed_format"
    assert "playlist" in error.message


def test_probe_refuses_a_playlist_embedded_anywhere(tmp_path: Path, tagged_clip: Path) -> None:
    # Across the scanner's 1 MiB read boundary, to prove the overlap.
    path = tmp_path / "embedded.mp4"
    path.write_bytes(tagged_clip.read_bytes() + bytes((1 << 20) - 3) + b"#EXTM3U\n")
    error = _reject(path)
    assert error.code == "disallowed_format"
    assert f"at byte {tagged_clip.stat().st_size + (1 << 20) - 3}" in error.message


def test_probe_says_an_empty_file_is_empty(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    assert _reject(empty).message == "the file is empty"


def test_probe_calls_an_mp4_cut_off_in_mdat_truncated(tagged_clip: Path, tmp_path: Path) -> None:
    data = tagged_clip.read_bytes()  # mdat before moov, as the muxer writes it
    assert data.find(b"mdat") < data.find(b"moov")
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: data.find(b"mdat") + 500])
    error = _reject(cut)
    assert error.code == "truncated"
    assert "'mdat'" in error.message


def test_transcode_stops_at_max_frames(tagged_clip: Path, tmp_path: Path) -> None:
    dst = tmp_path / "out.mp4"
    with pytest.raises(UnsupportedMedia) as caught:
        transcode(tagged_clip, dst, preset="ultrafast", max_frames=10)
    assert caught.value.code == "too_many_frames"
    assert not dst.exists()
    assert media.frame_cap(300) == 75_600
    assert media.frame_cap(0.2) == media.frame_cap(1.0)


def test_running_out_of_memory_is_not_blamed_on_the_file(
    tagged_clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_memory(*_: object) -> None:
        raise av.error.MemoryError(12, "Cannot allocate memory")

    monkeypatch.setattr(media, "_decode_frames", no_memory)
    # Not UnsupportedMedia("unreadable"): the sandbox reports it as its memory limit.
    with pytest.raises(MemoryError):
        probe(tagged_clip)


def _vfr_source(path: Path, times: list[float]) -> Path:
    """An H.264 MP4 whose frames are at `times` (seconds): explicit pts with gaps."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=15, options={"preset": "ultrafast"})
        video.width, video.height, video.pix_fmt = 96, 64, "yuv420p"
        video.codec_context.time_base = Fraction(1, 1000)
        for index, at in enumerate(times):
            frame = av.VideoFrame(96, 64, "yuv420p")
            for plane in frame.planes:
                plane.update(bytes([index * 7 % 256]) * plane.buffer_size)
            frame.pts = round(at * 1000)
            frame.time_base = Fraction(1, 1000)
            out.mux(video.encode(frame))
        out.mux(video.encode())
    return path


def test_transcode_keeps_the_timing_of_a_variable_frame_rate_clip(clips: Path) -> None:
    # 20 frames over about 9 s: bursts at 15 fps, gaps of up to 2.5 s (a camera that
    # records on motion); re-stamped at a constant rate it would last 1.3 s.
    times = [i / 15 for i in range(6)] + [3.0 + i / 15 for i in range(6)]
    times += [5.5 + i * 0.4 for i in range(7)] + [9.0]
    src = _vfr_source(clips / "vfr.mp4", times)
    with av.open(str(src)) as inp:
        source_times = [frame.time for frame in inp.decode(video=0)]
    assert source_times == pytest.approx(times, abs=1e-3)
    dst = clips / "vfr_out.mp4"
    result = transcode(src, dst, preset="ultrafast")
    with av.open(str(dst)) as out:
        stored = [frame.time for frame in out.decode(video=0)]
        stored_duration = out.duration / 1e6
    frame = 1 / 15
    assert result.frames == len(stored) == len(times)
    assert [t - stored[0] for t in stored] == pytest.approx(times, abs=frame / 2)
    assert stored_duration == pytest.approx(times[-1] + frame, abs=frame)
    assert result.duration_s == pytest.approx(times[-1] + frame, abs=frame)
    assert probe(dst).duration_s == pytest.approx(probe(src).duration_s, abs=frame)
