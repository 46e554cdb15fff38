"""The access log: every read of clip content is recorded with actor, purpose and
object, in a hash chain that exposes any changed, deleted or reordered entry."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, update
from typer.testing import CliRunner

from vidonate.cli import app
from vidonate.config import Settings
from vidonate.db import audit
from vidonate.db.engine import transaction
from vidonate.db.models import AuditEntry
from vidonate.ingest.samples import generate_clip
from vidonate.runtime import Runtime
from world import World


def _append(rt: Runtime, n: int, actor: int = 1) -> None:
    for i in range(n):
        with transaction(rt.sessions) as s:
            audit.record(
                s,
                actor_id=actor,
                action="read_video",
                purpose="review",
                object_type="donation",
                object_id=i,
            )


def _verify(rt: Runtime) -> audit.Verification:
    with transaction(rt.sessions) as s:
        return audit.verify(s)


@pytest.mark.slow  # a whole clip through processing: make test, not test-fast
def test_reading_a_clip_is_logged_with_actor_purpose_and_object(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    from tus_helpers import upload

    upload(
        client,
        world.tokens["alice"],
        generate_clip(tmp_path / "a.mp4", seconds=1.5).read_bytes(),
        world.metadata(),
    )
    world.rt.jobs.run_pending()
    rita = {"Authorization": f"Bearer {world.tokens['rita']}"}
    assert client.get("/api/v1/review/next", headers=rita).json()["id"] == 1, "given to rita"
    for who in ("rita", "alice"):
        r = client.get(
            "/api/v1/donations/1/video", headers={"Authorization": f"Bearer {world.tokens[who]}"}
        )
        assert r.status_code == 200
    with transaction(world.rt.sessions) as s:
        rows = [
            (e.actor_id, e.action, e.purpose, e.object_type, e.object_id)
            for e in s.query(AuditEntry).order_by(AuditEntry.seq)
        ]
    assert rows == [
        (None, "read_upload", "processing", "donation", "1"),
        (world.rita.id, "read_video", "review", "donation", "1"),
        (world.alice.id, "read_video", "owner", "donation", "1"),
    ]
    assert _verify(world.rt).ok


@pytest.mark.parametrize("tamper", ["change", "delete", "reorder"])
def test_verify_finds_a_changed_deleted_or_reordered_entry(rt: Runtime, tamper: str) -> None:
    _append(rt, 5)
    good = _verify(rt)
    assert good.ok and good.entries == 5
    with transaction(rt.sessions) as s:
        if tamper == "change":
            s.execute(update(AuditEntry).where(AuditEntry.seq == 3).values(object_id="999"))
        elif tamper == "delete":
            s.execute(delete(AuditEntry).where(AuditEntry.seq == 3))
        else:  # swap entries 2 and 3
            s.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(seq=-2))
            s.execute(update(AuditEntry).where(AuditEntry.seq == 3).values(seq=2))
            s.execute(update(AuditEntry).where(AuditEntry.seq == -2).values(seq=3))
    bad = _verify(rt)
    assert not bad.ok and bad.first_bad_seq in (2, 3, 4)


def test_concurrent_appends_keep_one_chain(rt: Runtime) -> None:
    threads = [threading.Thread(target=_append, args=(rt, 10, actor)) for actor in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = _verify(rt)
    assert result.ok and result.entries == 40


def test_the_log_holds_no_clip_content_or_personal_data() -> None:
    """Ids, codes, times and hashes only: no bytes, names, handles or file names."""
    columns = {c.name: type(c.type).__name__ for c in AuditEntry.__table__.columns}
    assert set(columns) == {
        "id",
        "seq",
        "at",
        "actor_id",
        "action",
        "purpose",
        "object_type",
        "object_id",
        "prev_hash",
        "entry_hash",
    }
    assert "LargeBinary" not in columns.values() and "Text" not in columns.values()


def test_cli_verify_exits_1_on_a_broken_chain(
    rt: Runtime, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIDONATE_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("VIDONATE_DATABASE_URL", settings.database_url)
    _append(rt, 3)
    ok = CliRunner().invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0 and "3 entries" in ok.output
    with transaction(rt.sessions) as s:
        s.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(purpose="training"))
    broken = CliRunner().invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1 and "entry 2" in broken.output
