"""Withdrawal: one clip or everything, as easy as donating, and final.

The key test plays the operator the issue names: someone holding the master key, today's
database and a copy of the blob store taken before the withdrawal. Before, that is enough
to read every clip; after, nothing in the copy opens.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tus_helpers import auth, create, patch, upload
from vidonate.cli import app
from vidonate.crypto.keys import FileKeyProvider, KeyUnwrapError, open_key
from vidonate.crypto.stream import DecryptionError, decrypt_iter
from vidonate.crypto.vault import _clip_aad
from vidonate.db.engine import transaction
from vidonate.db.models import (
    ClipSignature,
    Donation,
    DonorKey,
    Upload,
    User,
    Withdrawal,
)
from vidonate.ingest.samples import generate_clip
from vidonate.review.service import next_for_review
from vidonate.rewards import ledger
from vidonate.rewards.leaderboard import own_standing
from vidonate.server import BackgroundServer
from vidonate.storage import BlobStore
from vidonate.storage.base import copy_blobs
from vidonate.storage.memory import MemoryStore
from world import World


def _donate(client: TestClient, world: World, tmp_path: Path, donor: str = "alice") -> int:
    clip = generate_clip(tmp_path / f"{donor}-{len(list(tmp_path.iterdir()))}.mp4", seconds=1.2)
    upload(client, world.tokens[donor], clip.read_bytes(), world.metadata(donor))
    world.rt.jobs.run_pending()
    with transaction(world.rt.sessions) as s:
        donation = s.query(Donation).order_by(Donation.id.desc()).first()
        assert donation is not None and donation.status == "in_review", donation.failure_detail
        return donation.id


def _accept(world: World, donation_id: int) -> None:
    world.vote("rita", donation_id)
    world.vote("ravi", donation_id)


def _operator_reads(world: World, store: BlobStore) -> dict[str, bool]:
    """Every blob in ``store`` (a copy of the real one) -> whether an operator with the
    master key file and the database can decrypt it, trying every key the database still
    lets them unwrap."""
    assert world.rt.settings.master_key_file is not None
    master = FileKeyProvider.load_or_create(world.rt.settings.master_key_file)
    clip_keys: list[bytes] = []
    with transaction(world.rt.sessions) as s:
        donor_keys = {row.user_id: master.unwrap(row.wrapped) for row in s.query(DonorKey)}
        for donation in s.query(Donation):
            for donor_key in donor_keys.values():  # not only the owner's: any that opens
                if donation.wrapped_key is None:
                    continue
                with contextlib.suppress(KeyUnwrapError):
                    clip_keys.append(
                        open_key(AESGCM(donor_key), donation.wrapped_key, _clip_aad(donation.id))
                    )
    readable = {}
    for key in store.keys():  # noqa: SIM118 (a store, not a dict)
        ciphertext = b"".join(store.read(key))
        readable[key] = False
        for clip_key in clip_keys:
            try:
                b"".join(decrypt_iter([ciphertext], clip_key, key.encode()))
            except DecryptionError:
                continue
            readable[key] = True
            break
    return readable


@pytest.mark.slow  # a whole clip through processing: make test, not test-fast
def test_withdrawing_everything_leaves_nothing_readable_even_to_the_master_key_holder(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    world.rt.settings.redaction = False  # redaction is tested elsewhere; this is about keys
    media = tmp_path / "media"
    media.mkdir()
    paid = _donate(client, world, media)
    _accept(world, paid)
    pending = _donate(client, world, media)
    bobs = _donate(client, world, media, donor="bob")
    # An upload still in progress has encrypted parts in the store too.
    started = create(client, world.tokens["alice"], 10_000, world.metadata())
    location = started.headers["Location"]
    head = generate_clip(media / "partial.mp4", seconds=1.2).read_bytes()[:4000]
    assert patch(client, world.tokens["alice"], location, 0, head).status_code == 204
    with transaction(world.rt.sessions) as s:
        alice = s.get(User, world.alice.id)
        assert alice is not None
        balance_before = ledger.donor_balance(s, alice)
    assert balance_before == 200

    copy = MemoryStore()
    copy_blobs(world.rt.store, copy)
    before = _operator_reads(world, copy)
    assert before and all(before.values()), "the control: before, the operator reads it all"
    alice_keys = [k for k in before if k.startswith((f"clips/{paid}/", f"clips/{pending}/"))]
    assert len(alice_keys) == 4 and any(k.startswith("uploads/") for k in before)

    r = client.post(
        "/api/v1/me/withdraw", headers={"Authorization": f"Bearer {world.tokens['alice']}"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "all" and r.json()["clips"] == 3

    after = _operator_reads(world, copy)
    bob_keys = {k for k in after if k.startswith(f"clips/{bobs}/")}
    assert {k for k, ok in after.items() if ok} == bob_keys, "only bob's clip still opens"
    with transaction(world.rt.sessions) as s:
        assert s.get(DonorKey, world.alice.id) is None
        for donation in s.query(Donation).filter_by(donor_id=world.alice.id):
            assert donation.status == "withdrawn" and donation.wrapped_key is None
        assert (
            s.query(ClipSignature).filter(ClipSignature.donation_id.in_([paid, pending])).all()
            == []
        )
        assert s.query(Upload).filter_by(donor_id=world.alice.id).all() == []
        withdrawal = s.query(Withdrawal).one()
        assert withdrawal.unreadable_at >= withdrawal.requested_at
        assert withdrawal.blobs_deleted_at is None, "the blobs go in the background"
        alice = s.get(User, world.alice.id)
        assert alice is not None
        assert ledger.donor_balance(s, alice) == balance_before, "money earned stays earned"
        assert own_standing(s, alice) is None, "the withdrawn clip leaves the leaderboard"
        rita = s.get(User, world.rita.id)
        assert rita is not None
        served = next_for_review(s, rita)
        assert served is not None and served.id == bobs, "withdrawn clips leave review"

    assert world.rt.jobs.run_pending() == 3, "one job a clip deletes its blobs"
    left = world.rt.store.keys()
    assert left and all(k.startswith(f"clips/{bobs}/") for k in left)
    with transaction(world.rt.sessions) as s:
        withdrawal = s.query(Withdrawal).one()
        assert withdrawal.blobs_deleted == 5 and withdrawal.blobs_deleted_at is not None
    # The unfinished upload is gone, and alice can donate again under a new key.
    assert patch(client, world.tokens["alice"], location, 4000, b"x").status_code == 404
    again = _donate(client, world, media)
    assert world.plaintext(again, f"clips/{again}/thumbnail.jpg")[:2] == b"\xff\xd8"


@pytest.mark.slow  # a whole clip through processing: make test, not test-fast
def test_withdrawing_one_clip_keeps_the_others_and_the_money(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    world.rt.settings.redaction = False
    paid = _donate(client, world, tmp_path)
    _accept(world, paid)
    kept = _donate(client, world, tmp_path)
    alice = {"Authorization": f"Bearer {world.tokens['alice']}"}
    copy = MemoryStore()
    copy_blobs(world.rt.store, copy)

    r = client.post(f"/api/v1/donations/{paid}/withdraw", headers=alice)
    assert r.status_code == 200, r.text
    assert r.json() | {"requested_at": None, "unreadable_at": None} == {
        "id": 1, "scope": "clip", "donation_id": paid, "clips": 1, "requested_at": None,
        "unreadable_at": None, "blobs_deleted_at": None,
    }  # fmt: skip

    after = _operator_reads(world, copy)
    assert {k for k, ok in after.items() if ok} == {
        f"clips/{kept}/video.mp4",
        f"clips/{kept}/thumbnail.jpg",
    }
    gone = client.get(f"/api/v1/donations/{paid}/video", headers=alice)
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "content_destroyed"
    assert client.get(f"/api/v1/donations/{kept}/video", headers=alice).status_code == 200
    mine = client.get(f"/api/v1/donations/{paid}", headers=alice).json()
    assert mine["status"] == "withdrawn" and mine["paid_cents"] == 200
    assert mine["history"][-1]["reason"] == "donor_withdrew"
    again = client.post(f"/api/v1/donations/{paid}/withdraw", headers=alice)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_withdrawn"
    world.rt.jobs.run_pending()
    assert sorted(world.rt.store.keys()) == [
        f"clips/{kept}/thumbnail.jpg",
        f"clips/{kept}/video.mp4",
    ]


@pytest.mark.parametrize("method", ["POST"])
def test_nobody_withdraws_another_donors_clip(
    client: TestClient, world: World, method: str
) -> None:
    bobs = world.clip_in_review("bob")
    for who in ("alice", "rita"):
        r = client.request(
            method, f"/api/v1/donations/{bobs}/withdraw",
            headers={"Authorization": f"Bearer {world.tokens[who]}"},
        )  # fmt: skip
        assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_donation"
    with transaction(world.rt.sessions) as s:
        donation = s.get(Donation, bobs)
        assert donation is not None and donation.status == "in_review"
        assert donation.wrapped_key is not None and s.query(Withdrawal).count() == 0


@pytest.mark.slow  # a whole clip through processing: make test, not test-fast
def test_a_clip_withdrawn_while_it_is_processed_ends_withdrawn_with_nothing_stored(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    world.rt.settings.redaction = False
    clip = generate_clip(tmp_path / "a.mp4", seconds=1.2)
    upload(client, world.tokens["alice"], clip.read_bytes(), world.metadata())
    from vidonate.ingest import process

    real_stages = process._run_stages

    def withdraw_midway(rt, donation_id, workdir):  # type: ignore[no-untyped-def]
        outcome = real_stages(rt, donation_id, workdir)
        r = client.post(
            f"/api/v1/donations/{donation_id}/withdraw", headers=auth(world.tokens["alice"])
        )
        assert r.status_code == 200, r.text
        return outcome

    process._run_stages = withdraw_midway
    try:
        world.rt.jobs.run_pending()
    finally:
        process._run_stages = real_stages
    world.rt.jobs.run_pending()
    with transaction(world.rt.sessions) as s:
        (donation,) = s.query(Donation).all()
        assert donation.status == "withdrawn"
        assert s.query(ClipSignature).count() == 0
    assert world.rt.store.keys() == []


def test_the_cli_withdraws_a_clip_and_everything(world: World) -> None:
    first, second = world.clip_in_review(), world.clip_in_review()
    with BackgroundServer(world.rt, run_worker=False) as server:
        _withdraw_with_the_cli(world, server.url, first, second)


def _withdraw_with_the_cli(world: World, server: str, first: int, second: int) -> None:
    env = {"VIDONATE_SERVER": server, "VIDONATE_TOKEN": world.tokens["alice"]}
    runner = CliRunner()
    one = runner.invoke(app, ["withdraw", str(first)], env=env)
    assert one.exit_code == 0, one.output
    assert f"withdrew clip {first}" in one.output
    refused = runner.invoke(app, ["withdraw", "--all"], env=env, input="n\n")
    assert refused.exit_code != 0
    everything = runner.invoke(app, ["withdraw", "--all", "--yes"], env=env)
    assert everything.exit_code == 0, everything.output
    assert "withdrew 1 clip(s)" in everything.output
    with transaction(world.rt.sessions) as s:
        assert {d.id: d.status for d in s.query(Donation)} == {
            first: "withdrawn",
            second: "withdrawn",
        }
        assert [w.scope for w in s.query(Withdrawal).order_by(Withdrawal.id)] == ["clip", "all"]
    bad = runner.invoke(app, ["withdraw", str(first)], env=env)
    assert bad.exit_code != 0 and "already_withdrawn" in bad.output
