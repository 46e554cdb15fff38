"""Wiring: one ``Runtime`` holds the collaborators every layer needs.

Nothing is created at import time; ``Runtime.from_settings`` builds the engine,
the blob store and the job worker from the three URLs in the settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from vidonate.config import Settings
from vidonate.crypto.vault import Vault, open_key_ring
from vidonate.db.engine import make_engine, make_sessionmaker
from vidonate.dedupe.finder import DuplicateFinder
from vidonate.jobs.worker import Worker
from vidonate.storage import BlobStore, open_store
from vidonate.storage.scratch import ScratchSpace


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    store: BlobStore
    vault: Vault = field(init=False)
    worker: Worker = field(init=False)
    duplicates: DuplicateFinder = field(init=False)
    scratch: ScratchSpace = field(init=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        if not settings.queue_url.startswith("inprocess"):
            raise ValueError(
                f"unsupported queue URL {settings.queue_url!r}: this version runs jobs in "
                "process (inprocess://); Celery comes with the distributed deployment"
            )
        engine = make_engine(settings.database_url)
        runtime = cls(settings, engine, make_sessionmaker(engine), open_store(settings.storage_url))
        assert settings.master_key_file is not None  # filled in by Settings
        runtime.vault = Vault(
            runtime.store, open_key_ring(settings.master_key_file), settings.master_key_file
        )
        runtime.duplicates = DuplicateFinder(runtime.vault)
        runtime.scratch = ScratchSpace(settings.var_dir / "scratch")
        runtime.worker = Worker(
            sessions=runtime.sessions,
            handlers=runtime._handlers(),
            housekeeping=runtime.housekeeping,
            threads=max(settings.worker_threads, 1),
            poll_seconds=settings.job_poll_seconds,
            lease_seconds=settings.job_lease_seconds,
            max_attempts=settings.job_max_attempts,
            give_up=runtime._give_up(),
        )
        return runtime

    def _handlers(self) -> dict[str, Any]:
        from vidonate.donations.content import DELETE_BLOBS_JOB, delete_content_blobs
        from vidonate.ingest.process import PROCESS_JOB, process_donation

        return {
            PROCESS_JOB: lambda payload: process_donation(self, int(payload["donation_id"])),
            DELETE_BLOBS_JOB: lambda payload: delete_content_blobs(
                self.store, self.sessions, payload
            ),
        }

    def _give_up(self) -> dict[str, Any]:
        from vidonate.ingest.process import PROCESS_JOB, give_up_processing

        return {
            PROCESS_JOB: lambda payload, reason: give_up_processing(
                self, int(payload["donation_id"]), reason
            )
        }

    def housekeeping(self) -> None:
        from vidonate.donations.retention import expire_retained_clips
        from vidonate.ingest.tus import expire_uploads

        expire_uploads(self)
        expire_retained_clips(self.sessions, self.vault, self.duplicates, self.worker)
        self.store.sweep_partial()
        self.scratch.sweep()

    def start(self) -> None:
        self.scratch.sweep()  # plaintext a crashed process left behind goes first
        if self.settings.worker_threads > 0:
            self.worker.start()

    def close(self) -> None:
        self.worker.stop()
        self.scratch.close()
        self.engine.dispose()
