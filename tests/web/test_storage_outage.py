"""The S3 server stops during an upload: the request fails with 503 storage_unavailable
and records nothing; once the server is back, the same upload goes on where it stood."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from seaweed import SeaweedS3
from tus_helpers import TUS, create, patch
from vidonate.config import Settings
from vidonate.runtime import Runtime
from vidonate.web.app import create_app
from world import build_world

pytestmark = pytest.mark.slow  # a server of its own, stopped and started again

BODY = b"\x00\x00\x00\x18ftypisom" + os.urandom(64 * 1024)


# What the store's outage does does not depend on the database: SQLite only.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_patch_while_s3_is_down_is_503_and_the_upload_resumes_after(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = SeaweedS3(tmp_path / "seaweed")
    (tmp_path / "seaweed").mkdir()
    for name, value in s3.environment().items():
        monkeypatch.setenv(name, value)
    s3.start()
    rt = Runtime.from_settings(settings.model_copy(update={"storage_url": s3.storage_url("t")}))
    try:
        world = build_world(rt)
        token = world.tokens["alice"]
        headers = {"Authorization": f"Bearer {token}", **TUS}
        with TestClient(create_app(rt, run_worker=False)) as client:
            location = create(client, token, 2 * len(BODY), world.metadata()).headers["Location"]
            assert patch(client, token, location, 0, BODY).status_code == 204
            s3.stop()
            failed = patch(client, token, location, len(BODY), BODY)
            assert failed.status_code == 503, failed.text
            assert failed.json()["error"]["code"] == "storage_unavailable"
            assert failed.headers["Tus-Resumable"] == "1.0.0"
            assert client.head(location, headers=headers).headers["Upload-Offset"] == str(
                len(BODY)
            ), "the failed PATCH recorded nothing"
            s3.start()
            done = patch(client, token, location, len(BODY), BODY)
            assert done.status_code == 204, done.text
        assert len(rt.store.keys("uploads/")) == 2
    finally:
        rt.close()
        s3.stop()
