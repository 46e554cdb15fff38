"""No location or device data survives ingest: the stored clip has exactly one video
stream and none of the tags a camera or phone writes. Proved with exiftool -ee -a -G
on fixtures that carry GPS, make, model, serial number, content identifier and an
extra data track."""

from __future__ import annotations

import os
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import pytest
from fastapi.testclient import TestClient

from tus_helpers import upload
from vidonate.db.engine import transaction
from vidonate.db.models import Donation
from vidonate.ingest.samples import generate_clip
from world import World

EXIFTOOL = shutil.which("exiftool")
pytestmark = pytest.mark.skipif(
    EXIFTOOL is None and not os.environ.get("VIDONATE_REQUIRE_EXIFTOOL"),
    reason="exiftool missing: apt-get install libimage-exiftool-perl",
)
GPS = "+52.3700+004.8900+000.000/"
TAGS = {
    "location": GPS,
    "com.apple.quicktime.location.ISO6709": GPS,
    "make": "Acme",
    "model": "Cam 3",
    "com.apple.quicktime.make": "Acme",
    "com.apple.quicktime.model": "Cam 3",
    "serial_number": "SN123456",
    "content_identifier": "0F3C-PORCH-42",
}
FORBIDDEN = ("gps", "location", "make", "model", "serial", "contentidentifier", "identifier")
SECRETS = ("52.37", "52 deg", "Acme", "Cam 3", "SN123456", "0F3C-PORCH-42")


def exif(path: Path) -> list[tuple[str, str, str]]:
    """``exiftool -ee -a -G`` as (group, tag name, value) rows, duplicates kept."""
    assert EXIFTOOL is not None
    out = subprocess.run(
        [EXIFTOOL, "-ee", "-a", "-G", str(path)], check=True, capture_output=True, text=True
    ).stdout
    rows = []
    for line in out.splitlines():
        group, _, rest = line.partition("]")
        name, _, value = rest.partition(":")
        rows.append((group.strip("[ "), name.strip(), value.strip()))
    return rows


def tagged_with_data_track(path: Path, fmt: str, data_codec: str) -> Path:
    """A clip with video, audio, an extra data track carrying GPS text, and device tags."""
    plain = generate_clip(path.with_suffix(".src.mp4"), seconds=2, audio=True)
    options = {"movflags": "use_metadata_tags"} if fmt == "mp4" else {}
    with (
        av.open(str(plain)) as inp,
        av.open(str(path), "w", format=fmt, container_options=options) as out,
    ):
        out.metadata.update(TAGS)
        video = out.add_stream_from_template(inp.streams.video[0])
        audio = out.add_stream_from_template(inp.streams.audio[0])
        data = out.add_data_stream(data_codec)
        data.time_base = Fraction(1, 1000)
        for packet in inp.demux():
            if packet.dts is None:
                continue
            packet.stream = video if packet.stream.type == "video" else audio
            out.mux(packet)
        for i in range(4):
            gps = av.Packet(f"GPS 52.3700N 4.8900E serial SN123456 t={i}".encode())
            gps.stream, gps.pts, gps.dts, gps.time_base = data, i * 500, i * 500, data.time_base
            out.mux(gps)
    plain.unlink()
    return path


@pytest.mark.parametrize(
    ("fmt", "suffix", "codec"), [("mp4", ".mp4", "bin_data"), ("mpegts", ".ts", "klv")]
)
@pytest.mark.slow  # a whole clip through processing: make test, not test-fast
def test_stored_clip_has_one_video_stream_and_no_location_or_device_tags(
    client: TestClient, world: World, tmp_path: Path, fmt: str, suffix: str, codec: str
) -> None:
    fixture = tagged_with_data_track(tmp_path / f"porch{suffix}", fmt, codec)
    with av.open(str(fixture)) as c:
        assert sorted(s.type for s in c.streams) == ["audio", "data", "video"]
    if fmt == "mp4":
        before = {name for _group, name, _value in exif(fixture)}
        assert "GPS Coordinates" in before, "the fixture itself must carry GPS"
        assert {"Make", "Model", "Serial Number", "Content Identifier"} <= before

    upload(client, world.tokens["alice"], fixture.read_bytes(), world.metadata())
    assert world.rt.jobs.run_pending() == 1
    with transaction(world.rt.sessions) as s:
        donation = s.query(Donation).one()
        assert donation.status == "in_review", donation.failure_detail
    stored = tmp_path / "stored.mp4"
    stored.write_bytes(world.plaintext(donation.id, donation.video_key))  # type: ignore[arg-type]

    with av.open(str(stored)) as c:
        assert [s.type for s in c.streams] == ["video"]
    rows = exif(stored)
    tracks = [value for _g, name, value in rows if name == "Handler Type" and "Track" in value]
    assert tracks == ["Video Track"]
    assert [value for _g, name, value in rows if name == "Track ID"] == ["1"]
    leaked = [
        row for row in rows if any(word in row[1].lower().replace(" ", "") for word in FORBIDDEN)
    ]
    assert leaked == []
    text = "\n".join(f"{g} {n} {v}" for g, n, v in rows)
    assert not [s for s in SECRETS if s in text]
    assert not [s for s in SECRETS if s.encode() in stored.read_bytes()]
