"""Run media work in a child process with limits, so a hostile upload can only hurt its child.

The child is a fresh interpreter (``python -c``; no fork of the multi-threaded server, no
inherited descriptors but its own pipes) that sets ``RLIMIT_CPU`` (CPU seconds, all threads
together), ``RLIMIT_AS`` (address space), ``RLIMIT_FSIZE`` (largest file it may write),
``RLIMIT_NOFILE`` and no core dumps before it runs anything; the parent kills it when the
wall-clock limit passes. Start-up (interpreter, PyAV import) costs about 0.2 s a call.

The call travels parent → child pickled: pass a *module-level* function and picklable
arguments. Something that is not picklable (a closure such as a redaction
:data:`~vidonate.ingest.media.FrameStage`) must be built inside the child: pass the
factory that makes it, as the function itself or as ``"package.module:name"``, plus its
keyword arguments (see :func:`process_media`'s ``stage``).

The answer travels child → parent as JSON, never pickled: the child decodes hostile files,
so whatever it sends is untrusted. It is validated with pydantic against a fixed envelope
and the function's declared return type (its annotation, or ``returns=``), and bounded in
size; anything else is ``UnsupportedMedia("decoder_bad_answer")`` and nothing of it is used.

Outcomes:

* the function's return value, or the :class:`~vidonate.errors.UnsupportedMedia` it raised
  (same code and message);
* ``UnsupportedMedia("decode_limit_exceeded")`` when a limit ends the child: CPU time
  (SIGXCPU/SIGKILL), memory (MemoryError), output size (EFBIG), wall-clock time;
* ``UnsupportedMedia("decoder_crashed")`` when the child dies of anything else (SIGSEGV,
  SIGABRT…) before answering;
* ``UnsupportedMedia("decoder_bad_answer")`` when the answer is malformed, too large or
  not of the declared type (a child taken over by its input could send anything);
* :class:`SandboxError` for any other exception in the child (a bug or a full disk: the
  server's problem, not the uploader's), carrying the child's traceback.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import dataclasses
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
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Generic, Literal, NamedTuple, ParamSpec, TypeVar

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    TypeAdapter,
    ValidationError,
    create_model,
)
from pydantic_core import to_json

from vidonate.errors import UnsupportedMedia
from vidonate.ingest import media

P = ParamSpec("P")
T = TypeVar("T")

_GIB = 1 << 30
_CHILD_CODE = (
    "import sys; from vidonate.ingest.sandbox import _child_main; "
    "_child_main(sys.argv[1], int(sys.argv[2]))"
)
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
# The most a child may answer: results are measurements and hashes, never media.
MAX_ANSWER_BYTES = 64 << 20
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
    # CPU priority (as nice(1)): a child yields the CPU to the server's requests, so that
    # a long processing job does not slow every page down. Only ever lowered.
    nice: int = 0


class SandboxError(RuntimeError):
    """The sandboxed function failed for a reason that is not the upload's fault."""

    def __init__(self, kind: str, message: str, child_traceback: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.child_traceback = child_traceback

    def __str__(self) -> str:
        return f"{super().__str__()}\n--- in the sandbox ---\n{self.child_traceback}"


# PEP 612 allows no keyword-only options between P.args and P.kwargs; these two are the
# sandbox's own (fn never sees them), and calls are still checked against fn's signature.
def run_sandboxed(  # type: ignore[valid-type]
    fn: Callable[P, T],
    /,
    *args: P.args,
    limits: SandboxLimits | None = None,
    returns: Any = None,
    **kwargs: P.kwargs,
) -> T:
    """``fn(*args, **kwargs)`` in a fresh child under `limits` (see the module docstring).

    `returns` is the type the answer is validated against (anything pydantic validates
    from JSON); by default `fn`'s return annotation, or `fn` itself if it is a class.
    """
    limits = limits or SandboxLimits()
    returns = _return_type(fn) if returns is None else returns
    envelope = _envelope(returns)  # fails here, in the parent, for a type JSON cannot carry
    payload = pickle.dumps((limits, fn, args, kwargs))
    deadline = time.monotonic() + limits.wall_seconds
    result_r, result_w = os.pipe()
    try:
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD_CODE, str(result_w), str(os.getpid())],
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
        answer = _read_until(result_r, deadline, MAX_ANSWER_BYTES)
        if answer is _TOO_LARGE:
            _kill(child)
            raise _bad_answer(f"it sent more than {_size(MAX_ANSWER_BYTES)}")
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
    return _result(envelope, answer, child.returncode, limits)


def _return_type(fn: Callable[..., Any]) -> Any:
    if isinstance(fn, type):
        return fn
    try:
        return typing.get_type_hints(fn, include_extras=True)["return"]
    except (KeyError, NameError) as exc:
        raise TypeError(
            f"{fn!r} has no resolvable return annotation; pass returns= to run_sandboxed"
        ) from exc


# --- the answer: a fixed envelope around a value of the declared type -------------------

_CODE = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
_TEXT = Annotated[str, Field(max_length=4000)]


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Ok(_Answer, Generic[T]):
    kind: Literal["ok"]
    value: T


class _Refused(_Answer):
    kind: Literal["refused"]
    code: _CODE
    message: _TEXT


class _Limit(_Answer):
    kind: Literal["limit"]
    message: _TEXT


class _Failed(_Answer):
    kind: Literal["error"]
    type: _TEXT
    message: _TEXT
    traceback: Annotated[str, Field(max_length=100_000)]


def _envelope(returns: Any) -> TypeAdapter[Any]:
    ok = _Ok[returns]
    return TypeAdapter(Annotated[ok | _Refused | _Limit | _Failed, Field(discriminator="kind")])


# --- numpy arrays in answers: dtype, shape and raw bytes, checked against each other ------

_ARRAY_DTYPES = frozenset({"bool", "uint8", "uint16", "int32", "int64", "float32", "float64"})


class _ArrayWire(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dtype: Literal["bool", "uint8", "uint16", "int32", "int64", "float32", "float64"]
    shape: Annotated[list[Annotated[int, Field(ge=0)]], Field(max_length=4)]
    data: str


def _array_from_json(value: Any) -> np.ndarray:
    wire = _ArrayWire.model_validate(value)
    raw = base64.b64decode(wire.data, validate=True)
    dtype = np.dtype("uint8" if wire.dtype == "bool" else wire.dtype)
    if math.prod(wire.shape) * dtype.itemsize != len(raw):
        raise ValueError(f"{len(raw)} bytes do not make an array of shape {wire.shape}")
    array = np.frombuffer(raw, dtype).reshape(wire.shape)
    return array != 0 if wire.dtype == "bool" else array.copy()


def _array_to_json(array: np.ndarray) -> dict[str, Any]:
    array = np.ascontiguousarray(array)
    if array.dtype.name not in _ARRAY_DTYPES:
        raise TypeError(f"an array of {array.dtype} cannot be sent")
    raw = array.astype(np.uint8).tobytes() if array.dtype == np.bool_ else array.tobytes()
    return {
        "dtype": array.dtype.name,
        "shape": list(array.shape),
        "data": base64.b64encode(raw).decode(),
    }


NdArray = Annotated[np.ndarray, PlainValidator(_array_from_json)]


def wire_type(tp: Any, namespace: Mapping[str, Any] | None = None) -> Any:
    """`tp` as a type the answer can carry: numpy array fields of dataclasses (at any depth)
    become :data:`NdArray`; everything else pydantic handles as it is. `namespace` resolves
    annotations the dataclass's module only imports for type checking."""
    if tp is np.ndarray:
        return NdArray
    if not (isinstance(tp, type) and dataclasses.is_dataclass(tp)):
        return tp
    hints = typing.get_type_hints(tp, localns=dict(namespace or {}), include_extras=True)
    fields = {f.name: wire_type(hints[f.name], namespace) for f in dataclasses.fields(tp)}
    if all(fields[name] is hints[name] for name in fields):
        return tp
    # create_model's overloads cannot type field definitions built at run time as **kwargs.
    model = create_model(  # type: ignore[call-overload]
        f"{tp.__name__}Wire",
        __config__=ConfigDict(extra="forbid"),
        **{name: (kind, ...) for name, kind in fields.items()},
    )

    def load(value: Any) -> Any:
        checked = model.model_validate(value)
        return tp(**{name: getattr(checked, name) for name in fields})

    # Any, not tp: pydantic would otherwise build (and fail on) tp's own schema too.
    return Annotated[Any, PlainValidator(load)]


def _bad_answer(why: str) -> UnsupportedMedia:
    return UnsupportedMedia(
        "decoder_bad_answer",
        f"processing was stopped: the decoder's answer was not in the expected form ({why})",
    )


def _send(child: subprocess.Popen[bytes], payload: bytes) -> None:
    assert child.stdin is not None
    try:
        child.stdin.write(payload)
        child.stdin.close()
    except BrokenPipeError:  # it died before reading: its exit status tells why
        pass


_TOO_LARGE = b"<too large>"


def _read_until(fd: int, deadline: float, most: int) -> bytes | None:
    """Everything written to `fd` until end of file, or None if `deadline` passes first,
    or ``_TOO_LARGE`` (that very object) once more than `most` bytes arrived."""
    chunks: list[bytes] = []
    received = 0
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return b"".join(chunks)
            received += len(chunk)
            if received > most:
                return _TOO_LARGE
            chunks.append(chunk)


def _kill(child: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(child.pid, signal.SIGKILL)
    child.wait()


def _result(
    envelope: TypeAdapter[Any], answer: bytes, returncode: int | None, limits: SandboxLimits
) -> Any:
    if not answer:
        raise _death(returncode, limits)
    try:
        outcome = envelope.validate_json(answer)
    except ValidationError as exc:
        if returncode != 0:  # cut short by its death: the death is the reason
            raise _death(returncode, limits) from None
        problem = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in problem["loc"][:4])
        raise _bad_answer(f"{where or 'answer'}: {problem['msg']}"[:200]) from None
    if isinstance(outcome, _Ok):
        return outcome.value
    if isinstance(outcome, _Refused):
        raise UnsupportedMedia(outcome.code, outcome.message)
    if isinstance(outcome, _Limit):
        raise UnsupportedMedia(
            "decode_limit_exceeded", f"processing was stopped: {outcome.message}"
        )
    raise SandboxError(outcome.type, outcome.message, outcome.traceback)


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
    if limits.nice > 0:
        os.nice(limits.nice)
    # Backstop for the parent's wall-clock kill, should the parent itself die first.
    signal.alarm(max(1, math.ceil(limits.wall_seconds) + 5))


def _die_with_parent(parent_pid: int) -> None:
    """Have the kernel kill this child when its parent dies (kill -9 included), so that no
    decoder keeps working on, and writing, a dead worker's plaintext."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent_pid:  # the parent died before the line above took effect
        os._exit(1)


def _child_main(result_fd: str, parent_pid: int) -> None:
    """Entry point of the child: limits first, then the call; one JSON answer back.

    The value is written as pydantic serializes it by its runtime type (dataclasses as
    objects, numpy arrays as :data:`NdArray` does); the parent checks it against the type."""
    _die_with_parent(parent_pid)
    with os.fdopen(int(result_fd), "wb") as out:
        outcome: dict[str, Any]
        limits = SandboxLimits()
        try:
            limits, fn, args, kwargs = pickle.load(sys.stdin.buffer)
            _apply_limits(limits)
            outcome = {"kind": "ok", "value": fn(*args, **kwargs)}
        except UnsupportedMedia as exc:
            outcome = {"kind": "refused", "code": exc.code, "message": exc.message[:4000]}
        except MemoryError:
            limit = f"it ran out of memory (limit {_size(limits.memory_bytes)})"
            outcome = {"kind": "limit", "message": limit}
        except BaseException as exc:
            if _is_file_too_large(exc):
                size = _size(limits.file_bytes)
                limit = f"its output reached the file size limit of {size}"
                outcome = {"kind": "limit", "message": limit}
            else:
                outcome = _failed(exc)
        try:
            data = to_json(outcome, fallback=_to_json_fallback)
        except Exception as exc:  # a result JSON cannot carry
            data = to_json(_failed(exc))
        out.write(data)


def _to_json_fallback(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return _array_to_json(value)
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"a {type(value).__qualname__} cannot be sent as JSON")


def _failed(exc: BaseException) -> dict[str, Any]:
    return {
        "kind": "error",
        "type": type(exc).__qualname__[:4000],
        "message": str(exc)[:4000],
        "traceback": traceback.format_exc()[-100_000:],
    }


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
    stage's keyword arguments as the child left them, as JSON data (so what a stage counted
    into a dict it was given comes back)."""

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
        out = run_sandboxed(
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
        # The child names its outputs; a child taken over could name any file of the
        # worker's, which would then be stored as the clip.
        if (out.video, out.thumbnail) != (workdir / _VIDEO, workdir / _THUMBNAIL):
            raise _bad_answer("its output files are not where they were asked for")
    except BaseException:
        # A child killed mid-write cannot clean up after itself.
        for name in (_VIDEO, _THUMBNAIL):
            (workdir / name).unlink(missing_ok=True)
        raise
    return out


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
    return resolved
