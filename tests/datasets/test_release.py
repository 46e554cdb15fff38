"""Releases: what they freeze, how they split, what withdrawal does to them."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from vidonate.accounts.cameras import add_camera
from vidonate.datasets.reader import ManifestMismatch
from vidonate.datasets.release import create_release, get_release, manifest
from vidonate.db.engine import transaction
from vidonate.db.models import AuditEntry, ConsentText, Donation, Release, User
from vidonate.donations.withdrawal import withdraw_clip, withdraw_everything
from vidonate.errors import Conflict
from world import World

CATEGORIES = ("package_theft", "car_door_tampering", "normal_activity")


def _accepted(world: World, donor: str, camera: int, category: str, staged: bool = False) -> int:
    """An accepted clip whose processed video (random bytes) is held, encrypted."""
    meta = {"camera": str(camera), "category": category, "staged": "true" if staged else "false"}
    if staged:
        meta["attestation"] = "true"
    donation_id = world.clip_in_review(donor, **meta)
    video = os.urandom(3000)
    with transaction(world.rt.sessions) as s:
        donation = s.get(Donation, donation_id)
        assert donation is not None
        key = f"clips/{donation_id}/video.mp4"
        writer = world.rt.vault.writer(world.rt.vault.clip_key(s, donation), key)
        writer.write(video)
        writer.commit()
        donation.video_key, donation.video_sha256 = key, hashlib.sha256(video).hexdigest()
        donation.duration_s = 10.0
    world.vote("rita", donation_id, category=category, staged=staged)
    world.vote("ravi" if donor != "ravi" else "rita", donation_id, category=category, staged=staged)
    return donation_id


@pytest.fixture
def clips(world: World) -> dict[int, int]:
    """24 accepted clips over 12 cameras of two donors -> donation id: camera id."""
    made = {}
    with transaction(world.rt.sessions) as s:
        cameras = []
        for donor in ("alice", "bob"):
            user = s.get(User, getattr(world, donor).id)
            assert user is not None
            cameras += [(donor, add_camera(s, user, f"cam {i}", "porch").id) for i in range(6)]
    for i in range(24):
        donor, camera = cameras[i % len(cameras)]
        made[_accepted(world, donor, camera, CATEGORIES[i % 3], staged=i % 4 == 0)] = camera
    return made


def _release(world: World, seed: int = 0) -> int:
    with transaction(world.rt.sessions) as s:
        return create_release(s, seed=seed).id


def _manifest(world: World, ref: str | int) -> list[dict]:
    with transaction(world.rt.sessions) as s:
        return manifest(s, get_release(s, ref))


def test_a_release_freezes_every_accepted_held_clip_with_its_manifest_fields(
    world: World, clips: dict[int, int]
) -> None:
    pending = world.clip_in_review()
    _release(world)
    rows = _manifest(world, "latest")
    assert [r["id"] for r in rows] == sorted(clips) and pending not in {r["id"] for r in rows}
    with transaction(world.rt.sessions) as s:
        for row in rows:
            donation = s.get(Donation, row["id"])
            assert donation is not None
            assert row["sha256"] == donation.video_sha256
            assert (row["label"], row["staged"], row["camera"], row["incident"]) == (
                donation.category, donation.staged, donation.camera_id, donation.incident_id
            )  # fmt: skip
            assert row["synthetic"] is False and row["split"] in ("train", "val", "test")
        release = get_release(s, "v1")
        assert release.clips == 24 and release.previous_id is None
        assert release.code_version and len(release.manifest_sha256) == 64


def test_splits_are_camera_disjoint_stratified_and_reproducible(
    world: World, clips: dict[int, int]
) -> None:
    _release(world, seed=5)
    _release(world, seed=5)
    _release(world, seed=6)
    first, again, other = (_manifest(world, v) for v in ("v1", "v2", "v3"))
    assert first == again, "the same seed over the same clips gives the same release"
    assert [r["split"] for r in first] != [r["split"] for r in other]
    for rows in (first, other):
        split_of_camera: dict[int, set[str]] = {}
        for row in rows:
            split_of_camera.setdefault(row["camera"], set()).add(row["split"])
        assert all(len(s) == 1 for s in split_of_camera.values())
        assert {r["split"] for r in rows} == {"train", "val", "test"}
        for label in CATEGORIES:  # every label reaches training
            assert any(r["label"] == label and r["split"] == "train" for r in rows)


def test_clips_whose_consent_does_not_allow_training_stay_out(
    world: World, clips: dict[int, int]
) -> None:
    excluded = min(clips)
    with transaction(world.rt.sessions) as s:
        donation = s.get(Donation, excluded)
        assert donation is not None
        s.get(ConsentText, donation.consent_text_id).purposes = ["evaluation"]  # type: ignore[union-attr]
    with pytest.raises(Conflict):  # every clip shares the campaign's consent: none is left
        _release(world)


def test_a_withdrawn_clip_is_listed_with_the_next_release_and_unreadable_in_every_release(
    world: World, clips: dict[int, int]
) -> None:
    _release(world)
    gone = sorted(clips)[3]
    with transaction(world.rt.sessions) as s:
        alice = s.get(User, world.alice.id)
        donation = s.get(Donation, gone)
        assert alice is not None and donation is not None
        owner = alice if donation.donor_id == alice.id else s.get(User, world.bob.id)
        rt = world.rt
        withdraw_clip(s, rt.vault, rt.duplicates, rt.jobs, owner, gone)  # type: ignore[arg-type]
    _release(world)
    with transaction(world.rt.sessions) as s:
        second = get_release(s, "v2")
        assert second.withdrawn_since_previous == [gone]
        assert second.diff["removed"] == {str(gone): "withdrawn"}
        assert second.diff["previous_version"] == 1 and second.diff["added"] == []
        assert "1 clip(s) were withdrawn" in second.datasheet
    assert gone in {r["id"] for r in _manifest(world, "v1")}, "v1 itself never changes"
    assert gone not in {r["id"] for r in _manifest(world, "v2")}

    reader = world.rt.pipeline().reader("v1", actor_id=world.rita.id)
    read = {row["id"]: path.read_bytes() for row, path in reader}
    assert reader.skipped == [gone] and set(read) == set(clips) - {gone}
    for clip_id, data in read.items():
        assert hashlib.sha256(data).hexdigest() == next(
            r["sha256"] for r in _manifest(world, "v1") if r["id"] == clip_id
        )
    with transaction(world.rt.sessions) as s:
        training = s.query(AuditEntry).filter_by(purpose="training").all()
        assert sorted(int(e.object_id) for e in training) == sorted(read)
        assert {e.actor_id for e in training} == {world.rita.id}


def test_a_donor_who_withdraws_everything_leaves_every_release(
    world: World, clips: dict[int, int]
) -> None:
    _release(world)
    with transaction(world.rt.sessions) as s:
        bob = s.get(User, world.bob.id)
        assert bob is not None
        withdraw_everything(s, world.rt.vault, world.rt.duplicates, world.rt.jobs, bob)
        bobs = {d.id for d in s.query(Donation).filter_by(donor_id=world.bob.id)}
    reader = world.rt.pipeline().reader("v1", actor_id=None)
    assert {row["id"] for row, _ in reader} == set(clips) - bobs
    assert sorted(reader.skipped) == sorted(bobs)


def test_a_release_never_changes(world: World, clips: dict[int, int]) -> None:
    _release(world)
    with pytest.raises(RuntimeError, match="immutable"), transaction(world.rt.sessions) as s:
        s.get(Release, 1).seed = 99  # type: ignore[union-attr]


def test_a_clip_whose_content_changed_fails_the_manifest_check(
    world: World, clips: dict[int, int]
) -> None:
    _release(world)
    victim = min(clips)
    with transaction(world.rt.sessions) as s:
        donation = s.get(Donation, victim)
        assert donation is not None
        writer = world.rt.vault.writer(world.rt.vault.clip_key(s, donation), donation.video_key)  # type: ignore[arg-type]
        writer.write(b"something else")
        writer.commit()
    with pytest.raises(ManifestMismatch):
        list(world.rt.pipeline().reader("latest", actor_id=None))


def test_the_datasheet_has_every_section_and_the_counts(
    world: World, clips: dict[int, int]
) -> None:
    _release(world)
    with transaction(world.rt.sessions) as s:
        sheet = get_release(s, "latest").datasheet
    for section in ("Motivation", "Composition", "Collection process", "Preprocessing",
                    "Uses", "Distribution", "Maintenance"):  # fmt: skip
        assert f"## {section}" in sheet
    assert "24 clips (0.07 hours) from 2 donors, 12 cameras" in sheet
    assert "| donated | real | 18 |" in sheet and "| donated | staged | 6 |" in sheet


def test_synthetic_scenes_are_never_counted_as_donations(world: World) -> None:
    from vidonate.privacy.transparency import build_report

    _accepted(world, "alice", world.cameras["alice"], "package_theft")
    with transaction(world.rt.sessions) as s:
        before = build_report(s).model_dump()
        s.query(Donation).update({Donation.synthetic: True})
        after = build_report(s).model_dump()
    assert before["clips"]["received"] == 1 and before["clips"]["donors"] == 1
    assert after["clips"]["received"] == 0 and after["clips"]["donors"] == 0


def test_the_cli_creates_lists_and_writes_out_a_release(
    world: World, clips: dict[int, int], cli_env: Path
) -> None:
    from typer.testing import CliRunner

    from vidonate.cli import app

    runner = CliRunner()
    made = runner.invoke(app, ["release", "create", "--seed", "3"])
    assert made.exit_code == 0, made.output
    assert "release v1: 24 clips" in made.output
    listed = runner.invoke(app, ["release", "list"])
    assert listed.exit_code == 0 and "v1" in listed.output
    out = cli_env / "v1"
    shown = runner.invoke(app, ["release", "show", "v1", "--out", str(out)])
    assert shown.exit_code == 0, shown.output
    written = json.loads((out / "manifest.json").read_text())
    assert written["version"] == 1 and len(written["clips"]) == 24
    assert json.loads((out / "withdrawn.json").read_text()) == []
    assert (out / "datasheet.md").read_text().startswith("# Datasheet: vidonate release v1")
    missing = runner.invoke(app, ["release", "show", "v9"])
    assert missing.exit_code != 0 and "unknown_release" in missing.output
