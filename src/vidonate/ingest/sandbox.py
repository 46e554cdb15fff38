"""Run media work in a child process with limits, so a hostile upload can only hurt its child.

The child is a fresh interpreter (``python -c``; no fork of the multi-threaded server, no
inherited descriptors but its own pipes) that sets ``RLIMIT_CPU`` (CPU seconds, all threads
together), ``RLIMIT_AS`` (address space), ``RLIMIT_FSIZE`` (largest file it may write),
``RLIMIT_NOFILE`` and no core dumps before it runs anything; the parent kills it when the
wall-clock limit passes. Start-up (interpreter, PyAV import) costs about 0.2 s a call.

What crosses the process boundary is pickled: pass a *module-level* function and picklable
arguments. Something that is not picklable (a closure such as a redaction
:data:`~vidonate.ingest.media.FrameStage`) must be built inside the child: pass the
factory that makes it, as the function itself or as ``"package.module:name"``, plus its
keyword arguments (see :func:`process_media`'s ``stage``).

Outcomes:

* the function's return value, or the :class:`~vidonate.errors.UnsupportedMedia` it raised
  (same code and message);
* ``UnsupportedMedia("decode_limit_exceeded")`` when a limit ends the child: CPU time
  (SIGXCPU/SIGKILL), memory (MemoryError), output size (EFBIG), wall-clock time;
* ``UnsupportedMedia("decoder_crashed")`` when the child dies of anything else (SIGSEGV,
  SIGABRT…) before answering;
* :class:`SandboxError` for any other exception in the child (a bug or a full disk: the
  server's problem, not the uploader's), carrying the child's traceback.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import math
import os
import pickle
import resource
import selectors
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, ParamSpec, TypeVar

from vidonate.errors import UnsupportedMedia
from vidonate.ingest import media

P = ParamSpec("P")
T = TypeVar("T")

_GIB = 1 << 30
_CHILD_CODE = (
    "import sys; from vidonate.ingest.sandbox import _child_main; _child_main(sys.argv[1])"
)
# After the child has answered, how long it may take to exit before it is killed.
_EXIT_GRACE_S = 5.0
_CHILD_ENV = {
    # Each thread may otherwise reserve a 64 MiB malloc arena; with FFmpeg's and x264's
    # threads on a many-core machine that alone would use up the address-space limit.
    "MALLOC_ARENA_MAX": "2",
}


@dataclass(frozen=True)
class SandboxLimits:
    """Per-child limits. The defaults leave room for a 5-minute 4K clip with redaction on a
    many-core machine; tests tighten them. They bound a hostile upload, so loosen with care."""

    cpu_seconds: int = 1800
    memory_bytes: int = 6 * _GIB
    wall_seconds: float = 1200.0
    file_bytes: int = 8 * _GIB
    open_files: int = 256


class SandboxError(RuntimeError):
    """The sandboxed function failed for a reason that is not the upload's fault."""

    def __init__(self, kind: str, message: str, child_traceback: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.child_traceback = child_traceback

    def __str__(self) -> str:
        return f"{super().__str__()}\n--- in the sandbox ---\n{self.child_traceback}"


def run_sandboxed(
    fn: Callable[P, T], /, *args: P.args, limits: SandboxLimits | None = None, **kwargs: P.kwargs
) -> T:
    """``fn(*args, **kwargs)`` in a fresh child under `limits` (see the module docstring)."""
    limits = limits or SandboxLimits()
    payload = pickle.dumps((limits, fn, args, kwargs))
    deadline = time.monotonic() + limits.wall_seconds
    result_r, result_w = os.pipe()
    try:
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD_CODE, str(result_w)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            pass_fds=(result_w,),
            env={**os.environ, **_CHILD_ENV},
            # Its own process group, so the kill below reaches anything it started.
            start_new_session=True,
        )
    except BaseException:
        os.close(result_r)
        os.close(result_w)
        raise
    os.close(result_w)  # the child holds the only writer: its death reads as end of file
    try:
        _send(child, payload)
        answer = _read_until(result_r, deadline)
        if answer is None:
            _kill(child)
            raise UnsupportedMedia(
                "decode_limit_exceeded",
                f"processing was stopped: it ran longer than the wall-clock limit of "
                f"{limits.wall_seconds:g} s",
            )
        try:
            child.wait(_EXIT_GRACE_S)
        except subprocess.TimeoutExpired:
            _kill(child)
    finally:
        os.close(result_r)
        if child.returncode is None:
            _kill(child)
    return _result(answer, child.returncode, limits)  # type: ignore[no-any-return]


def _send(child: subprocess.Popen[bytes], payload: bytes) -> None:
    assert child.stdin is not None
    try:
        child.stdin.write(payload)
        child.stdin.close()
    except BrokenPipeError:  # it died before reading: its exit status tells why
        pass


def _read_until(fd: int, deadline: float) -> bytes | None:
    """Everything written to `fd` until end of file, or None if `deadline` passes first."""
    chunks: list[bytes] = []
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def _kill(child: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(child.pid, signal.SIGKILL)
    child.wait()


def _result(answer: bytes, returncode: int | None, limits: SandboxLimits) -> Any:
    try:
        outcome = pickle.loads(answer) if answer else None
    except Exception:  # cut short by its death
        outcome = None
    if outcome is None:
        raise _death(returncode, limits)
    kind = outcome[0]
    if kind == "ok":
        return outcome[1]
    if kind == "refused":
        raise UnsupportedMedia(outcome[1], outcome[2])
    if kind == "limit":
        raise UnsupportedMedia("decode_limit_exceeded", f"processing was stopped: {outcome[1]}")
    raise SandboxError(outcome[1], outcome[2], outcome[3])


def _death(returncode: int | None, limits: SandboxLimits) -> UnsupportedMedia:
    """The reason for a child that ended without an answer."""
    if returncode is not None and returncode < 0:
        signum = signal.Signals(-returncode)
        limit = {
            signal.SIGXCPU: f"it used up the CPU time limit of {limits.cpu_seconds} s",
            # The hard CPU limit (or the kernel's OOM killer) sends SIGKILL.
            signal.SIGKILL: f"it was killed (CPU limit {limits.cpu_seconds} s, or out of memory)",
            signal.SIGXFSZ: f"its output reached the file size limit of {_size(limits.file_bytes)}",
            signal.SIGALRM: f"it ran past the wall-clock limit of {limits.wall_seconds:g} s",
        }.get(signum)
        if limit is not None:
            return UnsupportedMedia("decode_limit_exceeded", f"processing was stopped: {limit}")
        return UnsupportedMedia(
            "decoder_crashed", f"the decoder crashed on this file ({signum.name})"
        )
    return UnsupportedMedia(
        "decoder_crashed", f"the decoder exited without an answer (exit status {returncode})"
    )


def _size(n: int) -> str:
    return f"{n / _GIB:.1f} GiB" if n >= _GIB else f"{n / (1 << 20):.0f} MiB"


def _apply_limits(limits: SandboxLimits) -> None:
    """Set this (child) process's limits; they can only go down from the inherited ones."""

    def lower(which: int, value: int, hard_extra: int = 0) -> None:
        _, hard = resource.getrlimit(which)
        ceiling = math.inf if hard == resource.RLIM_INFINITY else hard
        resource.setrlimit(which, (int(min(value, ceiling)), int(min(value + hard_extra, ceiling))))

    lower(resource.RLIMIT_CORE, 0)
    # SIGXCPU at the soft limit; the hard limit one second later sends SIGKILL.
    lower(resource.RLIMIT_CPU, max(1, limits.cpu_seconds), hard_extra=1)
    lower(resource.RLIMIT_AS, limits.memory_bytes)
    lower(resource.RLIMIT_FSIZE, limits.file_bytes)
    lower(resource.RLIMIT_NOFILE, limits.open_files)
    # Backstop for the parent's wall-clock kill, should the parent itself die first.
    signal.alarm(max(1, math.ceil(limits.wall_seconds) + 5))


def _child_main(result_fd: str) -> None:
    """Entry point of the child: limits first, then the call; one pickled outcome back."""
    with os.fdopen(int(result_fd), "wb") as out:
        outcome: tuple[Any, ...]
        limits = SandboxLimits()
        try:
            limits, fn, args, kwargs = pickle.load(sys.stdin.buffer)
            _apply_limits(limits)
            outcome = ("ok", fn(*args, **kwargs))
        except UnsupportedMedia as exc:
            outcome = ("refused", exc.code, exc.message)
        except MemoryError:
            outcome = ("limit", f"it ran out of memory (limit {_size(limits.memory_bytes)})")
        except BaseException as exc:
            if _is_file_too_large(exc):
                size = _size(limits.file_bytes)
                outcome = ("limit", f"its output reached the file size limit of {size}")
            else:
                outcome = ("error", type(exc).__qualname__, str(exc), traceback.format_exc())
        try:
            data = pickle.dumps(outcome)
        except Exception as exc:  # an unpicklable result
            data = pickle.dumps(("error", type(exc).__qualname__, str(exc), traceback.format_exc()))
        out.write(data)


def _is_file_too_large(exc: BaseException) -> bool:
    """Python ignores SIGXFSZ, so hitting RLIMIT_FSIZE surfaces as EFBIG, maybe wrapped."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno == errno.EFBIG:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


# --- the processing job's media work, in one child per clip ---------------------------------

StageFactory = Callable[..., media.FrameStage]
_VIDEO, _THUMBNAIL = "video.mp4", "thumbnail.jpg"


class ProcessedMedia(NamedTuple):
    """What :func:`process_media` produced: measurements, the two output files, and the
    stage's keyword arguments as the child left them (so a report object the stage filled
    in, such as a ``RedactionReport``, comes back)."""

    probe: media.ProbeResult
    transcode: media.TranscodeResult
    video: Path
    thumbnail: Path
    stage_kwargs: dict[str, Any]


def process_media(
    src: Path,
    workdir: Path,
    *,
    media_limits: media.MediaLimits | None = None,
    limits: SandboxLimits | None = None,
    stage: StageFactory | str | None = None,
    stage_kwargs: Mapping[str, Any] | None = None,
    crf: int = 23,
    preset: str = "veryfast",
) -> ProcessedMedia:
    """probe → transcode (through the stage) → thumbnail of `src`, in one sandboxed child.

    Writes ``workdir/video.mp4`` and ``workdir/thumbnail.jpg``. `stage` is a factory that
    returns the :data:`~vidonate.ingest.media.FrameStage` (a module-level function, or
    ``"package.module:name"``); it is called in the child with `stage_kwargs`, which must
    be picklable. Raises UnsupportedMedia (any code of :mod:`~vidonate.ingest.media`, or
    ``decode_limit_exceeded`` / ``decoder_crashed``) or SandboxError.
    """
    workdir = Path(workdir).absolute()
    try:
        return run_sandboxed(
            _process,
            Path(src).absolute(),
            workdir,
            media_limits or media.MediaLimits(),
            stage,
            dict(stage_kwargs or {}),
            crf,
            preset,
            limits=limits,
        )
    except BaseException:
        # A child killed mid-write cannot clean up after itself.
        for name in (_VIDEO, _THUMBNAIL):
            (workdir / name).unlink(missing_ok=True)
        raise


def _process(
    src: Path,
    workdir: Path,
    media_limits: media.MediaLimits,
    stage: StageFactory | str | None,
    stage_kwargs: dict[str, Any],
    crf: int,
    preset: str,
) -> ProcessedMedia:
    """The child's side of process_media."""
    probed = media.probe(src, media_limits)
    frame_stage = _resolve(stage)(**stage_kwargs) if stage is not None else None
    video, thumb = workdir / _VIDEO, workdir / _THUMBNAIL
    encoded = media.transcode(
        src,
        video,
        crf=crf,
        preset=preset,
        stage=frame_stage,
        max_frames=media.frame_cap(probed.duration_s),
    )
    media.thumbnail(video, thumb)
    return ProcessedMedia(probed, encoded, video, thumb, stage_kwargs)


def _resolve(factory: StageFactory | str) -> StageFactory:
    if callable(factory):
        return factory
    module, _, name = factory.partition(":")
    if not module or not name:
        raise ValueError(f"stage {factory!r} is not 'package.module:name'")
    resolved = getattr(importlib.import_module(module), name)
    if not callable(resolved):
        raise TypeError(f"stage {factory!r} is not callable")
    return resolved  # type: ignore[no-any-return]
