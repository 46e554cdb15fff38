"""The processing job: assemble → hash → probe → transcode → thumbnail → in review.

Each stage is a plain function of ``ingest.media``; this module only orders
them and records the outcome. Any failure marks the donation ``failed`` with a
reason code and removes the bytes, and the worker moves on.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from vidonate.db.engine import transaction
from vidonate.db.models import Donation, DonationStatus, Upload
from vidonate.donations.incidents import assign_incident
from vidonate.donations.states import transition
from vidonate.errors import UnsupportedMedia
from vidonate.storage.base import put_file

if TYPE_CHECKING:
    from vidonate.runtime import Runtime

log = logging.getLogger(__name__)
PROCESS_JOB = "process_donation"


def _assemble(rt: Runtime, upload: Upload, dest: Path) -> str:
    """Join the upload's parts into one local file; returns its sha256."""
    digest = hashlib.sha256()
    with dest.open("wb") as out:
        for part in upload.parts:
            for chunk in rt.store.read(part.key):
                digest.update(chunk)
                out.write(chunk)
    return digest.hexdigest()


def _limits(rt: Runtime):  # type: ignore[no-untyped-def]
    from vidonate.ingest.media import MediaLimits

    s = rt.settings
    return MediaLimits(
        min_duration_s=s.min_duration_s,
        max_duration_s=s.max_duration_s,
        max_width=s.max_width,
        max_height=s.max_height,
    )


def process_donation(rt: Runtime, donation_id: int) -> None:
    from vidonate.ingest import media
    from vidonate.ingest.tus import discard_upload_bytes

    with transaction(rt.sessions) as session:
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

    video_key = f"clips/{donation_id}/video.mp4"
    thumb_key = f"clips/{donation_id}/thumbnail.jpg"
    workdir = Path(tempfile.mkdtemp(prefix=f"vidonate-{donation_id}-"))
    failure: tuple[str, str] | None = None
    try:
        with transaction(rt.sessions) as session:
            upload = session.query(Upload).filter_by(donation_id=donation_id).one()
            source = workdir / "source"
            sha256 = _assemble(rt, upload, source)
        probed = media.probe(source, _limits(rt))
        encoded = media.transcode(source, workdir / "video.mp4")
        media.thumbnail(workdir / "video.mp4", workdir / "thumbnail.jpg")
        put_file(rt.store, video_key, workdir / "video.mp4")
        put_file(rt.store, thumb_key, workdir / "thumbnail.jpg")
    except UnsupportedMedia as exc:
        failure = (exc.code, exc.message)
    except Exception as exc:  # the worker must go on; the reason is stored, the trace logged
        log.exception("processing donation %s failed", donation_id)
        failure = ("processing_error", f"{type(exc).__name__}: {exc}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    with transaction(rt.sessions) as session:
        donation = session.get(Donation, donation_id)
        assert donation is not None
        upload = session.query(Upload).filter_by(donation_id=donation_id).one_or_none()
        if upload is not None:
            discard_upload_bytes(rt, session, upload)  # the original is never kept
        if failure is not None:
            rt.store.delete(video_key)
            rt.store.delete(thumb_key)
            donation.failure_detail = failure[1]
            transition(session, donation, DonationStatus.failed, reason=failure[0])
            return
        donation.source_sha256 = sha256
        donation.video_key = video_key
        donation.thumbnail_key = thumb_key
        donation.width, donation.height = encoded.width, encoded.height
        donation.duration_s = probed.duration_s
        assign_incident(session, donation)
        transition(session, donation, DonationStatus.in_review)
