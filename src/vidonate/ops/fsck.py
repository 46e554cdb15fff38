"""``vidonate fsck``: the database against the blob store, after an incident.

Three findings:

- **orphans**: blobs no row refers to (a crash between writing bytes and committing the
  row that names them, a restore of the store newer than the database, a stray key);
- **missing**: blobs rows refer to that the store lacks (a restore of the database newer
  than the store, a lost disk); nothing can bring them back, so they are only reported;
- **shredded**: bytes of clips whose key is destroyed (withdrawn, or past retention):
  unreadable already, not yet deleted. A queued deletion job usually explains them, so
  the report counts those jobs.

The rules follow ``storage/layout.py``, the one module that spells blob keys. The scan
reads columns, never ORM objects, and streams them (``yield_per``): a deployment's tables
may be far larger than what one process should hold.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import Executable

from vidonate.db.engine import read_transaction
from vidonate.db.models import (
    DetectorModel,
    Donation,
    DonationStatus,
    DonorKey,
    Upload,
    UploadPart,
)
from vidonate.donations.content import DELETE_BLOBS_JOB
from vidonate.jobs.base import JobQueue
from vidonate.jobs.queue import QUEUED, RUNNING
from vidonate.storage import layout
from vidonate.storage.base import BlobStore

# Statuses whose processed video and thumbnail must exist: before them processing has not
# written them yet; after them (withdrawn, failed) none is owed.
CONTENT_STATUSES = frozenset(
    {DonationStatus.in_review, DonationStatus.accepted, DonationStatus.rejected}
)
_BATCH = 2000
Progress = Callable[[str], None]
Verdict = Literal["referenced", "orphan", "shredded"]


@dataclass(frozen=True)
class FsckReport:
    blobs: int
    orphans: list[str]
    missing: list[str]
    shredded: list[str]
    # Queued or running blob-deletion jobs: shredded bytes they will still remove.
    pending_deletions: int

    @property
    def clean(self) -> bool:
        return not (self.orphans or self.missing or self.shredded)


@dataclass(frozen=True)
class _Clip:
    gone: bool  # the clip's key, or its donor's, is destroyed
    keys: frozenset[str]  # its video_key and thumbnail_key, where set


def _stream(session: Session, query: Executable) -> Iterable[Any]:
    return session.execute(query.execution_options(yield_per=_BATCH))


def _id_under(key: str, prefix: str) -> str | None:
    """The name after ``prefix`` in ``<prefix><name>/<rest>``, or None."""
    if not key.startswith(prefix):
        return None
    name, slash, rest = key[len(prefix) :].partition("/")
    return name if slash and name and rest else None


def _int_id(text: str | None) -> int | None:
    # isdigit() alone admits non-ASCII digits, which int() reads; keys never hold them.
    return int(text) if text and text.isascii() and text.isdigit() else None


def scan(
    session: Session, store: BlobStore, jobs: JobQueue, progress: Progress | None = None
) -> FsckReport:
    """Compare the store with the database as ``session`` sees it; changes nothing.

    The store is listed before the rows are read: a blob is written before the row that
    names it commits, so a blob listed whose row commits meanwhile is seen referenced.
    Missing candidates are checked again against the store after the rows are read, for
    the reverse case (a row read whose blob was written after the listing).
    """
    say = progress or (lambda _message: None)
    say("listing blobs")
    keys = store.keys()
    present = set(keys)
    clip_ids = {c for k in keys if (c := _int_id(_id_under(k, layout.CLIPS))) is not None}
    upload_ids = {u for k in keys if (u := _id_under(k, layout.UPLOADS)) is not None}
    model_ids = {m for k in keys if (m := _int_id(_id_under(k, layout.MODELS))) is not None}
    missing: set[str] = set()

    say(f"reading uploads ({len(keys)} blobs)")
    upload_donation: dict[str, int] = {
        upload_id: donation_id
        for upload_id, donation_id in _stream(session, select(Upload.id, Upload.donation_id))
        if upload_id in upload_ids
    }
    parts: set[str] = set()
    for (key,) in _stream(session, select(UploadPart.key)):
        (parts if key in present else missing).add(key)

    say(f"reading donations ({len(keys)} blobs)")
    wanted = clip_ids | set(upload_donation.values())
    clips: dict[int, _Clip] = {}
    donations = select(
        Donation.id,
        Donation.status,
        Donation.video_key,
        Donation.thumbnail_key,
        Donation.wrapped_key.is_(None) | DonorKey.user_id.is_(None),
    ).outerjoin(DonorKey, DonorKey.user_id == Donation.donor_id)
    for donation_id, status, video_key, thumbnail_key, gone in _stream(session, donations):
        content = frozenset(k for k in (video_key, thumbnail_key) if k)
        if not gone and status in CONTENT_STATUSES:
            missing |= content - present
        if donation_id in wanted:
            clips[donation_id] = _Clip(bool(gone), content)

    say(f"reading models ({len(keys)} blobs)")
    models: set[int] = set()
    for model_id, artifact_key in _stream(
        session, select(DetectorModel.id, DetectorModel.artifact_key)
    ):
        if artifact_key and artifact_key not in present:
            missing.add(artifact_key)
        if model_id in model_ids:
            models.add(model_id)

    pending = sum(
        job.status in (QUEUED, RUNNING) for job in jobs.list_jobs(session, DELETE_BLOBS_JOB)
    )

    say(f"sorting {len(keys)} blobs")
    orphans: list[str] = []
    shredded: list[str] = []
    for key in keys:
        verdict = _classify(key, clips, upload_donation, parts, models)
        if verdict == "orphan":
            orphans.append(key)
        elif verdict == "shredded":
            shredded.append(key)
    # Written since the listing (its row committed before we read it): not missing.
    gone_for_good = sorted(k for k in missing if not store.exists(k))
    return FsckReport(len(keys), sorted(orphans), gone_for_good, sorted(shredded), pending)


def _classify(
    key: str,
    clips: dict[int, _Clip],
    upload_donation: dict[str, int],
    parts: set[str],
    models: set[int],
) -> Verdict:
    """Whether one stored key is referenced, an orphan, or bytes under a destroyed key."""
    donation_id = _int_id(_id_under(key, layout.CLIPS))
    if donation_id is not None:
        clip = clips.get(donation_id)
        if clip is None:
            return "orphan"
        # Everything under a destroyed key is unreadable, whatever the row still names.
        if clip.gone:
            return "shredded"
        return "referenced" if key in clip.keys else "orphan"
    upload_id = _id_under(key, layout.UPLOADS)
    if upload_id is not None:
        owner = clips.get(upload_donation.get(upload_id, -1))
        if owner is not None and owner.gone:
            return "shredded"
        return "referenced" if key in parts else "orphan"
    model_id = _int_id(_id_under(key, layout.MODELS))
    if model_id is not None:
        return "referenced" if model_id in models else "orphan"
    return "orphan"


def check(
    sessions: sessionmaker[Session],
    store: BlobStore,
    jobs: JobQueue,
    progress: Progress | None = None,
) -> FsckReport:
    """One scan in a read-only transaction."""
    with read_transaction(sessions) as session:
        return scan(session, store, jobs, progress)


def repair(
    sessions: sessionmaker[Session],
    store: BlobStore,
    jobs: JobQueue,
    grace_s: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
    progress: Progress | None = None,
) -> tuple[FsckReport, int]:
    """Delete orphan and shredded blobs; returns the report after it and how many went.

    Referenced blobs are never deleted, and missing ones cannot be mended. Writes in
    flight are the danger: a tus part or a processed video is written before the row
    that names it commits, so a single scan would see it orphan and delete bytes about to
    be referenced. Hence two scans ``grace_s`` apart, each in its own transaction (the
    second sees rows committed during the wait): only what was orphan or shredded in
    both goes. A write whose row takes longer than ``grace_s`` to commit is not covered,
    so the grace must exceed the slowest write-to-commit (seconds, in practice).
    """
    say = progress or (lambda _message: None)
    first = check(sessions, store, jobs, progress)
    doomed = set(first.orphans) | set(first.shredded)
    if not doomed:
        return first, 0
    say(f"waiting {grace_s:g} s for writes in flight")
    sleep(grace_s)
    second = check(sessions, store, jobs, progress)
    doomed &= set(second.orphans) | set(second.shredded)
    for done, key in enumerate(sorted(doomed), start=1):
        say(f"deleting blobs ({done}/{len(doomed)})")
        store.delete(key)
    after = replace(
        second,
        blobs=second.blobs - len(doomed),
        orphans=[k for k in second.orphans if k not in doomed],
        shredded=[k for k in second.shredded if k not in doomed],
    )
    return after, len(doomed)
