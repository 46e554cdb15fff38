"""Recognising video containers from their first bytes."""

from __future__ import annotations

from pathlib import Path

import pytest

from vidonate.ingest.samples import generate_clip, test_media_dir
from vidonate.ingest.sniff import SNIFF_BYTES, container_of


@pytest.mark.parametrize(
    ("suffix", "family"), [(".mp4", "mp4"), (".avi", "avi"), (".mkv", "matroska")]
)
def test_generated_clips_are_recognised(tmp_path: Path, suffix: str, family: str) -> None:
    clip = generate_clip(tmp_path / f"c{suffix}", seconds=1.0)
    assert container_of(clip.read_bytes()[:SNIFF_BYTES]) == family


def test_real_footage_is_recognised() -> None:
    media = test_media_dir()
    if media is None:
        pytest.skip("no real footage: set VIDONATE_TEST_MEDIA to ../shared/media")
    for name in ("vtest.avi", "Megamind.avi", "bikes.mp4", "bigbuckbunny.mp4"):
        assert container_of((media / name).read_bytes()[:SNIFF_BYTES]) is not None, name
    for name in ("home.jpg", "box_in_scene.png"):
        assert container_of((media / name).read_bytes()[:SNIFF_BYTES]) is None, name


@pytest.mark.parametrize("head", [b"", b"%PDF-1.4", b"GIF89a", b"\xff\xd8\xff\xe0", b"PK\x03\x04"])
def test_documents_images_and_archives_are_not_video(head: bytes) -> None:
    assert container_of(head) is None
