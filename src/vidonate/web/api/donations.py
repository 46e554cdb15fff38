from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from vidonate.db.engine import read_transaction, transaction
from vidonate.db.models import Donation, User
from vidonate.donations.content import ContentKind, open_content
from vidonate.donations.service import donations_of, history, own_donation
from vidonate.errors import InvalidInput, NotFound, RangeNotSatisfiable
from vidonate.review.service import may_watch
from vidonate.rewards import ledger
from vidonate.web.api.me import WithdrawalPublic, run_withdrawal
from vidonate.web.api.schemas import DonationId, DonationPublic, EventPublic
from vidonate.web.deps import CurrentUser, RuntimeDep
from vidonate.web.headers import decimal

router = APIRouter(prefix="/donations", tags=["donations"])


def public(session: Session, donation: Donation, *, with_history: bool = False) -> DonationPublic:
    out = DonationPublic.model_validate(donation)
    out.paid_cents = ledger.paid_for_donation(session, donation.id)
    if with_history:
        out.history = [EventPublic.model_validate(e) for e in history(session, donation)]
    return out


@router.get("", response_model=list[DonationPublic])
def my_donations(user: CurrentUser, rt: RuntimeDep) -> list[DonationPublic]:
    with read_transaction(rt.sessions) as session:
        return [public(session, d) for d in donations_of(session, user)]


@router.get("/{donation_id}", response_model=DonationPublic)
def my_donation(donation_id: DonationId, user: CurrentUser, rt: RuntimeDep) -> DonationPublic:
    with read_transaction(rt.sessions) as session:
        return public(session, own_donation(session, user, donation_id), with_history=True)


def viewing_purpose(session: Session, user: User, donation_id: int) -> tuple[Donation, str]:
    """The clip and why ``user`` may watch it: its donor ("owner"), a reviewer the queue
    gave it to ("review", see ``review.service.may_watch``) or an admin ("admin").
    Anyone else learns nothing: the answer is that of a missing clip."""
    donation = session.get(Donation, donation_id)
    if donation is not None:
        if donation.donor_id == user.id:
            return donation, "owner"
        if may_watch(session, user, donation):
            return donation, "review"
        if user.has_role("admin"):
            return donation, "admin"
    raise NotFound("unknown_donation", f"there is no donation {donation_id}")


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """One ``bytes=a-b`` / ``bytes=a-`` / ``bytes=-n`` range as (start, end exclusive).

    Other units and multiple ranges are ignored (the whole clip is sent, as HTTP allows);
    a bytes range whose numbers are not ASCII digits is refused.
    """
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first_text, _, last_text = header[6:].strip().partition("-")
    first, last = decimal(first_text), decimal(last_text)
    malformed = (first_text and first is None) or (last_text and last is None)
    if malformed or (first is None and last is None):
        raise InvalidInput(
            "malformed_range",
            f"the Range header {header[:80]!r} is not bytes=first-last in ASCII digits",
        )
    if first is None:  # the last n bytes
        assert last is not None
        start, end = max(0, size - last), size
    else:
        start, end = first, min(size, last + 1) if last is not None else size
    if start >= size or start >= end:
        raise RangeNotSatisfiable("bad_range", f"the range {header!r} lies outside {size} bytes")
    return start, end


def _stream(
    rt: RuntimeDep, request: Request, user: User, donation_id: int, which: ContentKind
) -> StreamingResponse:
    # A short write transaction (the read goes into the access log) that commits before
    # the first byte: the bytes stream outside it, so no writer waits for a slow viewer.
    with transaction(rt.sessions) as session:
        donation, purpose = viewing_purpose(session, user, donation_id)
        content = open_content(
            rt.vault, session, donation, which, actor_id=user.id, purpose=purpose
        )
    size = content.size
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, no-store"}
    wanted = _byte_range(request.headers.get("range"), size)
    if wanted is None:
        headers["Content-Length"] = str(size)
        return StreamingResponse(content.read(), media_type=content.media_type, headers=headers)
    start, end = wanted
    # Browsers seek in a video with ranges; without them a reviewer could not skip ahead.
    headers.update(
        {"Content-Length": str(end - start), "Content-Range": f"bytes {start}-{end - 1}/{size}"}
    )
    return StreamingResponse(
        content.read(start, end),
        status_code=206,
        media_type=content.media_type,
        headers=headers,
    )


@router.get("/{donation_id}/video", response_class=StreamingResponse)
def video(
    donation_id: DonationId, request: Request, user: CurrentUser, rt: RuntimeDep
) -> StreamingResponse:
    """The processed, redacted clip (H.264 MP4, video only); single byte ranges work."""
    return _stream(rt, request, user, donation_id, "video")


@router.get("/{donation_id}/thumbnail", response_class=StreamingResponse)
def thumbnail(
    donation_id: DonationId, request: Request, user: CurrentUser, rt: RuntimeDep
) -> StreamingResponse:
    return _stream(rt, request, user, donation_id, "thumbnail")


@router.post("/{donation_id}/withdraw", response_model=WithdrawalPublic)
def withdraw(donation_id: DonationId, user: CurrentUser, rt: RuntimeDep) -> WithdrawalPublic:
    """Withdraw this clip: its key is destroyed at once, its bytes deleted soon after.
    It leaves review, the leaderboard and future datasets; what it earned stays earned."""
    return run_withdrawal(rt, user, donation_id)
