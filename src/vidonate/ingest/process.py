"""The processing job: assemble → sandboxed probe, redaction, encode, thumbnail →
sandboxed audit and hash → duplicate check, scene links → incident → in review.

The stages are plain functions elsewhere (``ingest.media``, ``ingest.redact``,
``dedupe``); this module orders them and records the outcome. Everything that decodes
the upload runs in a child process with limits (``ingest.sandbox``). Any failure marks
the donation ``failed`` with a reason code and removes the bytes; the worker moves on.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from vidonate.config import Settings
from vidonate.crypto.vault import Vault
from vidonate.db import audit
from vidonate.db.engine import transaction
from vidonate.db.models import Donation, DonationStatus, Upload
from vidonate.dedupe.finder import DuplicateFinder
from vidonate.dedupe.scenes import record_scene_links
from vidonate.donations.content import delete_upload
from vidonate.donations.incidents import assign_incident
from vidonate.donations.service import consent_recorded
from vidonate.donations.states import transition
from vidonate.errors import ServiceUnavailable, UnsupportedMedia
from vidonate.jobs.base import JobQueue
from vidonate.reasons import sanitise
from vidonate.review.suggestions import enqueue_suggestions
from vidonate.storage import BlobStore, layout
from vidonate.storage.scratch import ScratchSpace

# The media modules load PyAV, OpenCV and the face model: they are imported where the
# job uses them, so that importing this module (the server does) costs none of that.
if TYPE_CHECKING:
    from vidonate.dedupe.phash import VideoSignature
    from vidonate.ingest.media import MediaLimits
    from vidonate.ingest.ocr_audit import TextAuditResult
    from vidonate.ingest.redact import AuditResult, RedactionSettings
    from vidonate.ingest.sandbox import SandboxLimits

log = logging.getLogger(__name__)
PROCESS_JOB = "process_donation"
REDACTION_STAGE = "vidonate.ingest.redact:redaction_stage"


@dataclass(frozen=True)
class Processing:
    """What the processing job works with; the wiring builds it once."""

    sessions: sessionmaker[Session]
    vault: Vault
    store: BlobStore
    duplicates: DuplicateFinder
    scratch: ScratchSpace
    settings: Settings
    # Where a clip that reaches review gets its suggested intervals (review/suggestions).
    jobs: JobQueue | None = None


def _open_upload(session: Session, ctx: Processing, donation: Donation) -> list[str]:
    """The keys of the upload's parts, in order; the read is logged (in `session`)."""
    upload = session.query(Upload).filter_by(donation_id=donation.id).one()
    audit.record(
        session,
        actor_id=None,
        action="read_upload",
        purpose="processing",
        object_type="donation",
        object_id=donation.id,
    )
    return [part.key for part in upload.parts]


def _assemble(ctx: Processing, clip_key: bytes, part_keys: list[str], dest: Path) -> str:
    """Decrypt the upload's parts into one local file (in the job's scratch directory);
    returns its sha256. No transaction is open meanwhile: on SQLite one would hold the
    write lock for as long as the upload takes to decrypt."""
    digest = hashlib.sha256()
    with dest.open("wb") as out:
        for key in part_keys:
            for chunk in ctx.vault.read(clip_key, key):
                digest.update(chunk)
                out.write(chunk)
    return digest.hexdigest()


def media_limits(settings: Settings) -> MediaLimits:
    from vidonate.ingest.media import MediaLimits

    s = settings
    return MediaLimits(
        min_duration_s=s.min_duration_s,
        max_duration_s=s.max_duration_s,
        max_width=s.max_width,
        max_height=s.max_height,
    )


def sandbox_limits(settings: Settings) -> SandboxLimits:
    """The limits every child that decodes an upload runs under, from the settings."""
    from vidonate.ingest.sandbox import SandboxLimits

    s = settings
    return SandboxLimits(
        cpu_seconds=s.sandbox_cpu_seconds,
        memory_bytes=s.sandbox_memory_bytes,
        wall_seconds=s.sandbox_wall_seconds,
        nice=s.sandbox_nice,
    )


def redaction_settings(settings: Settings) -> RedactionSettings:
    from vidonate.ingest.redact import RedactionSettings

    s = settings
    return RedactionSettings(
        face_threshold=s.face_threshold, detect_interval=s.detect_interval, text=s.redact_text
    )


@dataclass(frozen=True)
class Inspection:
    """What the checks after encoding found in the redacted clip."""

    signature: VideoSignature
    audit: AuditResult
    text_audit: TextAuditResult
    redacted_share: float  # mean share of frame area under a mosaic


def inspect_output(video: Path, audit_every_n: int) -> Inspection:
    """Residual-face and residual-text audits, the share of area redacted, and perceptual
    hashes of the redacted clip (runs sandboxed). The text audit compares with what the
    redaction stage read on the original frames (its summary beside the video); a clip
    encoded without redaction has no such readings, and no redacted area."""
    from vidonate.dedupe.phash import video_signature
    from vidonate.ingest.ocr_audit import TextAuditResult, audit_residual_text
    from vidonate.ingest.redact import audit_residual_faces, load_summary

    summary = load_summary(video)
    return Inspection(
        video_signature(video),
        audit_residual_faces(video, every_n=audit_every_n),
        audit_residual_text(video, summary.text_reads) if summary else TextAuditResult(),
        summary.redacted_share if summary else 0.0,
    )


@dataclass(frozen=True)
class Outcome:
    sha256: str
    video_sha256: str
    width: int
    height: int
    duration_s: float
    inspection: Inspection


def inspection_type() -> Any:
    """Inspection as the sandbox's answer carries it (its numpy arrays checked on arrival).

    The checks' modules import OpenCV and the face model: only a process that runs them
    pays for that, not every importer of this module."""
    from vidonate.dedupe import phash
    from vidonate.ingest import ocr_audit, redact
    from vidonate.ingest.sandbox import wire_type

    return wire_type(Inspection, {**vars(phash), **vars(redact), **vars(ocr_audit)})


def _run_stages(ctx: Processing, donation_id: int, workdir: Path) -> Outcome:
    from vidonate.ingest.sandbox import process_media, run_sandboxed

    s = ctx.settings
    limits = sandbox_limits(s)
    with transaction(ctx.sessions) as session:
        donation = session.get(Donation, donation_id)
        assert donation is not None
        clip_key = ctx.vault.clip_key(session, donation)
        part_keys = _open_upload(session, ctx, donation)
    source = workdir / "source"
    sha256 = _assemble(ctx, clip_key, part_keys, source)
    redact = s.redaction
    out = process_media(
        source,
        workdir,
        media_limits=media_limits(s),
        limits=limits,
        stage=REDACTION_STAGE if redact else None,
        stage_kwargs={"settings": redaction_settings(s)} if redact else None,
    )
    source.unlink()  # the original leaves this machine's disk as soon as it is encoded
    inspection = run_sandboxed(
        inspect_output, out.video, s.audit_every_n, limits=limits, returns=inspection_type()
    )
    with out.video.open("rb") as video:
        video_sha256 = hashlib.file_digest(video, "sha256").hexdigest()
    ctx.vault.put_file(clip_key, layout.video_key(donation_id), out.video)
    ctx.vault.put_file(clip_key, layout.thumbnail_key(donation_id), out.thumbnail)
    return Outcome(
        sha256,
        video_sha256,
        out.transcode.width,
        out.transcode.height,
        out.probe.duration_s,
        inspection,
    )


def process_donation(ctx: Processing, donation_id: int) -> None:
    with transaction(ctx.sessions) as session:
        donation = session.get(Donation, donation_id)
        # "processing" too: a worker that died mid-job leaves it so, and its job is
        # requeued; the upload's parts are only deleted at the very end, so it can redo it.
        if donation is None or donation.status not in (
            DonationStatus.received,
            DonationStatus.processing,
        ):
            log.info("donation %s is not waiting for processing; skipped", donation_id)
            return
        if donation.status == DonationStatus.received:
            transition(session, donation, DonationStatus.processing)
        if not consent_recorded(session, donation):
            # Nothing is decoded without the donor's recorded consent.
            donation.failure_detail = "no recorded acceptance of the consent text it names"
            upload = session.query(Upload).filter_by(donation_id=donation_id).one_or_none()
            if upload is not None:
                delete_upload(session, ctx.store, upload)
            transition(session, donation, DonationStatus.failed, reason="consent_missing")
            return

    video_key, thumb_key = layout.video_key(donation_id), layout.thumbnail_key(donation_id)
    failure: tuple[str, str] | None = None
    outcome: Outcome | None = None
    # The decrypted original and the encoded clip live only in registered scratch space:
    # removed when the job ends, and swept at the next start-up should the process die.
    with ctx.scratch.job_dir(f"donation-{donation_id}") as workdir:
        try:
            outcome = _run_stages(ctx, donation_id, workdir)
        except UnsupportedMedia as exc:
            failure = (exc.code, exc.message)
        except (ServiceUnavailable, OperationalError):
            # The blob store or the database is down, which is no fault of the clip: the
            # job fails and is retried later, finding the donation still processing and
            # its upload intact.
            raise
        except Exception as exc:  # the worker must go on; the reason is stored, the trace logged
            log.exception("processing donation %s failed", donation_id)
            failure = ("processing_error", f"{type(exc).__name__}: {exc}")

    with transaction(ctx.sessions) as session:
        donation = session.get(Donation, donation_id)
        assert donation is not None
        upload = session.query(Upload).filter_by(donation_id=donation_id).one_or_none()
        if upload is not None:
            delete_upload(session, ctx.store, upload)  # the original is never kept
        if donation.status == DonationStatus.withdrawn:  # withdrawn while it was processed
            ctx.store.delete(video_key)
            ctx.store.delete(thumb_key)
            return
        if failure is not None or outcome is None:
            ctx.store.delete(video_key)
            ctx.store.delete(thumb_key)
            code, detail = failure or ("processing_error", "no outcome")
            donation.failure_detail = sanitise(detail)  # donors read it: no paths, no internals
            transition(session, donation, DonationStatus.failed, reason=code)
            return
        _record(ctx, session, donation, outcome)
        donation.video_key, donation.thumbnail_key = video_key, thumb_key
        transition(session, donation, DonationStatus.in_review)
        if ctx.jobs is not None:
            enqueue_suggestions(session, ctx.jobs, donation_id)


def give_up_processing(ctx: Processing, donation_id: int, reason: str) -> None:
    """The clip's processing job used up its attempts, each ending its worker (a file
    that crashes the decoder's parent, say): the clip fails and its upload is deleted."""
    with transaction(ctx.sessions) as session:
        donation = session.get(Donation, donation_id)
        if donation is None or donation.status not in (
            DonationStatus.received,
            DonationStatus.processing,
        ):
            return
        upload = session.query(Upload).filter_by(donation_id=donation_id).one_or_none()
        if upload is not None:
            delete_upload(session, ctx.store, upload)
        donation.failure_detail = f"vidonate {reason}"
        transition(session, donation, DonationStatus.failed, reason="processing_interrupted")


def _record(rt: Processing, session: Session, donation: Donation, outcome: Outcome) -> None:
    audit, signature = outcome.inspection.audit, outcome.inspection.signature
    donation.source_sha256 = outcome.sha256
    donation.video_sha256 = outcome.video_sha256
    donation.width, donation.height = outcome.width, outcome.height
    donation.duration_s = outcome.duration_s
    text = outcome.inspection.text_audit
    donation.residual_face_rate = audit.residual_rate()
    donation.text_strings_read, donation.text_strings_left = text.strings_read, text.strings_left
    donation.redacted_share = outcome.inspection.redacted_share
    # Any string still legible fails the clip: a readable plate is a leak however rare.
    donation.redaction_flagged = (
        audit.residual_rate() > rt.settings.audit_max_residual_rate or text.failed
    )
    duplicate = rt.duplicates.find(session, donation.id, signature)
    if duplicate is not None:
        donation.duplicate_of, donation.duplicate_score = duplicate.donation_id, duplicate.score
    rt.duplicates.record(session, donation, signature)
    record_scene_links(session, donation, signature, rt.duplicates)
    assign_incident(session, donation)
