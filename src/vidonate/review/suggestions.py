"""AI-assisted review: the served model's events, offered to reviewers as suggestions.

When processing puts a clip in review it enqueues ``SUGGEST_JOB``. The job runs the
served model (``detect.serving``) on the clip's redacted video exactly as the detect
endpoint does (``detect.pipeline.detect_sandboxed``: the model from the verified cache,
detection in a sandboxed child under the upload limits) and stores each event it finds as an
``IntervalSuggestion``, replacing the clip's earlier suggestions. Reviewers see them
marked as suggestions and confirm, move or delete them (review/intervals.py); a
suggestion is never a vote and never a verified interval.

Suggesting is a help, never a gate: with no model trained the job does nothing, and any
failure is logged and swallowed, so the clip is reviewed as it would be without it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from vidonate.crypto.vault import ContentShredded
from vidonate.db.engine import transaction
from vidonate.db.models import Donation, DonationStatus
from vidonate.db.models_detect import IntervalSuggestion, SuggestionRun
from vidonate.donations.content import open_content
from vidonate.errors import NotFound
from vidonate.jobs.base import JobQueue

if TYPE_CHECKING:  # processing enqueues this module's job: no import cycle at run time
    from vidonate.ingest.process import Processing

log = logging.getLogger(__name__)
SUGGEST_JOB = "suggest_intervals"


def enqueue_suggestions(session: Session, jobs: JobQueue, donation_id: int) -> bool:
    """Suggest intervals for a clip once ``session`` commits (it is in review by then),
    if a model is served; whether a job was enqueued."""
    from vidonate.detect.serving import served_model_or_none

    if served_model_or_none(session) is None:
        return False
    jobs.enqueue(session, SUGGEST_JOB, {"donation_id": donation_id})
    return True


def suggest_intervals(ctx: Processing, donation_id: int) -> int | None:
    """Run the served model on a clip in review and store its events as suggestions;
    the number stored, or None where nothing ran (no model, not in review, a failure)."""
    try:
        return _suggest(ctx, donation_id)
    except Exception:  # a suggestion is a help: its failure must not stop review
        log.exception("suggesting intervals for donation %s failed", donation_id)
        return None


def _suggest(ctx: Processing, donation_id: int) -> int | None:
    from vidonate.detect.pipeline import Pipeline, detect_sandboxed
    from vidonate.detect.serving import served_model_or_none

    with ctx.scratch.job_dir(f"suggest-{donation_id}") as workdir:
        video = workdir / "video.mp4"
        with transaction(ctx.sessions) as session:
            donation = session.get(Donation, donation_id)
            model = served_model_or_none(session)
            if donation is None or donation.status != DonationStatus.in_review or model is None:
                return None
            model_id = model.id
            if _suggested_by(session, donation_id, model_id):
                return None  # a job run again, or a re-suggestion with the same model
            try:
                content = open_content(
                    ctx.vault, session, donation, "video", actor_id=None, purpose="processing"
                )
            except (ContentShredded, NotFound):
                return None
        # Decrypted with no transaction open (on SQLite it would hold the write lock).
        _write(content.read(), video)
        pipeline = Pipeline(ctx.sessions, ctx.vault, ctx.store, ctx.scratch)
        found_id, events = detect_sandboxed(pipeline, model_id, video, ctx.settings)
    with transaction(ctx.sessions) as session:
        return store_suggestions(session, donation_id, found_id, events)


def _suggested_by(session: Session, donation_id: int, model_id: int) -> bool:
    """Whether ``model_id`` has been run on the clip (whatever it found, nothing included)."""
    run = select(SuggestionRun.id).where(
        SuggestionRun.donation_id == donation_id, SuggestionRun.model_id == model_id
    )
    return session.scalar(run.limit(1)) is not None


def _write(chunks: Iterable[bytes], dest: Path) -> None:
    with dest.open("wb") as out:
        for chunk in chunks:
            out.write(chunk)


def store_suggestions(
    session: Session, donation_id: int, model_id: int, events: list[dict[str, Any]]
) -> int | None:
    """Replace the clip's suggestions with ``events`` (start, end, label, score) of
    ``model_id``, unless the clip left review meanwhile; the number stored."""
    donation = session.scalar(select(Donation).where(Donation.id == donation_id).with_for_update())
    if donation is None or donation.status != DonationStatus.in_review:
        return None
    session.execute(delete(IntervalSuggestion).where(IntervalSuggestion.donation_id == donation_id))
    rows = [
        IntervalSuggestion(
            donation_id=donation_id,
            model_id=model_id,
            start_s=max(0.0, float(e["start"])),
            end_s=float(e["end"]),
            label=str(e["label"]),
            score=float(e["score"]),
        )
        for e in events
        if float(e["end"]) > max(0.0, float(e["start"]))
    ]
    session.add_all(rows)
    # The run is recorded even when it found nothing: a clip the model missed entirely is
    # then a disagreement (review/disagreements.py), not a clip it never saw.
    session.execute(delete(SuggestionRun).where(SuggestionRun.donation_id == donation_id))
    session.add(SuggestionRun(donation_id=donation_id, model_id=model_id, events=len(rows)))
    session.flush()
    return len(rows)


def resuggest(ctx: Processing, donation_ids: Iterable[int] | None = None) -> dict[int, int | None]:
    """Suggest again, now, for the given clips in review (default: all of them), with the
    model served now: {donation id: suggestions stored, or None}."""
    with transaction(ctx.sessions) as session:
        query = select(Donation.id).where(Donation.status == DonationStatus.in_review)
        if donation_ids is not None:
            query = query.where(Donation.id.in_(list(donation_ids)))
        ids = list(session.scalars(query.order_by(Donation.id)))
    return {donation_id: suggest_intervals(ctx, donation_id) for donation_id in ids}
