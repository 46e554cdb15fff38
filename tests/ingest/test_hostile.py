"""The hostile corpus through the sandboxed processing entry point, and the sandbox's limits.

Every corpus file must fail with its own reason within the limits, nothing outside the
upload may be opened (watched with inotify while the whole corpus is processed), and a good
clip must still process afterwards.
"""

from __future__ import annotations

import ctypes
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import av
import hostile_corpus as hostile
import pytest
from hostile_corpus import CORPUS_LIMITS, SECRET_MARKER, HostileCase
from PIL import Image

from vidonate.errors import UnsupportedMedia
from vidonate.ingest import media
from vidonate.ingest.samples import generate_clip
from vidonate.ingest.sandbox import (
    ProcessedMedia,
    SandboxError,
    SandboxLimits,
    process_media,
    run_sandboxed,
)

_IN_ACCESS, _IN_OPEN = 0x1, 0x20


@pytest.fixture(autouse=True)
def _children_import_the_corpus(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sandbox's child is a fresh interpreter: it imports the workloads and stages sent
    to it from this folder, as pytest's import path lets this module do."""
    here = str(Path(__file__).parent)
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))
    )


class OpenWatch:
    """Every open or read of the files in a directory (and of the directory), via inotify."""

    def __init__(self, directory: Path) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            pytest.skip(f"inotify unavailable (errno {ctypes.get_errno()})")
        if libc.inotify_add_watch(self.fd, os.fsencode(directory), _IN_ACCESS | _IN_OPEN) < 0:
            pytest.skip(f"cannot watch {directory} (errno {ctypes.get_errno()})")

    def events(self) -> list[str]:
        found = []
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return found
            pos = 0
            while pos < len(data):
                _, mask, _, length = struct.unpack_from("iIII", data, pos)
                name = data[pos + 16 : pos + 16 + length].rstrip(b"\0").decode()
                found.append(f"{name or '.'}: {'open' if mask & _IN_OPEN else 'read'}")
                pos += 16 + length

    def close(self) -> None:
        os.close(self.fd)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, HostileCase]:
    cases = hostile.build_corpus(tmp_path_factory.mktemp("hostile"))
    return {case.name: case for case in cases}


@dataclass(frozen=True)
class Outcome:
    """What processing one corpus file did."""

    error: UnsupportedMedia | None
    left_output: bool  # a video.mp4 in the work dir
    copied_the_secret: bool  # the secret's bytes in any file of the work dir


@dataclass(frozen=True)
class CorpusRun:
    outcomes: dict[str, Outcome]
    opened_near_the_secret: list[str]  # what the watch saw while the corpus was processed
    watch_sees_a_read: bool  # the watch's own check: reading the secret afterwards is seen


@pytest.fixture(scope="module")
def corpus_run(
    corpus: dict[str, HostileCase], tmp_path_factory: pytest.TempPathFactory
) -> CorpusRun:
    """The whole corpus processed once, with every open next to the secret watched.

    Watching starts after the corpus (and the secret) are written, so it sees processing
    only. Every test below reads this run, so each also holds when run alone.
    """
    secret = next(iter(corpus.values())).path.parent / "outside" / "secret.ts"
    watch = OpenWatch(secret.parent)
    try:
        outcomes = {}
        for name, case in corpus.items():
            work = tmp_path_factory.mktemp(f"work-{name}")
            error = None
            try:
                process_media(case.path, work, limits=CORPUS_LIMITS, preset="ultrafast")
            except UnsupportedMedia as exc:
                error = exc
            outcomes[name] = Outcome(
                error,
                left_output=(work / "video.mp4").exists(),
                copied_the_secret=any(SECRET_MARKER in f.read_bytes() for f in work.iterdir()),
            )
        opened = watch.events()
        assert secret.read_bytes() == SECRET_MARKER
        return CorpusRun(outcomes, opened, "secret.ts: open" in watch.events())
    finally:
        watch.close()


def test_corpus_is_large_and_small(corpus: dict[str, HostileCase]) -> None:
    assert len(corpus) >= 20
    assert len({case.expected_reason for case in corpus.values()}) >= 8
    assert sum(case.path.stat().st_size for case in corpus.values()) < 20_000_000


@pytest.mark.parametrize("name", hostile.case_names())
def test_hostile_file_fails_with_its_reason_within_the_limits(
    name: str, corpus: dict[str, HostileCase], corpus_run: CorpusRun
) -> None:
    outcome = corpus_run.outcomes[name]
    assert outcome.error is not None, f"{name} was processed as a video"
    assert (outcome.error.code, name) == (corpus[name].expected_reason, name), outcome.error.message
    assert outcome.error.message
    assert not outcome.left_output, "a failed transcode leaves no output"
    assert not outcome.copied_the_secret


def test_no_file_outside_the_upload_was_opened(corpus_run: CorpusRun) -> None:
    assert len(corpus_run.outcomes) >= 20  # the whole corpus went through under the watch
    assert corpus_run.opened_near_the_secret == [], "processing opened a file by the secret"
    assert corpus_run.watch_sees_a_read, "the watch itself works"


@pytest.fixture(scope="module")
def controls(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return hostile.build_controls(tmp_path_factory.mktemp("controls"))


@pytest.mark.parametrize("index", range(4))
def test_valid_video_under_a_misleading_extension_is_accepted(
    controls: list[Path], index: int, tmp_path: Path
) -> None:
    result = process_media(controls[index], tmp_path, limits=CORPUS_LIMITS, preset="ultrafast")
    assert result.transcode.frames >= 15
    assert result.video.is_file() and result.thumbnail.is_file()


def test_a_good_clip_still_processes_after_the_corpus(tmp_path: Path) -> None:
    clip = generate_clip(tmp_path / "good.mp4", seconds=2, width=160, height=120, audio=True)
    workdir = tmp_path / "work"
    workdir.mkdir()
    result = process_media(clip, workdir, limits=CORPUS_LIMITS, preset="ultrafast")
    assert isinstance(result, ProcessedMedia)
    assert (result.probe.width, result.probe.height) == (160, 120)
    assert result.probe.duration_s == pytest.approx(2.0, abs=0.1)
    assert result.transcode.frames == 30
    assert result.video == workdir / "video.mp4"
    with av.open(str(result.video)) as out:
        assert [s.type for s in out.streams] == ["video"]
    with Image.open(result.thumbnail) as thumb:
        assert thumb.format == "JPEG" and thumb.size == (320, 240)


@pytest.mark.parametrize("stage", [hostile.stamping_stage, "hostile_corpus:stamping_stage"])
def test_a_stage_factory_runs_inside_the_sandbox(stage: object, tmp_path: Path) -> None:
    clip = generate_clip(tmp_path / "plain.mp4", seconds=1.2, width=64, height=48)
    result = process_media(
        clip,
        tmp_path,
        limits=CORPUS_LIMITS,
        stage=stage,  # type: ignore[arg-type]
        stage_kwargs={"luma": 250, "counts": {}},
        preset="ultrafast",
    )
    with av.open(str(result.video)) as out:
        first = next(out.decode(video=0)).to_ndarray()
    assert first[2:6, 2:6].min() > 230, "the stamp is in the output"
    assert result.transcode.frames == 18
    # What the stage recorded in the child comes back with the result.
    assert result.stage_kwargs["counts"] == {"frames": 18}


# --- the sandbox's limits ------------------------------------------------------------------


def _stopped(limits: SandboxLimits, fn: object, *args: object) -> UnsupportedMedia:
    """The refusal that stopped ``fn`` in the sandbox; its message names the limit."""
    with pytest.raises(UnsupportedMedia) as caught:
        run_sandboxed(fn, *args, limits=limits)  # type: ignore[arg-type]
    return caught.value


def test_sandbox_returns_the_result_and_carries_refusals(tmp_path: Path) -> None:
    clip = generate_clip(tmp_path / "ok.mp4", seconds=1.5, width=64, height=48)
    assert run_sandboxed(media.probe, clip).duration_s == pytest.approx(1.5, abs=0.1)
    still = tmp_path / "still.mp4"
    Image.new("RGB", (8, 8)).save(still, format="PNG")
    error = _stopped(SandboxLimits(), media.probe, still)
    assert (error.code, error.message) == ("not_video", "this is a still image (PNG), not a video")


def test_cpu_limit_stops_a_busy_child() -> None:
    error = _stopped(SandboxLimits(cpu_seconds=1, wall_seconds=30), hostile.burn_cpu)
    assert error.code == "decode_limit_exceeded"
    assert "CPU" in error.message  # the CPU limit stopped it, well before the wall clock


def test_memory_limit_stops_a_greedy_child() -> None:
    limits = SandboxLimits(memory_bytes=768 << 20, wall_seconds=30)
    error = _stopped(limits, hostile.hog_memory)
    assert error.code == "decode_limit_exceeded"
    assert "memory" in error.message


def test_wall_clock_limit_stops_an_idle_child() -> None:
    error = _stopped(SandboxLimits(wall_seconds=1.5), hostile.sleep_forever)
    assert error.code == "decode_limit_exceeded"
    assert "wall-clock" in error.message


def test_file_size_limit_stops_a_runaway_writer(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    error = _stopped(SandboxLimits(file_bytes=4 << 20, wall_seconds=30), hostile.write_forever, big)
    assert error.code == "decode_limit_exceeded"
    assert "file size" in error.message
    assert big.stat().st_size <= 4 << 20


def test_a_crash_is_reported_as_decoder_crashed() -> None:
    error = _stopped(SandboxLimits(wall_seconds=30), hostile.crash)
    assert error.code == "decoder_crashed"
    assert "SIGSEGV" in error.message


def test_other_errors_are_the_servers_problem_with_the_childs_traceback() -> None:
    with pytest.raises(SandboxError) as caught:
        run_sandboxed(int, "not a number")
    assert caught.value.kind == "ValueError"
    assert "invalid literal" in str(caught.value)
    assert "Traceback" in caught.value.child_traceback
