"""Detection over HTTP: post a video, get the events the detector finds in it.

The body is the video file itself. It is streamed to a job directory of the registered
scratch space (it is plaintext: removed when the request ends, and swept at start-up
should the process die meanwhile), refused at its first bytes unless it starts like a
video container, and decoded only in a sandboxed child process with CPU, memory and time
limits, like every upload. Nothing is stored.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from vidonate.errors import InvalidInput, PayloadTooLarge, UnsupportedContentType
from vidonate.ingest.sniff import SNIFF_BYTES, container_of
from vidonate.web.deps import CurrentUser, RuntimeDep

router = APIRouter(prefix="/detect", tags=["detection"])
MAX_BYTES = 512 * 1024 * 1024


class DetectedEvent(BaseModel):
    start: float
    end: float
    label: str
    score: float


class DetectionResult(BaseModel):
    model: int
    events: list[DetectedEvent]


@router.post(
    "",
    response_model=DetectionResult,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
async def detect(
    request: Request,
    user: CurrentUser,
    rt: RuntimeDep,
    model: str | None = Query(
        None,
        max_length=20,
        description="a model id, or latest (the newest); default the served model",
    ),
) -> DetectionResult:
    """Find package-theft and car-door-tampering events (start, end, label, score)."""
    with rt.scratch.job_dir("detect-upload") as workdir:
        video = workdir / "video"
        size = 0
        head = b""
        with video.open("wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_BYTES:
                    raise PayloadTooLarge(
                        "body_too_large", f"a video for detection is at most {MAX_BYTES} bytes"
                    )
                if len(head) < SNIFF_BYTES:
                    head += chunk[: SNIFF_BYTES - len(head)]
                out.write(chunk)
        if size == 0:
            raise InvalidInput("empty_body", "send the video file as the request body")
        if container_of(head) is None:
            raise UnsupportedContentType(
                "unsupported_file_type", "the body is not a video container vidonate reads"
            )
        model_id, events = await run_in_threadpool(_detect_sandboxed, rt, model, video)
        return DetectionResult(model=model_id, events=[DetectedEvent(**e) for e in events])


def _detect_sandboxed(rt: RuntimeDep, model: str | None, video: Path) -> tuple[int, list[dict]]:
    from vidonate.detect.pipeline import detect_sandboxed

    return detect_sandboxed(rt.pipeline(), model, video, rt.settings)
