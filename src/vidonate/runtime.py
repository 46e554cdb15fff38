"""Wiring: one ``Runtime`` builds the collaborators every layer needs and connects them.

Nothing is created at import time; ``Runtime.from_settings`` builds the engine, the blob
store, the vault and the job queue from the settings, and registers the jobs' handlers
by name. It holds no domain logic: each handler hands the domain function the explicit
collaborators it takes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from vidonate.config import Settings
from vidonate.crypto.vault import Vault, open_key_ring
from vidonate.db.engine import make_engine, make_sessionmaker, transaction
from vidonate.dedupe.finder import DuplicateFinder
from vidonate.donations.content import DELETE_BLOBS_JOB, delete_content_blobs
from vidonate.donations.retention import expire_retained_clips
from vidonate.ingest.process import (
    PROCESS_JOB,
    Processing,
    give_up_processing,
    process_donation,
)
from vidonate.ingest.tus import Uploads, expire_uploads
from vidonate.jobs.base import JobQueue
from vidonate.jobs.factory import open_queue
from vidonate.review.suggestions import SUGGEST_JOB, suggest_intervals
from vidonate.storage import BlobStore, open_store
from vidonate.storage.scratch import ScratchSpace

if TYPE_CHECKING:
    from vidonate.detect.pipeline import Pipeline

HOUSEKEEPING_SECONDS = 60.0
# The fraud scan reads every vote: hourly is soon enough for a hold before a month's payout.
FRAUD_SCAN_SECONDS = 3600.0


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    store: BlobStore
    vault: Vault = field(init=False)
    # In-process threads on the jobs table, or Procrastinate: picked by the queue URL.
    jobs: JobQueue = field(init=False)
    duplicates: DuplicateFinder = field(init=False)
    scratch: ScratchSpace = field(init=False)
    processing: Processing = field(init=False)
    uploads: Uploads = field(init=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        engine = make_engine(
            settings.database_url, reads_take_write_lock=settings.sqlite_reads_take_write_lock
        )
        runtime = cls(settings, engine, make_sessionmaker(engine), open_store(settings.storage_url))
        given = settings.master_key.get_secret_value()
        # A key given in the environment is the whole ring: no file is read or created.
        key_file = None if given else settings.master_key_file
        runtime.vault = Vault(runtime.store, open_key_ring(key_file, given), key_file)
        runtime.duplicates = DuplicateFinder(runtime.vault)
        runtime.scratch = ScratchSpace(settings.var_dir / "scratch")
        runtime.jobs = open_queue(settings, runtime.sessions)
        runtime.processing = Processing(
            runtime.sessions,
            runtime.vault,
            runtime.store,
            runtime.duplicates,
            runtime.scratch,
            settings,
            runtime.jobs,
        )
        runtime.uploads = Uploads(
            runtime.sessions, runtime.vault, runtime.store, runtime.jobs, settings
        )
        runtime._register_jobs()
        return runtime

    def _register_jobs(self) -> None:
        jobs = self.jobs
        jobs.register(
            PROCESS_JOB,
            lambda payload: process_donation(self.processing, int(payload["donation_id"])),
            give_up=lambda payload, reason: give_up_processing(
                self.processing, int(payload["donation_id"]), reason
            ),
        )
        jobs.register(
            SUGGEST_JOB,
            lambda payload: suggest_intervals(self.processing, int(payload["donation_id"])),
        )
        jobs.register(
            DELETE_BLOBS_JOB,
            lambda payload: delete_content_blobs(self.store, self.sessions, payload),
        )
        jobs.schedule("housekeeping", self.shared_housekeeping, HOUSEKEEPING_SECONDS)
        jobs.schedule("fraud_scan", self.fraud_scan, FRAUD_SCAN_SECONDS)
        # Scratch space is on each host's disk: every process sweeps what dead ones left.
        jobs.schedule(
            "scratch_sweep", self.scratch.sweep, HOUSEKEEPING_SECONDS, once_per_deployment=False
        )

    def pipeline(self) -> Pipeline:
        """What training, evaluation and detection work with. Built on demand: its module
        loads SciPy, which serving never needs."""
        from vidonate.detect.pipeline import Pipeline

        return Pipeline(self.sessions, self.vault, self.store, self.scratch)

    def shared_housekeeping(self) -> None:
        """What one worker of the deployment does each turn: expired uploads and clips
        past their retention go, and the blob store's abandoned writes are swept."""
        expire_uploads(self.sessions, self.store)
        expire_retained_clips(self.sessions, self.vault, self.duplicates, self.jobs)
        self.store.sweep_partial()

    def fraud_scan(self) -> None:
        """Hold for review the accounts that share a camera scene or vote on each other's
        clips far above chance (rewards/fraud.py)."""
        from vidonate.rewards.fraud import scan_for_fraud

        with transaction(self.sessions) as session:
            scan_for_fraud(session)

    def housekeeping(self) -> None:
        """All of it at once, now (tests, `vidonate process`)."""
        self.shared_housekeeping()
        self.scratch.sweep()

    def start(self) -> None:
        self.scratch.sweep()  # plaintext a crashed process left behind goes first
        if self.settings.worker_threads > 0:
            self.jobs.start()

    def close(self) -> None:
        self.jobs.stop()
        self.scratch.close()
        self.engine.dispose()
