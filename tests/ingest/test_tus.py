"""The tus 1.0.0 server: core, creation, creation-with-upload, termination,
expiration and checksum, and every way a client can get it wrong."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from tus_helpers import TUS, auth, create, encode_metadata, patch
from vidonate.db.engine import transaction
from vidonate.db.models import Donation, Upload, utcnow
from vidonate.ingest.tus import expire_uploads
from world import World, assert_no_trace, row_counts

# An MP4 file type box, then filler: enough to pass the container sniff at the first
# PATCH. These tests never process the bytes.
DATA = b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 400


def _error(response) -> str:  # type: ignore[no-untyped-def]
    return response.json()["error"]["code"]


def test_options_advertises_version_extensions_max_size_and_checksum(client: TestClient) -> None:
    r = client.options("/api/v1/uploads")
    assert r.status_code == 204
    assert r.headers["Tus-Version"] == "1.0.0"
    assert set(r.headers["Tus-Extension"].split(",")) == {
        "creation",
        "creation-with-upload",
        "termination",
        "expiration",
        "checksum",
    }
    assert r.headers["Tus-Max-Size"] == str(2 * 1024**3)
    assert r.headers["Tus-Checksum-Algorithm"] == "sha1,sha256"


def test_upload_in_three_patches_reports_offsets_and_expiry(
    client: TestClient, world: World
) -> None:
    token = world.tokens["alice"]
    created = create(client, token, len(DATA), world.metadata())
    assert created.status_code == 201
    assert "Upload-Expires" in created.headers
    location = created.headers["Location"]
    head = client.head(location, headers=auth(token))
    assert (head.headers["Upload-Offset"], head.headers["Upload-Length"]) == ("0", str(len(DATA)))
    assert head.headers["Cache-Control"] == "no-store"
    offset = 0
    for piece in (DATA[:1000], DATA[1000:50_000], DATA[50_000:]):
        r = patch(client, token, location, offset, piece, checksum=True)
        assert r.status_code == 204, r.text
        offset += len(piece)
        assert r.headers["Upload-Offset"] == str(offset)
    assert client.head(location, headers=auth(token)).headers["Upload-Offset"] == str(len(DATA))
    with transaction(world.rt.sessions) as s:
        donation = s.query(Donation).one()
        upload = s.query(Upload).one()
        assert donation.status == "received"
        keys = [p.key for p in upload.parts]
        stored = b"".join(b"".join(world.rt.store.read(k)) for k in keys)
    assert DATA[:1000] not in stored, "the store holds ciphertext only"
    assert b"".join(world.plaintext(donation.id, k) for k in keys) == DATA
    assert row_counts(world.rt)["jobs"] == 1, "completing the upload queues its processing"


def test_creation_with_upload_stores_the_body_in_the_post(client: TestClient, world: World) -> None:
    r = create(client, world.tokens["alice"], len(DATA), world.metadata(), body=DATA[:4096])
    assert r.status_code == 201
    assert r.headers["Upload-Offset"] == "4096"


def test_missing_tus_resumable_header_is_412(client: TestClient, world: World) -> None:
    r = client.post(
        "/api/v1/uploads",
        headers={"Authorization": f"Bearer {world.tokens['alice']}", "Upload-Length": "10"},
    )
    assert r.status_code == 412 and _error(r) == "tus_version"


def test_unauthenticated_upload_is_401(client: TestClient, world: World) -> None:
    r = client.post("/api/v1/uploads", headers={**TUS, "Upload-Length": "10"})
    assert r.status_code == 401 and _error(r) == "not_signed_in"
    r = client.post(
        "/api/v1/uploads", headers={**TUS, "Upload-Length": "10", "Authorization": "Bearer nope"}
    )
    assert r.status_code == 401 and _error(r) == "bad_token"
    assert_no_trace(world)


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"campaign": "no-such-campaign"}, 404, "unknown_campaign"),
        ({"category": "baby_monitor"}, 404, "unknown_category"),
        ({"camera": "999"}, 404, "unknown_camera"),
        ({"camera": None}, 400, "missing_metadata"),
        ({"consent": None}, 400, "consent_missing"),
        ({"consent": "0" * 64}, 400, "consent_outdated"),
        ({"staged": "maybe"}, 400, "bad_metadata"),
        ({"recorded_at": "yesterday"}, 400, "bad_metadata"),
        ({"recorded_at": "2999-01-01T00:00:00Z"}, 400, "bad_metadata"),
        ({"colour": "red"}, 400, "bad_metadata"),
    ],
)
def test_wrong_metadata_is_refused_without_a_trace(
    client: TestClient, world: World, change: dict, status: int, code: str
) -> None:
    r = create(client, world.tokens["alice"], len(DATA), world.metadata(**change))
    assert (r.status_code, _error(r)) == (status, code), r.text
    assert r.json()["error"]["message"]
    assert_no_trace(world)


def test_someone_elses_camera_is_unknown(client: TestClient, world: World) -> None:
    meta = world.metadata("alice", camera=str(world.cameras["bob"]))
    r = create(client, world.tokens["alice"], len(DATA), meta)
    assert (r.status_code, _error(r)) == (404, "unknown_camera")
    assert_no_trace(world)


def test_malformed_metadata_header_is_400(client: TestClient, world: World) -> None:
    r = create(client, world.tokens["alice"], 10, {}, headers={"Upload-Metadata": "campaign !!!"})
    assert (r.status_code, _error(r)) == (400, "bad_metadata")
    assert_no_trace(world)


def test_reviewer_without_donor_role_cannot_donate(client: TestClient, world: World) -> None:
    meta = world.metadata()
    r = create(client, world.tokens["rita"], len(DATA), meta)
    assert (r.status_code, _error(r)) in {(403, "not_a_donor"), (404, "unknown_camera")}
    assert_no_trace(world)


def test_upload_length_over_tus_max_size_is_413(client: TestClient, world: World) -> None:
    r = create(client, world.tokens["alice"], 2 * 1024**3 + 1, world.metadata())
    assert (r.status_code, _error(r)) == (413, "upload_too_large")
    assert_no_trace(world)


def test_donor_quota_counts_bytes_waiting_for_processing(client: TestClient, world: World) -> None:
    world.rt.settings.donor_quota_bytes = 150_000
    assert create(client, world.tokens["alice"], 100_000, world.metadata()).status_code == 201
    before = row_counts(world.rt)
    r = create(client, world.tokens["alice"], 60_000, world.metadata())
    assert (r.status_code, _error(r)) == (413, "quota_exceeded")
    assert row_counts(world.rt) == before
    assert create(client, world.tokens["bob"], 60_000, world.metadata("bob")).status_code == 201


def test_body_longer_than_the_upload_is_413_and_stores_nothing(
    client: TestClient, world: World
) -> None:
    token = world.tokens["alice"]
    location = create(client, token, 1000, world.metadata()).headers["Location"]
    r = patch(client, token, location, 0, DATA[:1500])
    assert (r.status_code, _error(r)) == (413, "body_too_large")
    assert world.rt.store.keys("uploads/") == []
    assert client.head(location, headers=auth(token)).headers["Upload-Offset"] == "0"


def test_wrong_offset_is_409(client: TestClient, world: World) -> None:
    token = world.tokens["alice"]
    location = create(client, token, len(DATA), world.metadata()).headers["Location"]
    r = patch(client, token, location, 10, DATA[10:20])
    assert (r.status_code, _error(r)) == (409, "offset_mismatch")
    assert world.rt.store.keys("uploads/") == []


def test_checksum_mismatch_is_460_and_discards_the_chunk(client: TestClient, world: World) -> None:
    token = world.tokens["alice"]
    location = create(client, token, len(DATA), world.metadata()).headers["Location"]
    bad = "sha256 " + base64.b64encode(b"\0" * 32).decode()
    r = patch(client, token, location, 0, DATA[:100], headers={"Upload-Checksum": bad})
    assert (r.status_code, _error(r)) == (460, "checksum_mismatch")
    assert client.head(location, headers=auth(token)).headers["Upload-Offset"] == "0"
    assert world.rt.store.keys("uploads/") == []
    r = patch(client, token, location, 0, DATA[:100], headers={"Upload-Checksum": "md5 AAAA"})
    assert (r.status_code, _error(r)) == (400, "unsupported_checksum")


def test_wrong_content_type_is_415(client: TestClient, world: World) -> None:
    token = world.tokens["alice"]
    location = create(client, token, 10, world.metadata()).headers["Location"]
    r = client.patch(
        location,
        headers={**auth(token), "Upload-Offset": "0", "Content-Type": "video/mp4"},
        content=b"0123456789",
    )
    assert (r.status_code, _error(r)) == (415, "bad_content_type")


def test_someone_elses_upload_is_404_for_head_patch_and_delete(
    client: TestClient, world: World
) -> None:
    location = create(client, world.tokens["alice"], 10, world.metadata()).headers["Location"]
    bob = world.tokens["bob"]
    assert client.head(location, headers=auth(bob)).status_code == 404
    r = patch(client, bob, location, 0, b"0123456789")
    assert (r.status_code, _error(r)) == (404, "upload_not_found")
    assert client.delete(location, headers=auth(bob)).status_code == 404
    assert world.rt.store.keys("uploads/") == []
    r = patch(client, world.tokens["alice"], location, 0, DATA[:10])
    assert r.status_code == 204, "the owner's upload is untouched"


def test_expired_upload_is_410_and_housekeeping_removes_its_bytes(
    client: TestClient, world: World
) -> None:
    token = world.tokens["alice"]
    location = create(client, token, len(DATA), world.metadata()).headers["Location"]
    assert patch(client, token, location, 0, DATA[:500]).status_code == 204
    assert len(world.rt.store.keys("uploads/")) == 1
    with transaction(world.rt.sessions) as s:
        s.execute(update(Upload).values(expires_at=utcnow() - timedelta(seconds=1)))
    r = patch(client, token, location, 500, DATA[500:1000])
    assert (r.status_code, _error(r)) == (410, "upload_expired")
    assert expire_uploads(world.rt.sessions, world.rt.store) == 1
    assert world.rt.store.keys("uploads/") == []
    with transaction(world.rt.sessions) as s:
        donation = s.query(Donation).one()
        assert (donation.status, donation.failure_reason) == ("failed", "upload_expired")
        assert s.query(Upload).count() == 0
    assert client.head(location, headers=auth(token)).status_code == 404


def test_termination_removes_the_upload_its_donation_and_bytes(
    client: TestClient, world: World
) -> None:
    token = world.tokens["alice"]
    before = row_counts(world.rt)
    location = create(client, token, len(DATA), world.metadata()).headers["Location"]
    assert patch(client, token, location, 0, DATA[:500]).status_code == 204
    r = client.delete(location, headers=auth(token))
    assert r.status_code == 204 and r.headers["Tus-Resumable"] == "1.0.0"
    assert_no_trace(world, before)
    assert client.head(location, headers=auth(token)).status_code == 404


def test_complete_upload_cannot_be_patched_or_terminated(client: TestClient, world: World) -> None:
    token = world.tokens["alice"]
    location = create(client, token, 10, world.metadata()).headers["Location"]
    assert patch(client, token, location, 0, DATA[:10]).status_code == 204
    r = patch(client, token, location, 10, b"x")
    assert (r.status_code, _error(r)) == (409, "upload_complete")
    r = client.delete(location, headers=auth(token))
    assert (r.status_code, _error(r)) == (409, "upload_complete")


def test_metadata_header_round_trips_unicode_filenames(client: TestClient, world: World) -> None:
    meta = world.metadata(filename="voordeur ☂.mp4")
    header = encode_metadata(meta)
    r = create(client, world.tokens["alice"], 10, {}, headers={"Upload-Metadata": header})
    assert r.status_code == 201
    with transaction(world.rt.sessions) as s:
        assert s.query(Donation).one().source_filename == "voordeur ☂.mp4"


@pytest.mark.parametrize(
    "head",
    [b"%PDF-1.7\n" + b"x" * 2000, b"\x89PNG\r\n\x1a\n" + b"x" * 2000, b"hello world"],
    ids=["pdf", "png", "tiny-text"],
)
def test_a_file_that_is_no_video_container_is_refused_at_the_first_patch(
    client: TestClient, world: World, head: bytes
) -> None:
    token = world.tokens["alice"]
    location = create(client, token, len(head), world.metadata()).headers["Location"]
    r = patch(client, token, location, 0, head)
    assert (r.status_code, _error(r)) == (415, "unsupported_file_type")
    assert_no_trace(world)
    assert client.head(location, headers=auth(token)).status_code == 404


# Header bytes as a client may send them: "²" as the latin-1 byte B2, which servers
# decode back to "²" (str.isdigit() says yes), "٣" (Arabic-Indic three) in UTF-8.
MALFORMED_NUMBERS = [
    "²".encode("latin-1"),
    b"1\xb9",
    "٣".encode(),
    b"9" * 5000,
    b"9" * 19,
    b"-1",
    b"1e3",
    b" ",
    b"0x10",
]


@pytest.mark.parametrize("value", MALFORMED_NUMBERS, ids=lambda v: repr(v[:8]))
def test_an_upload_length_that_is_not_ascii_digits_is_400_not_500(
    client: TestClient, world: World, value: bytes
) -> None:
    r = create(
        client, world.tokens["alice"], 10, world.metadata(), headers={"Upload-Length": value}
    )
    assert (r.status_code, _error(r)) == (400, "bad_upload_length"), r.text
    assert_no_trace(world)


@pytest.mark.parametrize("value", MALFORMED_NUMBERS, ids=lambda v: repr(v[:8]))
def test_an_upload_offset_that_is_not_ascii_digits_is_400_not_500(
    client: TestClient, world: World, value: bytes
) -> None:
    token = world.tokens["alice"]
    location = create(client, token, len(DATA), world.metadata()).headers["Location"]
    r = patch(client, token, location, 0, DATA[:10], headers={"Upload-Offset": value})
    assert (r.status_code, _error(r)) == (400, "bad_upload_offset"), r.text
    assert world.rt.store.keys("uploads/") == []


@pytest.mark.parametrize("size", [100 * 1024, 8 * 1024 * 1024])
def test_requests_with_oversized_headers_are_refused_with_431(
    client: TestClient, world: World, size: int
) -> None:
    r = create(
        client, world.tokens["alice"], 10, world.metadata(), headers={"X-Padding": "a" * size}
    )
    assert (r.status_code, _error(r)) == (431, "headers_too_large")
    assert_no_trace(world)
    headers = {f"X-Pad-{i}": "a" * 1000 for i in range(100)}  # many small ones add up
    assert client.get("/", headers=headers).status_code == 431
    assert client.get("/", headers={"X-Padding": "a" * 1000}).status_code == 200


@pytest.mark.parametrize("concat", ["partial", "final;/api/v1/uploads/a /api/v1/uploads/b"])
def test_upload_concat_is_refused_while_concatenation_is_not_offered(
    client: TestClient, world: World, concat: str
) -> None:
    r = create(
        client,
        world.tokens["alice"],
        len(DATA),
        world.metadata(),
        headers={"Upload-Concat": concat},
    )
    assert (r.status_code, _error(r)) == (400, "concatenation_unsupported")
    assert "parallel uploads" in r.json()["error"]["message"]
    assert r.headers["Tus-Resumable"] == "1.0.0"
    assert_no_trace(world)
    offered = client.options("/api/v1/uploads").headers["Tus-Extension"].split(",")
    assert "concatenation" not in offered


def test_the_metadata_stock_clients_send_is_accepted_and_name_is_the_file_name(
    client: TestClient, world: World
) -> None:
    # What Uppy with its tus plugin sends besides the app's own fields.
    meta = world.metadata(name="porch ☂.mp4", type="video/mp4", filetype="video/mp4")
    meta["relativePath"] = "null"
    del meta["filename"]  # Uppy sends only name
    r = create(client, world.tokens["alice"], len(DATA), meta)
    assert r.status_code == 201, r.text
    with transaction(world.rt.sessions) as s:
        assert s.query(Donation).one().source_filename == "porch ☂.mp4"
    meta = world.metadata(name="ignored.mp4", filename="chosen.mp4")
    assert create(client, world.tokens["alice"], len(DATA), meta).status_code == 201
    with transaction(world.rt.sessions) as s:
        assert {d.source_filename for d in s.query(Donation)} == {"porch ☂.mp4", "chosen.mp4"}


def test_head_returns_the_upload_metadata_as_it_was_sent(client: TestClient, world: World) -> None:
    token = world.tokens["alice"]
    header = encode_metadata(world.metadata(filename="a.mp4", type="video/mp4")) + ",relativePath"
    location = create(client, token, len(DATA), {}, headers={"Upload-Metadata": header}).headers[
        "Location"
    ]
    assert client.head(location, headers=auth(token)).headers["Upload-Metadata"] == header


@pytest.mark.parametrize(
    ("method", "path"), [("GET", ""), ("PUT", ""), ("PATCH", ""), ("GET", "/x"), ("PUT", "/x")]
)
def test_methods_the_endpoint_does_not_take_answer_405_with_tus_resumable(
    client: TestClient, world: World, method: str, path: str
) -> None:
    r = client.request(method, f"/api/v1/uploads{path}", headers=auth(world.tokens["alice"]))
    assert r.status_code == 405 and _error(r) == "method_not_allowed"
    assert r.headers["Tus-Resumable"] == "1.0.0" and r.headers["Allow"]


def test_x_http_method_override_on_post_stands_for_patch_head_and_delete(
    client: TestClient, world: World
) -> None:
    token = world.tokens["alice"]
    location = create(client, token, len(DATA), world.metadata()).headers["Location"]
    chunk = {"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
    r = client.post(
        location,
        headers={**auth(token), **chunk, "X-HTTP-Method-Override": "PATCH"},
        content=DATA[:1000],
    )
    assert (r.status_code, r.headers["Upload-Offset"]) == (204, "1000"), r.text
    r = client.post(location, headers={**auth(token), "X-HTTP-Method-Override": "HEAD"})
    assert (r.status_code, r.headers["Upload-Offset"]) == (200, "1000")
    assert r.headers["Upload-Length"] == str(len(DATA))
    r = client.post(location, headers={**auth(token), "X-HTTP-Method-Override": "GET"})
    assert r.status_code == 405 and r.headers["Tus-Resumable"] == "1.0.0"
    r = client.post(location, headers={**auth(token), "X-HTTP-Method-Override": "DELETE"})
    assert r.status_code == 204
    assert_no_trace(world)
