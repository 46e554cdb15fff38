"""The S3 store's own behaviour on a real SeaweedFS server (the shared contract is in
test_contract.py): multipart streaming, ranged GETs, paging, sweeping, keys and outages."""

from __future__ import annotations

import os
from typing import Any

import pytest
from botocore.exceptions import ClientError
from fastapi.testclient import TestClient
from sqlalchemy import select

from seaweed import SeaweedS3
from tus_helpers import upload
from vidonate.config import Settings
from vidonate.crypto.vault import Vault
from vidonate.db.engine import transaction
from vidonate.db.models import Donation
from vidonate.errors import ServiceUnavailable
from vidonate.ingest.samples import generate_clip
from vidonate.runtime import Runtime
from vidonate.storage import open_store
from vidonate.storage.base import put_bytes, read_bytes
from vidonate.storage.s3 import MIN_PART_SIZE, S3Store
from vidonate.web.app import create_app
from world import build_world

MIB = 1024 * 1024


@pytest.fixture
def store(s3_env: SeaweedS3) -> S3Store:
    opened = open_store(s3_env.storage_url(s3_env.new_prefix()))
    assert isinstance(opened, S3Store)
    return opened


def _uploads_in_progress(store: S3Store) -> list[dict[str, Any]]:
    answer = store.client.list_multipart_uploads(Bucket=store.bucket, Prefix=store.prefix)
    return list(answer.get("Uploads", []))


def _requests(store: S3Store, operation: str) -> list[dict[str, str]]:
    """Records the headers of every ``operation`` request the store's client sends."""
    seen: list[dict[str, str]] = []

    def record(request: Any, **_: Any) -> None:
        seen.append(
            {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        )

    store.client.meta.events.register(f"before-send.s3.{operation}", record)
    return seen


def test_a_large_blob_streams_as_multipart_parts_and_appears_only_at_commit(
    store: S3Store,
) -> None:
    parts = _requests(store, "UploadPart")
    data = os.urandom(2 * MIN_PART_SIZE + 3 * MIB)
    writer = store.writer("clips/1/video.mp4")
    for offset in range(0, len(data), MIB):
        writer.write(data[offset : offset + MIB])
    assert len(parts) == 2, "two full parts are sent while writing, not buffered to the end"
    assert store.keys() == [] and len(_uploads_in_progress(store)) == 1
    assert writer.commit() == len(data)
    assert len(parts) == 3 and _uploads_in_progress(store) == []
    assert read_bytes(store, "clips/1/video.mp4") == data


def test_an_aborted_multipart_write_leaves_no_parts(store: S3Store) -> None:
    writer = store.writer("uploads/u/0")
    writer.write(os.urandom(MIN_PART_SIZE + 1))
    assert len(_uploads_in_progress(store)) == 1
    writer.abort()
    assert _uploads_in_progress(store) == [] and store.keys() == []


def test_a_ranged_read_asks_for_that_range_only(store: S3Store) -> None:
    data = os.urandom(3 * MIB)
    put_bytes(store, "clips/2/video.mp4", data)
    gets = _requests(store, "GetObject")
    piece = b"".join(store.read("clips/2/video.mp4", start=MIB, end=MIB + 100))
    assert piece == data[MIB : MIB + 100]
    assert [g.get("Range") for g in gets] == [f"bytes={MIB}-{MIB + 99}"]


def test_keys_are_listed_page_by_page(store: S3Store) -> None:
    for n in range(7):
        put_bytes(store, f"clips/{n}/thumb.jpg", b"x")
    lists = _requests(store, "ListObjectsV2")
    paginator = store.client.get_paginator("list_objects_v2")
    pages = list(
        paginator.paginate(
            Bucket=store.bucket, Prefix=store.prefix, PaginationConfig={"PageSize": 3}
        )
    )
    assert len(pages) == 3, "the server pages the listing"
    lists.clear()
    store.page_size = 3
    assert store.keys("clips/") == [f"clips/{n}/thumb.jpg" for n in range(7)]
    assert len(lists) == 3, "keys() follows every page"


def test_sweep_partial_aborts_uploads_a_crashed_writer_left(store: S3Store) -> None:
    crashed = store.writer("uploads/dead/0")
    crashed.write(os.urandom(MIN_PART_SIZE))  # one part sent, then the process "died"
    assert store.sweep_partial() == 0, "a day has not passed: it may still be at work"
    assert store.sweep_partial(older_than_s=0) == 1
    assert _uploads_in_progress(store) == []


def test_a_wrong_access_key_is_refused(seaweed: SeaweedS3) -> None:
    intruder = S3Store(seaweed.bucket, "t-intruder", seaweed.client("not-the-key", "nope"))
    with pytest.raises(ClientError) as refused:
        put_bytes(intruder, "clips/1/video.mp4", b"x")
    assert refused.value.response["Error"]["Code"] in ("InvalidAccessKeyId", "AccessDenied")


def test_an_unreachable_store_raises_storage_unavailable(s3_env: SeaweedS3) -> None:
    with socket_port() as closed:
        down = open_store(f"s3://bucket/p?endpoint_url=http://127.0.0.1:{closed}")
        with pytest.raises(ServiceUnavailable) as failed:
            down.exists("clips/1/video.mp4")
    assert failed.value.code == "storage_unavailable" and failed.value.status_code == 503


def test_the_bucket_holds_ciphertext_only(store: S3Store, tmp_path: Any) -> None:
    from vidonate.crypto.vault import open_key_ring

    master = tmp_path / "master.key"
    vault = Vault(store, open_key_ring(master), master)
    clip_key = os.urandom(32)
    plaintext = b"a frame of a porch camera " * 4096
    writer = vault.writer(clip_key, "clips/3/video.mp4")
    writer.write(plaintext)
    writer.commit()
    raw = read_bytes(store, "clips/3/video.mp4")
    assert b"porch camera" not in raw and len(raw) >= len(plaintext)
    assert b"".join(vault.read(clip_key, "clips/3/video.mp4")) == plaintext


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("s3://", "names no bucket"),
        ("s3://bucket?endpoint=http://x", "unknown option"),
    ],
)
def test_a_malformed_s3_url_is_refused_with_its_fault(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        open_store(url)


class socket_port:
    """A loopback port that nothing listens on, for as long as the block runs."""

    def __enter__(self) -> int:
        import socket

        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))  # bound, never listening: connections refused
        return int(self._socket.getsockname()[1])

    def __exit__(self, *_: object) -> None:
        self._socket.close()


@pytest.mark.slow  # a whole clip through processing: make test, not test-fast
def test_a_clip_is_uploaded_processed_and_withdrawn_with_its_blobs_in_s3(
    s3_env: SeaweedS3, settings: Settings, tmp_path: Any
) -> None:
    """The same code path as on a local disk, with only the storage URL changed."""
    on_s3 = settings.model_copy(update={"storage_url": s3_env.storage_url(s3_env.new_prefix())})
    rt = Runtime.from_settings(on_s3)
    try:
        assert isinstance(rt.store, S3Store)
        world = build_world(rt)
        clip = generate_clip(tmp_path / "clip.mp4", seconds=1.5).read_bytes()
        with TestClient(create_app(rt, run_worker=False)) as client:
            upload(client, world.tokens["alice"], clip, world.metadata())
            assert rt.jobs.run_pending() == 1
            with transaction(rt.sessions) as s:
                donation = s.scalars(select(Donation)).one()
                assert donation.status == "in_review" and donation.video_key
                video_key = donation.video_key
            assert video_key in rt.store.keys("clips/") and rt.store.keys("uploads/") == []
            assert world.plaintext(donation.id, video_key)[4:8] == b"ftyp"
            withdrawn = client.post(
                "/api/v1/me/withdraw", headers={"Authorization": f"Bearer {world.tokens['alice']}"}
            )
            assert withdrawn.status_code == 200, withdrawn.text
            rt.jobs.run_pending()  # the deletion of the ciphertext left behind
        assert rt.store.keys() == []
    finally:
        rt.close()
