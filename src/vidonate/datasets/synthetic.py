"""Synthetic scenes into the dataset: stored like donations, marked synthetic everywhere.

Scenes rendered by ``vidonate synth`` are imported as clips of the system account
``vidonate-synthesizer`` in the campaign ``synthetic-scenes`` (reward 0, so nothing is
ever paid for them). They are encrypted through the vault like every clip, so releases,
training and withdrawal treat them the same way; their labels and event times come from
the renderer, so they skip review and enter as ``accepted``, and ``donations.synthetic``
keeps them out of the public donation counts. Their backgrounds were redacted once when
rendered, so the per-frame redaction pass is not run again.

Each background source is one camera, so releases keep a background within one split.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from vidonate.accounts.cameras import add_camera
from vidonate.accounts.users import create_user
from vidonate.campaigns.service import consent_in_force, create_campaign
from vidonate.crypto.vault import Vault
from vidonate.db.engine import transaction
from vidonate.db.models import (
    Camera,
    Campaign,
    Donation,
    DonationStatus,
    User,
)
from vidonate.donations.service import record_acceptance
from vidonate.donations.states import transition
from vidonate.storage import BlobStore, layout

if TYPE_CHECKING:
    from vidonate.synth import SynthClip

SYNTH_USERNAME = "vidonate-synthesizer"
SYNTH_CAMPAIGN = "synthetic-scenes"
CATEGORIES = ("package_theft", "car_door_tampering", "normal_activity")
_REASON = "synthetic_import"


def _synth_account(session: Session) -> tuple[User, Campaign]:
    user = session.scalar(select(User).where(User.username == SYNTH_USERNAME))
    if user is None:
        # Nobody signs in as the synthesizer: its password is random and never shown.
        user = create_user(
            session, SYNTH_USERNAME, secrets.token_urlsafe(32), ["donor"], "synthetic-scenes"
        )
    campaign = session.scalar(select(Campaign).where(Campaign.slug == SYNTH_CAMPAIGN))
    if campaign is None:
        campaign = create_campaign(
            session,
            slug=SYNTH_CAMPAIGN,
            name="Synthetic scenes (rendered by vidonate, not filmed)",
            budget_cents=0,
            reward_cents=0,
            categories=dict.fromkeys(CATEGORIES, 0),
            consent_text="Scenes rendered by vidonate's synthesizer; nobody was filmed.",
        )
    return user, campaign


def sidecar_background(sidecar: dict) -> str:
    """The footage (or "procedural") a rendered clip's background came from; the crop and
    method beside it in the sidecar vary clip by clip, the camera does not."""
    return str(sidecar["background"]["source"])


def _camera(session: Session, owner: User, background: str) -> Camera:
    label = f"synthetic: {background}"[:80]
    camera = session.scalar(
        select(Camera).where(Camera.owner_id == owner.id, Camera.label == label)
    )
    return camera or add_camera(session, owner, label, "porch")


def import_synthetic(
    sessions: sessionmaker[Session],
    vault: Vault,
    store: BlobStore,
    clips: Sequence[SynthClip],
    *,
    progress: Callable[[int, int], None] | None = None,
) -> list[int]:
    """Store rendered clips as accepted synthetic clips; returns their donation ids."""
    from vidonate.ingest.media import thumbnail

    ids: list[int] = []
    # Not the scratch space: a rendered scene shows nobody, and it lies in the renderer's
    # output folder already; its thumbnail is no more private than it.
    workdir = Path(tempfile.mkdtemp(prefix="vidonate-synth-import-"))
    try:
        for done, clip in enumerate(clips, 1):
            sidecar = json.loads(clip.sidecar.read_text())
            thumb = workdir / "thumbnail.jpg"
            thumbnail(clip.path, thumb)
            with clip.path.open("rb") as f:
                video_sha256 = hashlib.file_digest(f, "sha256").hexdigest()
            written: list[str] = []
            try:
                with transaction(sessions) as session:
                    ids.append(_store(vault, session, clip, sidecar, thumb, video_sha256, written))
            except BaseException:
                for key in written:  # the rows rolled back; so do the blobs
                    store.delete(key)
                raise
            if progress is not None:
                progress(done, len(clips))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return ids


def _store(
    vault: Vault,
    session: Session,
    clip: SynthClip,
    sidecar: dict,
    thumb: Path,
    video_sha256: str,
    written: list[str],
) -> int:
    user, campaign = _synth_account(session)
    consent = consent_in_force(session, campaign)
    record_acceptance(session, user.id, consent.id)
    camera = _camera(session, user, sidecar_background(sidecar))
    donation = Donation(
        donor_id=user.id,
        campaign_id=campaign.id,
        camera_id=camera.id,
        consent_text_id=consent.id,
        category=clip.label,
        staged=True,
        synthetic=True,
        recorded_at=campaign.created_at,
        recorded_at_known=False,
        events=[{"start": e.start, "end": e.end, "label": e.label} for e in clip.events],
        source_filename=clip.path.name,
        source_size=clip.path.stat().st_size,
        video_sha256=video_sha256,
        width=int(sidecar.get("width", 0)) or None,
        height=int(sidecar.get("height", 0)) or None,
        duration_s=clip.duration,
        status="",
    )
    session.add(donation)
    session.flush()
    clip_key = vault.new_clip_key(session, donation)
    video_key, thumb_key = layout.video_key(donation.id), layout.thumbnail_key(donation.id)
    written.append(video_key)
    vault.put_file(clip_key, video_key, clip.path)
    written.append(thumb_key)
    vault.put_file(clip_key, thumb_key, thumb)
    donation.video_key, donation.thumbnail_key = video_key, thumb_key
    for status in (
        DonationStatus.uploading,
        DonationStatus.received,
        DonationStatus.processing,
        DonationStatus.in_review,
        DonationStatus.accepted,
    ):
        transition(session, donation, status, reason=_REASON)
    return donation.id
