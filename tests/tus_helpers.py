"""A minimal tus client over httpx for protocol tests (tuspy is tested separately)."""

from __future__ import annotations

import base64
import hashlib

import httpx

TUS = {"Tus-Resumable": "1.0.0"}


def encode_metadata(metadata: dict[str, str]) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in metadata.items())


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **TUS}


def create(
    client: httpx.Client,
    token: str,
    length: int,
    metadata: dict[str, str],
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    h = {**auth(token), "Upload-Length": str(length), "Upload-Metadata": encode_metadata(metadata)}
    if body is not None:
        h["Content-Type"] = "application/offset+octet-stream"
    h.update(headers or {})
    return client.post("/api/v1/uploads", headers=h, content=body)


def patch(
    client: httpx.Client,
    token: str,
    location: str,
    offset: int,
    body: bytes,
    checksum: bool = False,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    h = {
        **auth(token),
        "Upload-Offset": str(offset),
        "Content-Type": "application/offset+octet-stream",
    }
    if checksum:
        h["Upload-Checksum"] = "sha256 " + base64.b64encode(hashlib.sha256(body).digest()).decode()
    h.update(headers or {})
    return client.patch(location, headers=h, content=body)


def upload(client: httpx.Client, token: str, data: bytes, metadata: dict[str, str]) -> str:
    """Create then PATCH in one go; returns the upload URL."""
    created = create(client, token, len(data), metadata)
    assert created.status_code == 201, created.text
    location = created.headers["Location"]
    done = patch(client, token, location, 0, data, checksum=True)
    assert done.status_code == 204, done.text
    assert done.headers["Upload-Offset"] == str(len(data))
    return location
