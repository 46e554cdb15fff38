"""What a donor is told: every reason code has a sentence in words (vidonate/reasons.py)
and a row in docs/reason-codes.md, stored details carry no server internals, and damaged
files get the reason that fits them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from test_docs import ROOT, raised_codes
from tus_helpers import upload
from vidonate.db.engine import transaction
from vidonate.db.models import Donation
from vidonate.errors import UnsupportedMedia
from vidonate.ingest.media import probe
from vidonate.ingest.samples import generate_clip
from vidonate.reasons import SENTENCES, sanitise, sentence, status_words
from vidonate.review.service import REJECT_REASONS
from vidonate.rewards import ledger
from world import World

try:  # the corpus generator is moving out of the package, under tests/
    from hostile_corpus import build_case  # type: ignore[import-not-found]
except ImportError:
    from vidonate.ingest.hostile import build_case

DOC = (ROOT / "docs" / "reason-codes.md").read_text()


def _all_codes() -> set[str]:
    unpaid = {ledger.UNPAID_CAMERA_CAP, ledger.UNPAID_BUDGET, ledger.UNPAID_NO_REWARD}
    return raised_codes() | unpaid | set(REJECT_REASONS) | {"processing_error"}


def test_every_reason_code_raised_in_src_has_a_sentence_and_a_doc_row() -> None:
    codes = _all_codes()
    assert len(codes) > 90
    assert codes - SENTENCES.keys() == set(), "add a sentence to SENTENCES in vidonate/reasons.py"
    documented = set(re.findall(r"`([a-z][a-z0-9_]+)`", DOC))
    assert codes - documented == set(), "add a row to docs/reason-codes.md"


def test_every_sentence_is_words_that_end_like_a_sentence() -> None:
    for code, text in SENTENCES.items():
        assert text[0].isupper() and text.endswith("."), code
        assert not re.search(r"[a-z]_[a-z]", text), f"{code}: the sentence holds a code"


def test_a_clips_state_reads_as_words_with_its_reason() -> None:
    assert status_words("in_review") == "in review"
    assert status_words("failed", "truncated") == (
        "failed: The file is cut off: the recording was not finished or not fully copied."
    )
    assert status_words("rejected", None, "poor_quality").startswith("rejected: It is too dark")
    assert status_words("accepted", unpaid_reason="budget_exhausted") == (
        "accepted, unpaid: The campaign's budget is used up."
    )
    assert sentence("a_code_nobody_wrote") == "A code nobody wrote."


@pytest.mark.parametrize(
    ("detail", "told"),
    [
        (
            "the file cannot be read as media ([Errno 1094995529] Invalid data found when "
            "processing input: '/tmp/vidonate-3-k2j1/source')",
            "the file cannot be read as media (Invalid data found when processing input)",
        ),
        (
            "decoding failed after 12 frames (avcodec_send_packet() failed: Invalid data)",
            "decoding failed after 12 frames (Invalid data)",
        ),
        (
            "OSError: [Errno 28] No space left on device: /srv/vidonate/var/tmp/job-7/source",
            "OSError: No space left on device: the file",
        ),
        ("clip is 0.5 s long; the minimum is 1.0 s", "clip is 0.5 s long; the minimum is 1.0 s"),
    ],
)
def test_stored_details_lose_server_paths_and_ffmpeg_internals(detail: str, told: str) -> None:
    assert sanitise(detail) == told


def _probe_code(path: Path) -> tuple[str, str]:
    with pytest.raises(UnsupportedMedia) as refused:
        probe(path)
    return refused.value.code, refused.value.message


def test_an_mp4_cut_anywhere_inside_its_index_is_truncated_not_no_video(tmp_path: Path) -> None:
    data = generate_clip(tmp_path / "clip.mp4", seconds=2.0).read_bytes()
    moov = data.find(b"moov") - 4
    size = int.from_bytes(data[moov : moov + 4], "big")
    cut = tmp_path / "cut.mp4"
    for eighth in range(1, 8):  # the muxer writes moov last: cut it at 1/8 … 7/8
        cut.write_bytes(data[: moov + size * eighth // 8])
        code, message = _probe_code(cut)
        assert code == "truncated", (eighth, code, message)
        assert "cut off inside its 'moov' box" in message


def test_absurd_timestamps_are_bad_timing_not_a_length(tmp_path: Path) -> None:
    case = build_case("absurd_duration", tmp_path)
    code, message = _probe_code(case.path)
    assert code == "bad_timing" == case.expected_reason
    assert "timestamps are implausible" in message and " s long" not in message


def test_a_damaged_upload_fails_with_a_detail_free_of_server_internals_and_the_donor_page_shows_words(  # noqa: E501
    client: TestClient, world: World, tmp_path: Path
) -> None:
    broken = b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 200  # an MP4 head, then noise
    upload(client, world.tokens["alice"], broken, world.metadata(filename="doorbell.mp4"))
    assert world.rt.jobs.run_pending() == 1
    with transaction(world.rt.sessions) as s:
        donation = s.query(Donation).one()
        code, detail = donation.failure_reason, donation.failure_detail or ""
    assert donation.status == "failed" and code == "unreadable"
    assert "/" not in detail and "()" not in detail and "Errno" not in detail, detail
    signed_in = client.post(
        "/api/v1/auth/token", json={"username": "alice", "password": "alice-password"}
    )
    token = signed_in.json()["token"]
    shown = client.get("/api/v1/donations", headers={"Authorization": f"Bearer {token}"}).json()
    assert "/" not in (shown[0]["failure_detail"] or "")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert csrf
    form = {"username": "alice", "password": "alice-password", "csrf_token": csrf.group(1)}
    assert client.post("/login", data=form, follow_redirects=False).status_code == 303
    page = client.get("/donations").text
    assert "doorbell.mp4" in page
    assert "failed: The file is damaged or not a video, so it cannot be decoded." in page
    assert ">unreadable<" not in page and "failed</td>" not in page
