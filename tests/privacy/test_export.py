"""Data export: one zip with everything kept about the donor, and nothing about anyone else."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tus_helpers import upload
from vidonate.cli import app
from vidonate.db.engine import transaction
from vidonate.db.models import AuditEntry, Donation
from vidonate.ingest.samples import generate_clip
from vidonate.server import BackgroundServer
from world import World


def _donate(client: TestClient, world: World, tmp_path: Path, donor: str) -> int:
    clip = generate_clip(tmp_path / f"{donor}.mp4", seconds=1.2)
    upload(client, world.tokens[donor], clip.read_bytes(), world.metadata(donor))
    world.rt.jobs.run_pending()
    with transaction(world.rt.sessions) as s:
        donation = s.query(Donation).order_by(Donation.id.desc()).first()
        assert donation is not None and donation.status == "in_review"
        return donation.id


def _bearer(world: World, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[who]}"}


@pytest.mark.slow  # a whole clip through processing: make test, not test-fast
def test_the_export_holds_account_consents_clips_reviews_ledger_and_access_log(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    world.rt.settings.redaction = False
    accepted = _donate(client, world, tmp_path, "alice")
    # A reviewer watches the clip the queue gives her while it is in review: the export
    # shows that read (without saying who).
    given = client.get("/api/v1/review/next", headers=_bearer(world, "rita"))
    assert given.status_code == 200 and given.json()["id"] == accepted, given.text
    watched = client.get(f"/api/v1/donations/{accepted}/video", headers=_bearer(world, "rita"))
    assert watched.status_code == 200, watched.text
    world.vote("rita", accepted)
    world.vote("ravi", accepted)
    withdrawn = world.clip_in_review()
    client.post(f"/api/v1/donations/{withdrawn}/withdraw", headers=_bearer(world, "alice"))
    bobs = _donate(client, world, tmp_path, "bob")

    r = client.get("/api/v1/me/export", headers=_bearer(world, "alice"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    assert r.headers["content-disposition"] == 'attachment; filename="vidonate-alice.zip"'
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    assert archive.testzip() is None
    names = set(archive.namelist())
    assert names == {
        "README.txt",
        "account.json",
        "consents.json",
        "donations.json",
        "reviews.json",
        "ledger.json",
        "withdrawals.json",
        "access-log.json",
        "rewards.json",
        f"clips/{accepted}/video.mp4",
        f"clips/{accepted}/thumbnail.jpg",
    }
    doc = {n: json.loads(archive.read(n)) for n in names if n.endswith(".json")}

    assert doc["account.json"]["username"] == "alice"
    assert [b["code"] for b in doc["rewards.json"]["badges"]] == ["first_clip", "package_theft"]
    assert doc["account.json"]["cameras"][0]["label"] == "front porch"
    (consent,) = doc["consents.json"]
    assert consent["campaign"] == world.campaign.slug
    assert "never sold" in consent["text"] and "third parties" in consent["text"]
    assert [d["id"] for d in doc["donations.json"]] == [accepted, withdrawn]
    assert [e["to_status"] for e in doc["donations.json"][0]["history"]][-1] == "accepted"
    assert [(v["donation_id"], v["decision"]) for v in doc["reviews.json"]] == [
        (accepted, "accept"),
        (accepted, "accept"),
    ]
    assert all("reviewer_id" not in v for v in doc["reviews.json"]), "reviewers stay anonymous"
    assert doc["ledger.json"]["balance_cents"] == 200
    assert [b["donation_id"] for b in doc["ledger.json"]["bookings"]] == [accepted]
    assert [w["scope"] for w in doc["withdrawals.json"]] == ["clip"]
    log = [(e["purpose"], e["action"], e["object_id"]) for e in doc["access-log.json"]]
    assert ("review", "read_video", str(accepted)) in log
    assert ("export", "read_video", str(accepted)) in log
    assert ("export", "read_thumbnail", str(accepted)) in log
    assert all(e["object_id"] != str(bobs) for e in doc["access-log.json"])

    video = archive.read(f"clips/{accepted}/video.mp4")
    with transaction(world.rt.sessions) as s:
        donation = s.get(Donation, accepted)
        assert donation is not None and donation.video_key is not None
        video_key = donation.video_key
        exports = s.query(AuditEntry).filter_by(purpose="export").count()
    assert exports == 2
    assert video == world.plaintext(accepted, video_key), "the clip, decrypted"
    everything = b"".join(archive.read(n) for n in names)
    assert b"bob" not in everything and world.tokens["alice"].encode() not in everything


def test_the_cli_downloads_the_export(world: World, tmp_path: Path) -> None:
    world.clip_in_review()
    out = tmp_path / "mine.zip"
    env = {"VIDONATE_TOKEN": world.tokens["alice"]}
    with BackgroundServer(world.rt, run_worker=False) as server:
        env["VIDONATE_SERVER"] = server.url
        result = CliRunner().invoke(app, ["export", "--out", str(out)], env=env)
    assert result.exit_code == 0, result.output
    # Rich wraps long lines (the temp path is long): compare the words, not the layout.
    assert f"wrote {out}" in " ".join(result.output.split())
    with zipfile.ZipFile(out) as archive:
        assert json.loads(archive.read("account.json"))["username"] == "alice"
    assert not out.with_name("mine.zip.part").exists()


def test_the_export_holds_the_donors_rewards_and_what_they_gave_for_them(
    client: TestClient, world: World
) -> None:
    from money import give
    from vidonate.db.models import User
    from vidonate.rewards import catalogue, holds, payouts

    give(world.rt, world.bob.id, 2000)
    with transaction(world.rt.sessions) as s:
        bob = s.get(User, world.bob.id)
        assert bob is not None
        mug = catalogue.add_item(s, kind="product", name="Mug", price_cents=500, stock=1)
        catalogue.redeem(
            s,
            world.rt.vault,
            bob,
            mug.id,
            client_key="export-0001",
            shipping_address="Bob, 3 place du Marché, Lyon",
            tax_threshold_cents=10**6,
        )
        payouts.set_destination(s, world.rt.vault, bob, "bob@example.org")
        holds.supply_tax_details(s, world.rt.vault, bob, "FR 123, Bob Durand")
    r = client.get("/api/v1/me/export", headers=_bearer(world, "bob"))
    rewards = json.loads(zipfile.ZipFile(io.BytesIO(r.content)).read("rewards.json"))
    assert rewards["redemptions"][0]["shipping_address"] == "Bob, 3 place du Marché, Lyon"
    assert (rewards["payout_receiver"], rewards["tax_details"]) == (
        "bob@example.org",
        "FR 123, Bob Durand",
    )
