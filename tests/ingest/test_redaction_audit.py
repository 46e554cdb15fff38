"""The redaction audit in the processing job: a clip in which the independent
full-resolution check still finds faces, or in which PP-OCR still reads text it read in
the original, is flagged for the reviewer and counted in the published miss rate;
reviewers only ever get the redacted video, and see how much of it is redacted."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from camera_clips import camera, text_still, write_clip
from tus_helpers import upload
from vidonate.db.engine import transaction
from vidonate.db.models import Donation
from vidonate.ingest.redact import audit_residual_faces
from vidonate.ingest.samples import test_media_dir
from world import World


@pytest.fixture
def faces_clip(tmp_path: Path) -> Path:
    """A 2 s pan over messi5.jpg: several real faces, moving."""
    media = test_media_dir()
    if media is None:
        pytest.skip("no real footage (messi5.jpg): set VIDONATE_TEST_MEDIA")
    photo = Image.open(media / "messi5.jpg").convert("RGB")
    path = tmp_path / "faces.mp4"
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=15, options={"preset": "ultrafast"})
        video.width, video.height, video.pix_fmt = 384, 256, "yuv420p"
        for i in range(30):
            view = photo.crop((i * 4, 40, i * 4 + 384, 296))
            out.mux(video.encode(av.VideoFrame.from_ndarray(np.asarray(view), format="rgb24")))
        out.mux(video.encode())
    return path


def _process(client: TestClient, world: World, clip: Path) -> Donation:
    upload(client, world.tokens["alice"], clip.read_bytes(), world.metadata())
    assert world.rt.jobs.run_pending() == 1
    with transaction(world.rt.sessions) as s:
        donation = s.query(Donation).order_by(Donation.id.desc()).first()
        assert donation is not None and donation.status == "in_review", donation
        return donation


def test_redacted_faces_pass_the_audit_and_reviewers_get_only_the_redacted_clip(
    client: TestClient, world: World, faces_clip: Path, tmp_path: Path
) -> None:
    assert audit_residual_faces(faces_clip, every_n=5).frames_with_faces > 0
    donation = _process(client, world, faces_clip)
    assert donation.redaction_flagged is False and donation.residual_face_rate == 0.0
    stored = tmp_path / "stored.mp4"
    stored.write_bytes(world.plaintext(donation.id, donation.video_key))  # type: ignore[arg-type]
    assert audit_residual_faces(stored, every_n=5).frames_with_faces == 0
    rita = {"Authorization": f"Bearer {world.tokens['rita']}"}
    assert client.get("/api/v1/review/next", headers=rita).json()["id"] == donation.id
    served = client.get(f"/api/v1/donations/{donation.id}/video", headers=rita)
    assert served.content == stored.read_bytes(), "reviewers get the stored, redacted clip"
    assert world.rt.store.keys("uploads/") == [], "the unredacted original is gone"


def test_a_clip_the_audit_still_finds_faces_in_is_flagged_and_counted(
    client: TestClient, world: World, faces_clip: Path
) -> None:
    world.rt.settings.redaction = False  # what a redaction miss looks like to the audit
    donation = _process(client, world, faces_clip)
    assert donation.redaction_flagged is True and (donation.residual_face_rate or 0) > 0
    rita = {"Authorization": f"Bearer {world.tokens['rita']}"}
    assert client.get("/api/v1/review/next", headers=rita).json()["redaction_flagged"] is True
    assert "found faces that may not be blurred" in client.get("/review", headers=rita).text
    stats = client.get("/api/v1/stats/redaction").json()
    assert (stats["clips_redacted"], stats["clips_flagged"], stats["miss_rate"]) == (1, 1, 1.0)


@pytest.fixture
def text_clip(tmp_path: Path) -> Path:
    """1.2 s of a pan and zoom over two printed lines on clutter (no face)."""
    shots = camera(text_still(), (320, 240), (40, 60, 640, 480), (200, 160, 520, 390), 18)
    return write_clip(tmp_path / "text.mp4", (view for view, _ in shots))


def test_text_still_legible_after_redaction_flags_the_clip_and_counts_as_a_miss(
    client: TestClient, world: World, text_clip: Path
) -> None:
    world.rt.settings.redact_text = False  # what a text redaction miss looks like
    donation = _process(client, world, text_clip)
    assert donation.residual_face_rate == 0.0
    assert (donation.text_strings_read or 0) >= 2, donation.text_strings_read
    assert (donation.text_strings_left or 0) >= 1, donation.text_strings_left
    assert donation.redaction_flagged is True
    stats = client.get("/api/v1/stats/redaction").json()
    assert (stats["clips_redacted"], stats["clips_flagged"], stats["miss_rate"]) == (1, 1, 1.0)


def test_a_redacted_clip_records_its_text_audit_and_the_share_of_area_redacted(
    client: TestClient, world: World, text_clip: Path
) -> None:
    donation = _process(client, world, text_clip)
    assert (donation.text_strings_read or 0) >= 2 and donation.text_strings_left == 0
    assert donation.redaction_flagged is False
    assert 0.0 < (donation.redacted_share or 0.0) < 0.5, donation.redacted_share
    rita = {"Authorization": f"Bearer {world.tokens['rita']}"}
    item = client.get("/api/v1/review/next", headers=rita).json()
    assert item["redacted_share"] == pytest.approx(donation.redacted_share)
    assert "of the picture is pixelated" in client.get("/review", headers=rita).text
