"""`vidonate fsck`: the database against the blob store, and a repair that is safe
against writes in flight. Every test runs on SQLite and PostgreSQL, on the local store."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from vidonate.config import Settings
from vidonate.db.engine import transaction
from vidonate.db.models import DetectorModel, Donation, Upload, UploadPart, User, utcnow
from vidonate.ops.fsck import FsckReport, check, repair
from vidonate.runtime import Runtime
from vidonate.storage import layout
from vidonate.storage.base import put_bytes, read_bytes
from world import World

STRAY_UPLOAD = "0123456789abcdef0123456789abcdef"


def processed_clip(world: World, donor: str = "alice") -> int:
    """A clip in review whose processed video and thumbnail are really in the store."""
    rt = world.rt
    donation_id = world.clip_in_review(donor)
    with transaction(rt.sessions) as s:
        donation = s.get_one(Donation, donation_id)
        clip_key = rt.vault.clip_key(s, donation)
        for key, body in (
            (layout.video_key(donation_id), b"video bytes"),
            (layout.thumbnail_key(donation_id), b"thumbnail bytes"),
        ):
            writer = rt.vault.writer(clip_key, key)
            writer.write(body)
            writer.commit()
        donation.video_key = layout.video_key(donation_id)
        donation.thumbnail_key = layout.thumbnail_key(donation_id)
    return donation_id


def upload_with_part(world: World) -> str:
    """An unfinished upload whose one part has its row: a referenced part."""
    rt = world.rt
    donation_id = world.clip_in_review("bob")
    upload_id = "fedcba9876543210fedcba9876543210"
    key = layout.upload_part_key(upload_id, 0)
    put_bytes(rt.store, key, b"part bytes")
    with transaction(rt.sessions) as s:
        s.add(
            Upload(
                id=upload_id,
                donation_id=donation_id,
                donor_id=world.bob.id,
                length=10,
                expires_at=utcnow() + timedelta(hours=1),
            )
        )
        s.flush()
        s.add(UploadPart(upload_id=upload_id, offset=0, size=10, key=key))
    return key


def registered_model(rt: Runtime) -> str:
    with transaction(rt.sessions) as s:
        model = DetectorModel(code_version="test", artifact_key="", artifact_sha256="0" * 64)
        s.add(model)
        s.flush()
        model.artifact_key = f"models/{model.id}/model.onnx"
        for name in ("model.onnx", "model.json"):
            put_bytes(rt.store, f"models/{model.id}/{name}", b"weights")
        return model.artifact_key


def snapshot(rt: Runtime) -> dict[str, bytes]:
    return {key: read_bytes(rt.store, key) for key in rt.store.keys("")}


def test_a_processed_clip_an_upload_and_a_model_are_clean(world: World) -> None:
    processed_clip(world)
    upload_with_part(world)
    registered_model(world.rt)
    report = check(world.rt.sessions, world.rt.store, world.rt.jobs)
    assert report == FsckReport(5, [], [], [], 0)
    assert report.clean


def test_orphans_are_listed_and_repair_removes_only_them(world: World) -> None:
    rt = world.rt
    processed_clip(world)
    part = upload_with_part(world)
    registered_model(rt)
    kept = snapshot(rt)
    orphans = sorted(
        [
            layout.video_key(9999),  # a donation that does not exist
            layout.upload_part_key(STRAY_UPLOAD, 0),  # an upload part with no row
            layout.upload_prefix(part.split("/")[1]) + "0000000000000008-00000000",  # no row
            "models/777/model.onnx",  # a model that does not exist
            "stray/file.bin",
        ]
    )
    for key in orphans:
        put_bytes(rt.store, key, b"orphan")

    report = check(rt.sessions, rt.store, rt.jobs)
    assert report.orphans == orphans and report.blobs == 5 + len(orphans)
    assert report.missing == [] and report.shredded == [] and not report.clean

    after, removed = repair(rt.sessions, rt.store, rt.jobs, grace_s=0)
    assert removed == len(orphans) and after.clean and after.blobs == 5
    assert snapshot(rt) == kept  # every referenced blob byte-identical
    assert check(rt.sessions, rt.store, rt.jobs).clean


def test_a_blob_not_named_by_its_donation_is_an_orphan(world: World) -> None:
    rt = world.rt
    donation_id = processed_clip(world)
    extra = layout.clip_prefix(donation_id) + "old-video.mp4"
    put_bytes(rt.store, extra, b"left over")
    assert check(rt.sessions, rt.store, rt.jobs).orphans == [extra]


def test_a_lost_video_is_missing_and_repair_cannot_mend_it(world: World) -> None:
    rt = world.rt
    donation_id = processed_clip(world)
    rt.store.delete(layout.video_key(donation_id))
    report = check(rt.sessions, rt.store, rt.jobs)
    assert report.missing == [layout.video_key(donation_id)]
    assert report.orphans == [] and report.shredded == [] and not report.clean
    after, removed = repair(rt.sessions, rt.store, rt.jobs, grace_s=0)
    assert removed == 0 and after.missing == [layout.video_key(donation_id)]
    assert not after.clean
    assert rt.store.exists(layout.thumbnail_key(donation_id))


def test_missing_upload_parts_and_model_files_are_listed(world: World) -> None:
    rt = world.rt
    part = upload_with_part(world)
    artifact = registered_model(rt)
    rt.store.delete(part)
    rt.store.delete(artifact)
    assert check(rt.sessions, rt.store, rt.jobs).missing == sorted([part, artifact])


def test_a_clip_before_processing_owes_no_content(world: World) -> None:
    world.clip_in_review()  # in review, but no keys set: nothing to be missing
    assert check(world.rt.sessions, world.rt.store, world.rt.jobs).clean


@pytest.mark.parametrize("how", ["clip", "donor"])
def test_bytes_of_a_shredded_clip_are_listed_and_repair_removes_them(
    world: World, how: str
) -> None:
    rt = world.rt
    gone = processed_clip(world, "alice")
    kept = processed_clip(world, "bob")
    with transaction(rt.sessions) as s:
        if how == "clip":
            rt.vault.shred_clip(s.get_one(Donation, gone))
        else:
            rt.vault.shred_donor(s, world.alice.id)
    report = check(rt.sessions, rt.store, rt.jobs)
    assert report.shredded == sorted([layout.video_key(gone), layout.thumbnail_key(gone)])
    # Its keys are still on the row, yet nothing is owed of a clip nobody can read.
    assert report.orphans == [] and report.missing == [] and not report.clean
    bob_before = {k: v for k, v in snapshot(rt).items() if k.startswith(f"clips/{kept}/")}

    after, removed = repair(rt.sessions, rt.store, rt.jobs, grace_s=0)
    assert removed == 2 and after.clean
    assert rt.store.keys(layout.clip_prefix(gone)) == []
    assert snapshot(rt) == bob_before


def test_a_withdrawal_awaiting_its_job_is_counted_and_the_job_clears_it(world: World) -> None:
    from vidonate.donations.withdrawal import withdraw_clip

    rt = world.rt
    donation_id = processed_clip(world)
    with transaction(rt.sessions) as s:
        donor = s.get_one(User, world.alice.id)
        withdraw_clip(s, rt.vault, rt.duplicates, rt.jobs, donor, donation_id)  # type: ignore[arg-type]
    report = check(rt.sessions, rt.store, rt.jobs)
    assert report.pending_deletions == 1 and len(report.shredded) == 2
    rt.jobs.run_pending()
    assert check(rt.sessions, rt.store, rt.jobs) == FsckReport(0, [], [], [], 0)


def test_an_orphan_referenced_during_the_grace_period_is_kept(world: World) -> None:
    rt = world.rt
    donation_id = world.clip_in_review()
    video = layout.video_key(donation_id)  # written by processing, its row not yet committed
    put_bytes(rt.store, video, b"processed video")
    put_bytes(rt.store, "stray/file.bin", b"orphan")
    late = "stray/written-during-the-wait.bin"
    waited: list[float] = []

    def processing_commits(seconds: float) -> None:
        waited.append(seconds)
        with transaction(rt.sessions) as s:
            s.get_one(Donation, donation_id).video_key = video
        put_bytes(rt.store, late, b"not orphan in the first scan")

    after, removed = repair(rt.sessions, rt.store, rt.jobs, grace_s=30.0, sleep=processing_commits)
    assert waited == [30.0]
    assert removed == 1 and not rt.store.exists("stray/file.bin")
    assert read_bytes(rt.store, video) == b"processed video"
    # Seen only by the second scan: it may be a write in flight, so it stays, reported.
    assert rt.store.exists(late) and after.orphans == [late]


def test_nothing_to_repair_does_not_wait(world: World) -> None:
    def no_sleep(_seconds: float) -> None:
        raise AssertionError("repair waited with nothing to delete")

    processed_clip(world)
    after, removed = repair(world.rt.sessions, world.rt.store, world.rt.jobs, sleep=no_sleep)
    assert after.clean and removed == 0


@pytest.fixture
def fsck_cli(
    world: World, cli_env: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> CliRunner:
    from vidonate import cli_server

    monkeypatch.setenv("VIDONATE_SECRET_KEY", settings.secret_key)
    monkeypatch.setattr(cli_server, "console", Console(width=200))
    return CliRunner()


def test_the_cli_exits_0_when_clean_and_1_with_problems(world: World, fsck_cli: CliRunner) -> None:
    from vidonate.cli import app

    donation_id = processed_clip(world)
    clean = fsck_cli.invoke(app, ["fsck"])
    assert clean.exit_code == 0, clean.output
    assert "clean" in clean.output and "pending deletions" in clean.output

    put_bytes(world.rt.store, "stray/file.bin", b"orphan")
    world.rt.store.delete(layout.thumbnail_key(donation_id))
    dirty = fsck_cli.invoke(app, ["fsck"])
    assert dirty.exit_code == 1, dirty.output
    assert "stray/file.bin" in dirty.output
    assert layout.thumbnail_key(donation_id) in dirty.output
    assert world.rt.store.exists("stray/file.bin")  # no --repair, nothing deleted

    repaired = fsck_cli.invoke(app, ["fsck", "--repair", "--grace", "0"])
    assert repaired.exit_code == 1, repaired.output  # the missing thumbnail remains
    assert not world.rt.store.exists("stray/file.bin")
    assert "removed" in repaired.output


def test_the_cli_repair_exits_0_once_everything_is_removed(
    world: World, fsck_cli: CliRunner
) -> None:
    from vidonate.cli import app

    processed_clip(world)
    for n in range(25):
        put_bytes(world.rt.store, f"stray/{n:02d}.bin", b"orphan")
    listed = fsck_cli.invoke(app, ["fsck"])
    assert listed.exit_code == 1 and "stray/19.bin" in listed.output
    assert "stray/20.bin" not in listed.output and "5 more" in listed.output
    repaired = fsck_cli.invoke(app, ["fsck", "--repair", "--grace", "0"])
    assert repaired.exit_code == 0, repaired.output
    assert world.rt.store.keys("stray/") == []
