"""Every job kind is idempotent: run a second time (its worker died after the work but
before the job was marked done, and it was given back), it changes nothing.

One case per registered kind, on each database's queue (the in-process one on SQLite,
Procrastinate on PostgreSQL): a new kind without a case here fails the first test.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tus_helpers import upload
from vidonate.db.engine import transaction
from vidonate.db.models import Base, Donation
from vidonate.donations.content import DELETE_BLOBS_JOB
from vidonate.donations.withdrawal import withdraw_clip
from vidonate.ingest.process import PROCESS_JOB
from vidonate.ingest.samples import generate_clip
from vidonate.review.suggestions import SUGGEST_JOB
from world import World

# The queue's own bookkeeping changes when a job runs again; nothing else may.
QUEUE_TABLES = {"jobs", "scheduled_tasks"}


def _processed_clip(client: TestClient, world: World, tmp_path: Path) -> int:
    clip = generate_clip(tmp_path / "clip.mp4", seconds=1.2)
    upload(client, world.tokens["alice"], clip.read_bytes(), world.metadata())
    assert world.rt.jobs.run_pending() == 1
    with transaction(world.rt.sessions) as s:
        donation = s.scalars(select(Donation)).one()
        assert donation.status == "in_review", donation.failure_detail
        return donation.id


def processing(client: TestClient, world: World, tmp_path: Path) -> dict[str, Any]:
    return {"donation_id": _processed_clip(client, world, tmp_path)}


def blob_deletion(client: TestClient, world: World, tmp_path: Path) -> dict[str, Any]:
    donation_id = _processed_clip(client, world, tmp_path)
    rt = world.rt
    with transaction(rt.sessions) as s:
        withdraw_clip(s, rt.vault, rt.duplicates, rt.jobs, world.alice, donation_id)  # type: ignore[arg-type]
    with transaction(rt.sessions) as s:
        (job,) = rt.jobs.list_jobs(s, DELETE_BLOBS_JOB)
    assert rt.jobs.run_pending() == 1
    return job.payload


def suggestion(client: TestClient, world: World, tmp_path: Path) -> dict[str, Any]:
    """With no model trained, suggesting does nothing, however often it runs; with one,
    a clip that model has suggested on is left alone (tests/review/test_suggestions.py)."""
    donation_id = _processed_clip(client, world, tmp_path)
    with transaction(world.rt.sessions) as s:
        world.rt.jobs.enqueue(s, SUGGEST_JOB, {"donation_id": donation_id})
    assert world.rt.jobs.run_pending() == 1
    return {"donation_id": donation_id}


CASES: dict[str, Callable[[TestClient, World, Path], dict[str, Any]]] = {
    PROCESS_JOB: processing,
    DELETE_BLOBS_JOB: blob_deletion,
    SUGGEST_JOB: suggestion,
}


def _everything(world: World) -> tuple[dict[str, list[tuple[Any, ...]]], list[str]]:
    """Every row of every table but the queue's, and every stored key."""
    with transaction(world.rt.sessions) as s:
        rows = {
            table.name: sorted(map(tuple, s.execute(select(table)).all()), key=repr)
            for table in Base.metadata.sorted_tables
            if table.name not in QUEUE_TABLES
        }
    return rows, sorted(world.rt.store.keys())


def test_every_job_kind_has_a_case(world: World) -> None:
    assert world.rt.jobs.kinds() == set(CASES)


@pytest.mark.slow  # a whole clip through processing
@pytest.mark.parametrize("kind", sorted(CASES))
def test_running_a_job_again_changes_nothing(
    kind: str, client: TestClient, world: World, tmp_path: Path
) -> None:
    payload = CASES[kind](client, world, tmp_path)  # the job ran once, and did its work
    before = _everything(world)
    with transaction(world.rt.sessions) as s:
        world.rt.jobs.enqueue(s, kind, payload)
    assert world.rt.jobs.run_pending() == 1
    after = _everything(world)
    assert after[1] == before[1], "the same blobs"
    assert after[0] == before[0], "the same rows"
