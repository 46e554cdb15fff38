"""tus 1.0.0 endpoints. The protocol lives in ``ingest.tus``; this maps headers to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.utils import format_datetime

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from vidonate.errors import (
    InvalidInput,
    MethodNotAllowed,
    PayloadTooLarge,
    PreconditionFailed,
    UnsupportedContentType,
)
from vidonate.ingest import tus
from vidonate.web.deps import CurrentUser, RateLimitsDep, RuntimeDep, check_upload_rate
from vidonate.web.headers import DONATION_HEADER, decimal, header_count, method_overridden

router = APIRouter(prefix="/uploads", tags=["uploads (tus)"])
OFFSET_STREAM = "application/offset+octet-stream"


def _header(
    name: str, description: str, *, required: bool = False, **schema: object
) -> dict[str, object]:
    return {
        "name": name,
        "in": "header",
        "required": required,
        "description": description,
        "schema": {"type": "string", **schema},
    }


# The tus headers are read from the request by hand (each has its own tus error), so
# FastAPI cannot see them; they are documented here for clients and for fuzzers.
TUS_RESUMABLE = _header("Tus-Resumable", "the protocol version", required=True, enum=["1.0.0"])
UPLOAD_CHECKSUM = _header(
    "Upload-Checksum", "'sha256 <base64 digest>' (or sha1) of this request's body"
)
CHUNK_BODY = {
    "content": {OFFSET_STREAM: {"schema": {"type": "string", "format": "binary"}}},
}


def _require_tus(request: Request) -> None:
    if request.headers.get("tus-resumable") != tus.TUS_VERSION:
        raise PreconditionFailed("tus_version", f"send 'Tus-Resumable: {tus.TUS_VERSION}'")


def _headers(state: tus.UploadState, *, offset: bool = True) -> dict[str, str]:
    headers = {
        "Tus-Resumable": tus.TUS_VERSION,
        "Upload-Expires": format_datetime(state.expires_at, usegmt=True),
        # Which donation this upload fills, so a client can follow its processing.
        DONATION_HEADER: str(state.donation_id),
    }
    if offset:
        headers["Upload-Offset"] = str(state.offset)
    return headers


async def _body(request: Request) -> AsyncIterator[bytes]:
    try:
        async for chunk in request.stream():
            if chunk:
                yield chunk
    except ClientDisconnect:
        raise tus.ClientGone() from None


def _check_content_length(request: Request, room: int | None = None) -> None:
    declared = decimal(request.headers.get("content-length"))
    if room is not None and declared is not None and declared > room:
        raise PayloadTooLarge("body_too_large", f"the body is {declared} bytes; {room} are left")


@router.options("", include_in_schema=False)
def discover(rt: RuntimeDep) -> Response:
    return Response(
        status_code=204,
        headers={
            "Tus-Max-Size": str(rt.settings.tus_max_size),
            "Tus-Resumable": tus.TUS_VERSION,
            "Tus-Version": tus.TUS_VERSION,
            "Tus-Extension": tus.EXTENSIONS,
            "Tus-Checksum-Algorithm": tus.CHECKSUM_ALGORITHMS,
        },
    )


@router.post(
    "",
    status_code=201,
    openapi_extra={
        "parameters": [
            TUS_RESUMABLE,
            _header(
                "Upload-Length", "the file's size in bytes", required=True, pattern="^[0-9]{1,18}$"
            ),
            _header("Upload-Metadata", "comma-separated 'key base64(value)' pairs"),
            UPLOAD_CHECKSUM,
        ],
        "requestBody": {"required": False, **CHUNK_BODY},
    },
)
async def create(
    request: Request, user: CurrentUser, rt: RuntimeDep, limits: RateLimitsDep
) -> Response:
    """tus creation (and creation-with-upload): donation metadata in ``Upload-Metadata``.

    Fields: campaign, category, camera, consent (the consent text's sha256 or version),
    staged, recorded_at (ISO 8601), incident, filename. New uploads per donor are
    limited (429 ``rate_limited``).
    """
    _require_tus(request)
    if request.headers.get("upload-concat") is not None:
        # Parallel uploads (Uppy's parallelUploads) would make each piece its own donation.
        raise InvalidInput(
            "concatenation_unsupported",
            "Upload-Concat is not supported: upload the file as one upload "
            "(turn off parallel uploads in the client)",
        )
    check_upload_rate(limits, user)
    if request.headers.get("upload-defer-length"):
        raise InvalidInput(
            "defer_length_unsupported", "send Upload-Length; deferring it is not supported"
        )
    length = header_count(request.headers.get("upload-length"), "Upload-Length")
    header = request.headers.get("upload-metadata")
    metadata = tus.parse_metadata(header)

    state = await run_in_threadpool(tus.create_upload, rt.uploads, user, length, metadata, header)
    location = str(request.url_for("upload_head", upload_id=state.id))
    headers = {**_headers(state, offset=False), "Location": location}
    if request.headers.get("content-type") == OFFSET_STREAM:
        _check_content_length(request, state.length)
        checksum = tus.parse_checksum(request.headers.get("upload-checksum"))
        state = await tus.append(rt.uploads, user, state.id, 0, _body(request), checksum)
        headers = {**_headers(state), "Location": location}
    return Response(status_code=201, headers=headers)


@router.head("/{upload_id}", name="upload_head", openapi_extra={"parameters": [TUS_RESUMABLE]})
def head(upload_id: str, request: Request, user: CurrentUser, rt: RuntimeDep) -> Response:
    _require_tus(request)
    state = tus.upload_state(rt.sessions, user, upload_id)
    headers = {**_headers(state), "Upload-Length": str(state.length), "Cache-Control": "no-store"}
    if state.metadata_header:  # tus: returned as the client sent it at creation
        headers["Upload-Metadata"] = state.metadata_header
    return Response(status_code=200, headers=headers)


@router.patch(
    "/{upload_id}",
    status_code=204,
    openapi_extra={
        "parameters": [
            TUS_RESUMABLE,
            _header(
                "Upload-Offset", "where this chunk starts", required=True, pattern="^[0-9]{1,18}$"
            ),
            UPLOAD_CHECKSUM,
        ],
        "requestBody": {"required": True, **CHUNK_BODY},
    },
)
async def patch(upload_id: str, request: Request, user: CurrentUser, rt: RuntimeDep) -> Response:
    _require_tus(request)
    if request.headers.get("content-type") != OFFSET_STREAM:
        raise UnsupportedContentType("bad_content_type", f"PATCH bodies are {OFFSET_STREAM}")
    offset = header_count(request.headers.get("upload-offset"), "Upload-Offset")
    checksum = tus.parse_checksum(request.headers.get("upload-checksum"))
    state = await tus.append(rt.uploads, user, upload_id, offset, _body(request), checksum)
    return Response(status_code=204, headers=_headers(state))


@router.delete("/{upload_id}", status_code=204, openapi_extra={"parameters": [TUS_RESUMABLE]})
def terminate(upload_id: str, request: Request, user: CurrentUser, rt: RuntimeDep) -> Response:
    _require_tus(request)
    tus.terminate(rt.sessions, rt.store, user, upload_id)
    return Response(status_code=204, headers={"Tus-Resumable": tus.TUS_VERSION})


@router.post("/{upload_id}", include_in_schema=False)
async def method_override(
    upload_id: str, request: Request, user: CurrentUser, rt: RuntimeDep
) -> Response:
    """``X-HTTP-Method-Override``: PATCH, DELETE or HEAD sent as POST, for proxies that
    pass only GET and POST (tus-js-client's ``overridePatchMethod``)."""
    method = method_overridden(request)
    if method == "PATCH":
        return await patch(upload_id, request, user, rt)
    if method == "DELETE":
        return await run_in_threadpool(terminate, upload_id, request, user, rt)
    if method == "HEAD":
        return await run_in_threadpool(head, upload_id, request, user, rt)
    raise MethodNotAllowed(
        "method_not_allowed",
        "POST to an upload needs X-HTTP-Method-Override: PATCH, DELETE or HEAD",
        allow="HEAD, PATCH, DELETE, POST",
    )
