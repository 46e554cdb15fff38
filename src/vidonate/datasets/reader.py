"""Reading a release's clips for training: through the vault, logged, checked.

Each clip is opened with ``donations.content.open_content`` for the purpose "training"
(one access-log entry per clip, naming who trains), decrypted into a job directory of
the registered scratch space (``storage.scratch``: swept at start-up should the process
die meanwhile), checked against the manifest's sha256, handed to the caller, and deleted
before the next one; the directory goes in a ``finally``. A clip whose key was destroyed
since the release (withdrawn, or past retention) cannot be read and is skipped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from vidonate.crypto.vault import ContentShredded, Vault
from vidonate.datasets.release import get_release, manifest
from vidonate.db.engine import transaction
from vidonate.db.models import Donation
from vidonate.donations.content import open_content
from vidonate.errors import NotFound
from vidonate.storage.scratch import ScratchSpace


class ManifestMismatch(Exception):
    """A clip's content no longer hashes to what the release recorded."""


@dataclass
class ReleaseReader:
    """Iterate ``(manifest row, local plaintext file)`` over a release's clips."""

    sessions: sessionmaker[Session]
    vault: Vault
    scratch: ScratchSpace
    release: str | int
    actor_id: int | None
    splits: tuple[str, ...] | None = None
    skipped: list[int] = field(default_factory=list)
    release_version: int | None = None
    # Training reads only clips whose event intervals are verified; the others are
    # listed in ``unverified`` and never opened (no access-log entry for them).
    verified_only: bool = False
    unverified: list[int] = field(default_factory=list)

    def rows(self) -> list[dict[str, Any]]:
        with transaction(self.sessions) as session:
            release = get_release(session, self.release)
            self.release_version = release.version
            rows = manifest(session, release)
        rows = [r for r in rows if self.splits is None or r["split"] in self.splits]
        if not self.verified_only:
            return rows
        self.unverified = [r["id"] for r in rows if not r["verified"]]
        return [r for r in rows if r["verified"]]

    def __iter__(self) -> Iterator[tuple[dict[str, Any], Path]]:
        with self.scratch.job_dir("training") as workdir:
            for row in self.rows():
                path = workdir / f"{row['id']}.mp4"
                if not self._fetch(row, path):
                    self.skipped.append(row["id"])
                    continue
                try:
                    yield row, path
                finally:
                    path.unlink(missing_ok=True)

    def _fetch(self, row: dict[str, Any], dest: Path) -> bool:
        with transaction(self.sessions) as session:
            donation = session.get(Donation, row["id"])
            if donation is None:
                return False
            try:
                content = open_content(
                    self.vault,
                    session,
                    donation,
                    "video",
                    actor_id=self.actor_id,
                    purpose="training",
                )
            except (ContentShredded, NotFound):
                return False
        digest = hashlib.sha256()
        with dest.open("wb") as out:
            for chunk in content.read():
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != row["sha256"]:
            raise ManifestMismatch(f"clip {row['id']} does not match its manifest sha256")
        return True
